/* Error codes shared by every CStorage function.
 * Functions return a non-negative value (a count, a length or CS_OK) on success
 * and exactly one of these negative codes on failure. */
#ifndef CS_ERROR_H
#define CS_ERROR_H

#define CS_OK            0
#define CS_E_SHORT      -1  /* input ends before the structure it describes */
#define CS_E_CORRUPT    -2  /* input is malformed (bad field value, bad layout) */
#define CS_E_NOSPACE    -3  /* caller's output buffer is too small; nothing was written */
#define CS_E_ORDER      -4  /* timestamp not strictly after the previous one */
#define CS_E_FULL       -5  /* container holds its maximum number of items */
#define CS_E_CRC        -6  /* checksum mismatch */
#define CS_E_COMPRESS   -7  /* compressor or decompressor reported failure */
#define CS_E_ARG        -8  /* invalid argument (programming error by the caller) */
#define CS_E_TORN       -9  /* record fragments end before the record is complete */
#define CS_E_OVERFLOW  -10  /* a varint or length does not fit its type */
#define CS_E_DUPLICATE -20  /* same timestamp as the last sample, different value */

/* A static, human-readable description of an error code. */
const char *cs_strerror(int code);

#endif
