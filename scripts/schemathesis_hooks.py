"""Schemathesis hooks for scripts/schemathesis.sh (loaded through SCHEMATHESIS_HOOKS).

Remote write and remote read bodies are `application/x-protobuf`, which
schemathesis cannot generate from a JSON schema. This registers a Hypothesis
strategy that builds them the way a hostile client would: WriteRequest and
ReadRequest messages with arbitrary label bytes, timestamps anywhere in int64
(the extremes on purpose), odd matcher types and regexes, wrapped in snappy
or not, truncated, or plain random bytes. The snappy wrapper uses only literal
elements, which every decoder must accept, so no snappy package is needed.
"""

import struct
import time

import schemathesis
from hypothesis import strategies as st

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
NOW_MS = int(time.time() * 1000)


def varint(n):
    n &= 0xFFFFFFFFFFFFFFFF  # negative int64 fields are ten-byte two's complement
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(field, wire):
    return varint(field << 3 | wire)


def delimited(field, payload):
    return key(field, 2) + varint(len(payload)) + payload


def snappy_literal(data):
    """A snappy block holding `data` as literals of at most 64 KiB."""
    out = bytearray(varint(len(data)))
    for i in range(0, len(data), 65536):
        chunk = data[i:i + 65536]
        out += bytes([61 << 2]) + struct.pack("<H", len(chunk) - 1) + chunk
    return bytes(out)


timestamps = st.one_of(
    st.sampled_from([INT64_MIN, INT64_MAX, 0, -1, NOW_MS, NOW_MS - 10 * 365 * 86_400_000, NOW_MS + 86_400_000]),
    st.integers(NOW_MS - 3_600_000, NOW_MS + 60_000),
    st.integers(INT64_MIN, INT64_MAX),
)
names = st.one_of(st.sampled_from([b"__name__", b"job", b"instance", b"", b"0bad", b"\xff\xfe"]),
                  st.binary(max_size=40))
values = st.one_of(st.sampled_from([b"up", b"api", b"", b"x" * 64, b"\xc3\x28"]), st.binary(max_size=200))


@st.composite
def label(draw):
    return delimited(1, delimited(1, draw(names)) + delimited(2, draw(values)))


@st.composite
def plausible_labels(draw):
    """Sorted, valid label sets, so that samples get past validation into storage."""
    pairs = {"__name__": draw(st.sampled_from(["up", "fuzz_total", "a:b"]))}
    pairs.update(draw(st.dictionaries(st.sampled_from(["a", "instance", "job", "z"]), st.text(max_size=30), max_size=3)))
    return b"".join(delimited(1, delimited(1, k.encode()) + delimited(2, v.encode())) for k, v in sorted(pairs.items()))


@st.composite
def sample(draw):
    value = draw(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.just(float("nan"))))
    return delimited(2, key(1, 1) + struct.pack("<d", value) + key(2, 0) + varint(draw(timestamps)))


@st.composite
def write_request(draw):
    series = []
    for _ in range(draw(st.integers(0, 4))):
        labels = draw(st.one_of(plausible_labels(), st.lists(label(), max_size=6).map(b"".join)))
        samples = b"".join(draw(st.lists(sample(), max_size=4)))
        series.append(delimited(1, labels + samples))
    return b"".join(series)


@st.composite
def read_request(draw):
    queries = []
    for _ in range(draw(st.integers(0, 3))):
        q = key(1, 0) + varint(draw(timestamps)) + key(2, 0) + varint(draw(timestamps))
        for _ in range(draw(st.integers(0, 3))):
            kind = draw(st.one_of(st.integers(0, 3), st.integers(0, 2**64 - 1)))
            pattern = draw(st.one_of(st.sampled_from([b".*", b".+", b"(", b"a|b", b"[[:alpha:]]", b"\\"]), values))
            q += delimited(3, key(1, 0) + varint(kind) + delimited(2, draw(names)) + delimited(3, pattern))
        queries.append(delimited(1, q))
    types = b"".join(key(2, 0) + varint(t) for t in draw(st.lists(st.integers(0, 5), max_size=3)))
    return b"".join(queries) + types


@st.composite
def protobuf_body(draw):
    message = draw(st.one_of(write_request(), read_request()))
    form = draw(st.sampled_from(["snappy", "snappy", "truncated", "raw-protobuf", "random", "absurd-length"]))
    if form == "snappy":
        return snappy_literal(message)
    if form == "truncated":
        body = snappy_literal(message)
        return body[:draw(st.integers(0, len(body)))]
    if form == "raw-protobuf":
        return message
    if form == "absurd-length":
        # A field announcing far more bytes than follow (up to 2^64 - 1).
        return snappy_literal(key(1, 2) + varint(draw(st.integers(2**20, 2**64 - 1))) + message[:16])
    return draw(st.binary(max_size=512))


schemathesis.openapi.media_type("application/x-protobuf", protobuf_body())
