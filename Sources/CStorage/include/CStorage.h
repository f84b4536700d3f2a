/* Umbrella header of Muninn's C core. */
#ifndef CSTORAGE_H
#define CSTORAGE_H

#include "cs_error.h"
#include "cs_endian.h"
#include "cs_varint.h"
#include "cs_bstream.h"
#include "cs_crc32c.h"
#include "cs_lz4.h"
#include "cs_zlib.h"
#include "cs_xor.h"
#include "cs_xor_bits.h"
#include "cs_wal_frame.h"
#include "cs_wal_record.h"
#include "cs_head_chunk.h"
#include "cs_hash.h"
#include "cs_snappy.h"
#include "cs_prompb.h"

#endif
