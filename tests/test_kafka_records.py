"""The one-pass record decoder gives exactly what kafka-python's own decoding gives."""

from __future__ import annotations

import random

import kafka
import pytest
from kafka.consumer.fetcher import Fetcher
from kafka.errors import CorruptRecordError
from kafka.record import MemoryRecords
from kafka.record.default_records import DefaultRecordBatchBuilder
from kafka.structs import TopicPartition

from distillguard.kafka_records import MIRRORED_KAFKA_PYTHON, decode_batches_in_one_pass

TP = TopicPartition("api-logs", 2)
CODECS = {"none": 0, "gzip": 1, "lz4": 3}


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


def test_a_truncated_record_hands_out_the_records_before_it_then_raises():
    rng = random.Random(7)
    good = record_batch(rng, 0, 40, codec=0)
    # a record's length says more than the batch holds: cut the batch's last bytes, fix its
    # length and CRC so only the record structure is wrong
    from kafka.record.util import calc_crc32c
    cut = bytearray(good[:-5])
    cut[8:12] = (len(cut) - 12).to_bytes(4, "big")
    cut[17:21] = calc_crc32c(bytes(cut[21:])).to_bytes(4, "big")
    ours = unpacked(bytes(cut), one_pass=True)
    theirs = unpacked(bytes(cut), one_pass=False)
    assert len(ours[0]) == len(theirs[0]) == 39
    assert ours[0] == theirs[0]
    assert ours[1] and theirs[1]


def test_only_the_mirrored_kafka_python_release_is_patched():
    assert decode_batches_in_one_pass() is (kafka.__version__ == MIRRORED_KAFKA_PYTHON)
