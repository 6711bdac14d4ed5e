"""The one-pass record decoder gives exactly what kafka-python's own decoding gives, for every
codec (snappy raw and xerial-framed included), and a batch that cannot be read comes out as one
``UndecodableBatch`` (raw bytes, offsets, reason) with the batches around it decoded as usual."""

from __future__ import annotations

import random

import cramjam
import kafka
import pytest
from kafka.consumer.fetcher import Fetcher
from kafka.errors import CorruptRecordError
from kafka.record import MemoryRecords
from kafka.record.default_records import DefaultRecordBatchBuilder
from kafka.record.util import calc_crc32c
from kafka.structs import TopicPartition

import distillguard.kafka_io  # noqa: F401 - applies the codec patches (gzip, snappy) as the stream does
from distillguard.kafka_records import MIRRORED_KAFKA_PYTHON, UndecodableBatch, decode_batches_in_one_pass, snappy_decode

TP = TopicPartition("api-logs", 2)
CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}     # kafka-python's snappy is xerial-framed
HEADER = 61                                                              # bytes of a v2 batch header


def record_batch(rng: random.Random, base_offset: int, n: int, codec: int, log_append_time: bool = False) -> bytes:
    """A v2 record batch with keys and values of every size class (null, empty, one- and
    multi-byte lengths), sparse headers (some with null values), and timestamp and offset deltas
    past one varint byte."""
    builder = DefaultRecordBatchBuilder(magic=2, compression_type=codec, is_transactional=False, producer_id=-1,
                                        producer_epoch=-1, base_sequence=-1, batch_size=1 << 24)
    ts = 1_790_000_000_000
    for i in range(n):
        offset = i * rng.choice([1, 1, 1, 40, 70])         # gaps, as after compaction
        key = rng.choice([None, b"", b"acct-%d" % rng.randrange(10**6), bytes(rng.randrange(256) for _ in range(200))])
        value = rng.choice([None, b"", b'{"event_id":"%d"}' % i, "é😀".encode() * rng.randrange(1, 400)])
        headers = rng.choice([[], [], [("reason", b"invalid_json")], [("k", None), ("ключ", b"v" * 90)]])
        ts += rng.choice([0, 3, 5_000, 3_600_000])
        builder.append(offset, timestamp=ts, key=key, value=value, headers=headers)
    data = bytearray(builder.build())
    data[:8] = base_offset.to_bytes(8, "big")
    if log_append_time:                                    # attribute bit 3, CRC recomputed over the rest
        from kafka.record.util import calc_crc32c
        data[21:23] = (int.from_bytes(data[21:23], "big") | 0x08).to_bytes(2, "big")
        data[17:21] = calc_crc32c(bytes(data[21:])).to_bytes(4, "big")
    return bytes(data)


def unpacked(data: bytes, *, one_pass: bool, fetch_offset: int = 0, take: int | None = None):
    decode_batches_in_one_pass(one_pass)
    try:
        part = Fetcher.PartitionRecords(fetch_offset, TP, MemoryRecords(data))
        records, errors = [], []
        while part:
            try:
                got = part.take(take)
            except CorruptRecordError as exc:
                errors.append(str(exc))
                break
            if not got:
                break
            records.extend(got)
        return records, errors, (part.next_fetch_offset, part.records_read, part.bytes_read)
    finally:
        decode_batches_in_one_pass(True)


@pytest.mark.parametrize("codec", sorted(CODECS))
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_decoded_records_equal_kafka_python_own(codec, seed):
    rng = random.Random(seed)
    data = b"".join(record_batch(rng, base, rng.randrange(1, 300), CODECS[codec], log_append_time=(base == 1000))
                    for base in (0, 1000, 50_000))
    ours = unpacked(data, one_pass=True, fetch_offset=3, take=57)
    theirs = unpacked(data, one_pass=False, fetch_offset=3, take=57)
    assert ours[0] and not ours[1]
    assert ours == theirs
    assert {r.timestamp_type for r in ours[0]} == {0, 1}


def with_body(batch: bytes, body: bytes, codec: int) -> bytes:
    """``batch`` with its records part replaced by ``body`` under compression ``codec``; length and
    CRC fixed, so only the body can be wrong."""
    data = bytearray(batch[:HEADER] + body)
    data[8:12] = (len(data) - 12).to_bytes(4, "big")
    data[21:23] = ((int.from_bytes(data[21:23], "big") & ~0x07) | codec).to_bytes(2, "big")
    data[17:21] = calc_crc32c(bytes(data[21:])).to_bytes(4, "big")
    return bytes(data)


def test_raw_snappy_as_librdkafka_writes_it_decodes_like_the_uncompressed_batch():
    rng = random.Random(5)
    plain = record_batch(rng, 0, 120, codec=0)
    raw_snappy = with_body(plain, bytes(cramjam.snappy.compress_raw(plain[HEADER:])), codec=2)
    decoded = unpacked(raw_snappy, one_pass=True)
    assert decoded[0] and not decoded[1]
    assert decoded == unpacked(plain, one_pass=True) == unpacked(raw_snappy, one_pass=False)


def test_xerial_snappy_with_many_blocks_decodes_and_a_cut_block_is_refused():
    import kafka.codec

    text = bytes(random.Random(1).randrange(256) for _ in range(100_000)) * 3
    framed = kafka.codec.snappy_encode(text, xerial_compatible=True, xerial_blocksize=32 * 1024)
    assert framed.startswith(b"\x82SNAPPY\x00") and snappy_decode(framed) == text
    with pytest.raises(ValueError):
        snappy_decode(framed[:-10])


def _corrupt_batches(rng: random.Random, base: int) -> dict[str, bytes]:
    """One unreadable batch of each kind, each at ``base`` with 30 records."""
    good = record_batch(rng, base, 30, codec=0)
    bad_crc = bytearray(good)
    bad_crc[HEADER + 40] ^= 0xFF                                       # a flipped byte inside a record
    cut = good[:-5]                                                    # a record runs past the batch's end
    return {
        "crc_mismatch": bytes(bad_crc),
        "corrupt_batch": with_body(good, cut[HEADER:], codec=0),
        "undecodable_batch": with_body(good, b"\x1f\x8b not gzip at all", codec=1),
        "unknown_codec": with_body(good, good[HEADER:], codec=6),
        "bad_snappy": with_body(good, b"\x82SNAPPY\x00" + bytes(8) + (999).to_bytes(4, "big") + b"xx", codec=2),
    }


@pytest.mark.parametrize("kind", ["crc_mismatch", "corrupt_batch", "undecodable_batch", "unknown_codec", "bad_snappy"])
@pytest.mark.parametrize("take", [None, 7])
def test_an_unreadable_batch_is_one_undecodable_record_and_the_partition_goes_on(kind, take):
    rng = random.Random(11)
    before = record_batch(rng, 0, 50, codec=1)
    bad = _corrupt_batches(rng, 1000)[kind]
    after = record_batch(rng, 10_000, 40, codec=3)
    records, errors, (next_offset, read, _) = unpacked(before + bad + after, one_pass=True, take=take)
    last_offset = 1000 + int.from_bytes(bad[23:27], "big")             # the header's last offset delta

    assert not errors
    markers = [r for r in records if isinstance(r, UndecodableBatch)]
    assert len(markers) == 1
    marker = markers[0]
    expected_code = {"unknown_codec": "undecodable_batch", "bad_snappy": "undecodable_batch"}.get(kind, kind)
    assert marker.reason_code == expected_code and marker.reason
    assert (marker.topic, marker.partition, marker.first_offset, marker.offset) == (TP.topic, TP.partition, 1000, last_offset)
    assert marker.value == bad                                          # the raw batch, as fetched
    # the batches around it come out whole and exactly as kafka-python decodes them on their own
    good = [r for r in records if not isinstance(r, UndecodableBatch)]
    assert good == unpacked(before, one_pass=False)[0] + unpacked(after, one_pass=False)[0]
    assert records.index(marker) == len(unpacked(before, one_pass=False)[0])
    assert next_offset == records[-1].offset + 1 and read == len(records)


def test_a_batch_with_a_lying_last_offset_does_not_skip_the_next_batch():
    rng = random.Random(3)
    bad = bytearray(record_batch(rng, 100, 5, codec=0))
    bad[23:27] = (10**6).to_bytes(4, "big")                              # last offset delta: far past the batch (CRC fails too)
    after = record_batch(rng, 105, 5, codec=0)
    records, errors, _ = unpacked(bytes(bad) + after, one_pass=True)
    assert not errors
    assert isinstance(records[0], UndecodableBatch) and records[0].offset == 104
    assert [r.offset for r in records[1:]] == [r.offset for r in unpacked(after, one_pass=False)[0]]


def test_a_slice_too_short_to_be_a_batch_is_set_aside():
    rng = random.Random(4)
    stub = (500).to_bytes(8, "big") + (10).to_bytes(4, "big") + bytes(10)   # length 10: shorter than any batch
    after = record_batch(rng, 501, 5, codec=0)
    records, errors, _ = unpacked(stub + after, one_pass=True)
    assert not errors
    assert isinstance(records[0], UndecodableBatch) and records[0].reason_code == "corrupt_batch"
    assert (records[0].first_offset, records[0].offset, records[0].value) == (500, 500, stub)
    assert records[1:] == unpacked(after, one_pass=False)[0]


def test_only_the_mirrored_kafka_python_release_is_patched():
    assert decode_batches_in_one_pass() is (kafka.__version__ == MIRRORED_KAFKA_PYTHON)
