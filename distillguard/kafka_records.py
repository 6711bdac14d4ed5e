"""Kafka record batches (message format v2) decoded in one tight loop per batch.

kafka-python decodes every record through a chain of Python calls (a generator step, a
``DefaultRecord`` with its properties, a varint function call per field, two deserializer
calls, a header-size sum): about 15 us a record, on the consumer's poll thread, which shares
the GIL with the micro-batch's own Python work. :func:`decode_v2_records` reads a whole batch
in one loop (one-byte varints decoded on the spot, values sliced once from an immutable copy)
into the same ``ConsumerRecord`` tuples; :func:`decode_batches_in_one_pass` puts it in place of the per-record
loop of kafka-python's ``PartitionRecords._unpack_records`` for data batches of format v2 read
without deserializers (everything else goes the library's own way). The batch walk around it
(CRC check, transactions, control batches, the next fetch offset) is the library's, unchanged.

:func:`decode_gzip_in_one_call` inflates a gzip-compressed batch in one C call.

A record that does not decode raises ``CorruptRecordError`` after the records before it in the
batch were handed out, as kafka-python does.

>>> from kafka.record.default_records import DefaultRecordBatchBuilder, DefaultRecordBatch
>>> builder = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=False,
...                                     producer_id=-1, producer_epoch=-1, base_sequence=-1, batch_size=1 << 20)
>>> _ = builder.append(0, timestamp=1_700_000_000_000, key=b"acct-1", value=b'{"a":1}', headers=[])
>>> _ = builder.append(1, timestamp=1_700_000_000_250, key=None, value=b'{"a":2}', headers=[("h", b"x")])
>>> batch = DefaultRecordBatch(bytes(builder.build()))
>>> records, sizes, error = decode_v2_records(batch, "api-logs", 3, leader_epoch=0)
>>> [(r.offset, r.timestamp - 1_700_000_000_000, r.key, r.value, r.headers, r.serialized_header_size) for r in records]
[(0, 0, b'acct-1', b'{"a":1}', [], -1), (1, 250, None, b'{"a":2}', [('h', b'x')], 2)]
>>> error is None
True
"""

from __future__ import annotations

import gzip
import logging

import kafka
import kafka.errors as Errors
from kafka.consumer import fetcher
from kafka.consumer.fetcher import ConsumerRecord, IsolationLevel
from kafka.record.util import decode_varint

log = logging.getLogger("distillguard.kafka")

#: The kafka-python release whose ``PartitionRecords._unpack_records`` the replacement mirrors.
MIRRORED_KAFKA_PYTHON = "3.0.12"
_LIBRARY_UNPACK = fetcher.Fetcher.PartitionRecords._unpack_records


def decode_v2_records(batch, topic: str, partition: int, leader_epoch: int):
    """Every record of a v2 data batch as ``ConsumerRecord`` tuples, with each record's size in
    bytes; returns ``(records, sizes, error)``, where ``error`` is the ``CorruptRecordError`` met
    after ``records`` (or None)."""
    batch._maybe_uncompress()
    data = bytes(batch._buffer)
    pos = batch._pos
    header = batch._header_data
    base_offset, first_ts, max_ts = header[0], header[7], header[8]
    ts_type = batch.timestamp_type
    log_append = ts_type == batch.LOG_APPEND_TIME
    records: list = []
    sizes: list[int] = []
    try:
        for _ in range(batch._num_records):
            # Record => Length Attributes TimestampDelta OffsetDelta Key Value Headers (zigzag varints)
            length, pos = _varint(data, pos)
            start = pos
            _, pos = _varint(data, pos)                      # attributes: unused
            ts_delta, pos = _varint(data, pos)
            offset_delta, pos = _varint(data, pos)
            key_len, pos = _varint(data, pos)
            if key_len >= 0:
                key, pos = data[pos:pos + key_len], pos + key_len
            else:
                key = None
            value_len, pos = _varint(data, pos)
            if value_len >= 0:
                value, pos = data[pos:pos + value_len], pos + value_len
            else:
                value = None
            if data[pos]:
                headers, pos, header_size = _read_headers(data, pos)
            else:
                headers, pos, header_size = [], pos + 1, -1
            if pos - start != length:
                raise Errors.CorruptRecordError(
                    f"Invalid record size: expected to read {length} bytes in record payload, but instead read {pos - start}")
            records.append(ConsumerRecord(
                topic, partition, leader_epoch, base_offset + offset_delta, max_ts if log_append else first_ts + ts_delta,
                ts_type, key, value, headers, None, key_len if key is not None else -1,
                value_len if value is not None else -1, header_size))
            sizes.append(length)
        if pos != len(data):
            raise Errors.CorruptRecordError(f"{len(data) - pos} unconsumed bytes after all records consumed")
    except Errors.CorruptRecordError as exc:
        return records, sizes, exc
    except (ValueError, IndexError) as exc:
        return records, sizes, Errors.CorruptRecordError(f"Found invalid record structure: {exc!r}")
    return records, sizes, None


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """The zigzag varint at ``pos`` and the position after it (one-byte values without a further call)."""
    b = data[pos]
    if b & 0x80:
        return decode_varint(data, pos)
    return (b >> 1) ^ -(b & 1), pos + 1


def _read_headers(data: bytes, pos: int):
    """``(headers, next position, serialized header size)`` of the headers whose count is at ``pos``."""
    count, pos = decode_varint(data, pos)
    if count < 0:
        raise Errors.CorruptRecordError(f"Found invalid number of record headers {count}")
    headers = []
    size = 0
    for _ in range(count):
        key_len, pos = decode_varint(data, pos)
        if key_len < 0:
            raise Errors.CorruptRecordError(f"Invalid negative header key size {key_len}")
        h_key = data[pos:pos + key_len].decode("utf-8")
        pos += key_len
        value_len, pos = decode_varint(data, pos)
        if value_len >= 0:
            h_value = data[pos:pos + value_len]
            pos += value_len
        else:
            h_value = None
        headers.append((h_key, h_value))
        size += len(h_key.encode("utf-8")) + (len(h_value) if h_value is not None else 0)
    return headers, pos, size


def _unpack_records(self, tp, records, key_deserializer, value_deserializer):
    """kafka-python 3.0.12's ``PartitionRecords._unpack_records`` with :func:`decode_v2_records`
    as the per-record loop of v2 data batches read without deserializers."""
    try:
        batch = records.next_batch()
        last_batch = None
        while batch is not None:
            last_batch = batch

            if self.check_crcs and not batch.validate_crc():
                raise Errors.CorruptRecordError(
                    "Record batch for partition %s at offset %s failed crc check" % (
                        self.topic_partition, batch.base_offset))

            if batch.magic == 2:
                self.leader_epoch = batch.leader_epoch
                if self.isolation_level == IsolationLevel.READ_COMMITTED and batch.has_producer_id():
                    self._consume_aborted_transactions_up_to(batch.last_offset)
                    producer_id = batch.producer_id
                    if self._contains_abort_marker(batch):
                        try:
                            self.aborted_producer_ids.remove(producer_id)
                        except KeyError:
                            pass
                    elif self._is_batch_aborted(batch):
                        self.next_fetch_offset = batch.next_offset
                        batch = records.next_batch()
                        continue

                if batch.is_control_batch:
                    self.next_fetch_offset = batch.next_offset
                    batch = records.next_batch()
                    continue

                if key_deserializer is None and value_deserializer is None:
                    decoded, sizes, error = decode_v2_records(batch, tp.topic, tp.partition, self.leader_epoch)
                    for record, size in zip(decoded, sizes):
                        self.records_read += 1
                        self.bytes_read += size
                        self.next_fetch_offset = record.offset + 1
                        yield record
                    if error is not None:
                        raise error
                    batch = records.next_batch()
                    continue

            for record in batch:
                if self.check_crcs and not record.validate_crc():
                    raise Errors.CorruptRecordError(
                        "Record for partition %s at offset %s failed crc check" % (self.topic_partition, record.offset))
                key_size = len(record.key) if record.key is not None else -1
                value_size = len(record.value) if record.value is not None else -1
                key = self._deserialize(key_deserializer, tp.topic, record.headers, record.key)
                value = self._deserialize(value_deserializer, tp.topic, record.headers, record.value)
                headers = record.headers
                header_size = sum(
                    len(h_key.encode("utf-8")) + (len(h_val) if h_val is not None else 0) for h_key, h_val in
                    headers) if headers else -1
                self.records_read += 1
                self.bytes_read += record.size_in_bytes
                self.next_fetch_offset = record.offset + 1
                yield ConsumerRecord(
                    tp.topic, tp.partition, self.leader_epoch, record.offset, record.timestamp,
                    record.timestamp_type, key, value, record.headers, record.checksum,
                    key_size, value_size, header_size)

            batch = records.next_batch()
        else:
            if last_batch and last_batch.magic == 2:
                self.next_fetch_offset = last_batch.next_offset
            self.drain()

    except StopIteration:
        log.exception('StopIteration raised unpacking messageset')
        raise RuntimeError('StopIteration raised unpacking messageset')


def decode_batches_in_one_pass(enable: bool = True) -> bool:
    """Put :func:`_unpack_records` in place of kafka-python's (``enable=False``: put the library's
    back). Only over the release it mirrors; returns whether it is in place.

    >>> decode_batches_in_one_pass() == (kafka.__version__ == MIRRORED_KAFKA_PYTHON)
    True
    """
    target = fetcher.Fetcher.PartitionRecords
    if enable and kafka.__version__ != MIRRORED_KAFKA_PYTHON:
        log.info("kafka-python %s is not %s: its own record decoding is used", kafka.__version__, MIRRORED_KAFKA_PYTHON)
        enable = False
    target._unpack_records = _unpack_records if enable else _LIBRARY_UNPACK
    return target._unpack_records is _unpack_records


def decode_gzip_in_one_call() -> bool:
    """Make kafka-python inflate gzip record batches with :func:`gzip.decompress` (one C call per
    batch, every gzip member) instead of reading a ``GzipFile`` in a Python loop: the same bytes,
    and a quarter less time decoding a gzip-compressed topic on the consumer's poll thread, which
    the micro-batch's Python work shares a GIL with. Applied once, only over kafka-python's own
    function; returns whether it is in place.

    >>> import gzip, kafka.record.default_records as records
    >>> decode_gzip_in_one_call() and records.gzip_decode(gzip.compress(b"a") + gzip.compress(b"b"))
    b'ab'
    """
    import kafka.codec
    from kafka.record import default_records, legacy_records

    for module in (default_records, legacy_records):
        if getattr(module, "gzip_decode", None) is kafka.codec.gzip_decode:
            module.gzip_decode = gzip.decompress
    return default_records.gzip_decode is gzip.decompress
