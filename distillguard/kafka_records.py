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

:func:`decode_gzip_in_one_call` inflates a gzip-compressed batch in one C call;
:func:`decode_snappy_with_cramjam` inflates snappy batches, raw (librdkafka) or xerial-framed
(Java's ``SnappyOutputStream``, kafka-python), through cramjam.

A record batch that cannot be read (it fails its CRC-32C check, its codec is unknown or its
compressed bytes do not inflate, a record in it is malformed, or the batch is too short to be
one) does not stop its partition, as kafka-python's ``CorruptRecordError`` would (the consumer
fetches the same batch again, and again): it comes out as one :class:`UndecodableBatch` record
in place of its records, whose value is the batch's raw bytes and whose offset is the batch's
last, so committing past it skips the batch. None of its records is handed out, so a batch is
either consumed whole or dead-lettered whole.

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
import struct

import cramjam
import kafka
import kafka.errors as Errors
from kafka.consumer import fetcher
from kafka.consumer.fetcher import ConsumerRecord, IsolationLevel
from kafka.record.util import decode_varint

log = logging.getLogger("distillguard.kafka")

#: The kafka-python release whose ``PartitionRecords._unpack_records`` the replacement mirrors.
MIRRORED_KAFKA_PYTHON = "3.0.12"
_LIBRARY_UNPACK = fetcher.Fetcher.PartitionRecords._unpack_records


class UndecodableBatch(ConsumerRecord):
    """A record batch that could not be read, handed out in place of its records.

    ``value`` is the batch's raw bytes (as fetched, compressed), ``offset`` its last offset (the
    fetch position moves past it), ``headers`` say why: ``reason_code`` (``crc_mismatch``,
    ``undecodable_batch``, ``corrupt_batch``), ``reason`` and ``first_offset``.
    """

    __slots__ = ()

    def _header(self, name: str) -> str:
        return next((v.decode() for k, v in self.headers if k == name), "")

    @property
    def reason_code(self) -> str:
        return self._header("reason_code")

    @property
    def reason(self) -> str:
        return self._header("reason")

    @property
    def first_offset(self) -> int:
        return int(self._header("first_offset"))


def _undecodable(raw, tp, leader_epoch: int, next_base: int | None, code: str, reason: str) -> UndecodableBatch:
    """The :class:`UndecodableBatch` for the batch bytes ``raw``; ``next_base``: the base offset of
    the batch after it in the fetch, if any. The header's offsets are read without trusting them:
    a last offset delta outside the batch's room (before the next batch) is cut back to it."""
    raw = bytes(raw)
    base = int.from_bytes(raw[:8], "big", signed=True)
    last = base
    timestamp = -1
    if len(raw) >= 61 and raw[16] == 2:                  # a v2 header: last offset delta at 23, max timestamp at 35
        delta, = struct.unpack_from(">i", raw, 23)
        last = base + max(delta, 0)
        timestamp, = struct.unpack_from(">q", raw, 35)
    if next_base is not None and next_base > base:
        last = min(last, next_base - 1)
    headers = [("reason_code", code.encode()), ("reason", reason.encode()[:1000]), ("first_offset", str(base).encode())]
    log.warning("skipping an unreadable record batch of %s at offsets %d-%d (%s): %s", tp, base, last, code, reason)
    return UndecodableBatch(tp.topic, tp.partition, leader_epoch, last, timestamp, 0, None, raw, headers, None,
                            -1, len(raw), -1)


def _next_base(records) -> int | None:
    """Base offset of the next batch ``records`` holds (kafka-python's ``MemoryRecords``), if any."""
    upcoming = getattr(records, "_next_slice", None)
    return int.from_bytes(upcoming[:8], "big", signed=True) if upcoming is not None and len(upcoming) >= 8 else None


def _read_batch(self, batch, tp, key_deserializer, value_deserializer):
    """``(records, sizes, skip)`` of one batch: its records as ``ConsumerRecord`` tuples; ``skip``
    True for a batch that yields none (aborted, control). Raises whatever makes it unreadable."""
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
                return [], [], True
        if batch.is_control_batch:
            return [], [], True
        if key_deserializer is None and value_deserializer is None:
            decoded, sizes, error = decode_v2_records(batch, tp.topic, tp.partition, self.leader_epoch)
            if error is not None:
                raise error
            return decoded, sizes, False

    decoded, sizes = [], []
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
        decoded.append(ConsumerRecord(
            tp.topic, tp.partition, self.leader_epoch, record.offset, record.timestamp,
            record.timestamp_type, key, value, record.headers, record.checksum,
            key_size, value_size, header_size))
        sizes.append(record.size_in_bytes)
    return decoded, sizes, False


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
    as the per-record loop of v2 data batches read without deserializers, and an
    :class:`UndecodableBatch` in place of each batch that cannot be read (where the library raises
    ``CorruptRecordError`` or a codec error, and the partition is fetched from the same offset
    for ever)."""
    try:
        last_batch = None
        while True:
            upcoming = getattr(records, "_next_slice", None)
            try:
                batch = records.next_batch()
            except Exception as exc:  # noqa: BLE001 - a slice that is no batch at all (too short, bad header)
                if upcoming is None:
                    raise
                if getattr(records, "_next_slice", None) is upcoming:
                    records._cache_next()                   # next_batch raised before moving past it
                marker = _undecodable(upcoming, tp, self.leader_epoch, _next_base(records), "corrupt_batch",
                                      f"not a record batch: {exc!r}")
                last_batch = None
                yield from _hand_out_marker(self, marker)
                continue
            if batch is None:
                break
            try:
                if self.check_crcs and not batch.validate_crc():
                    raise _CrcMismatch(
                        "Record batch for partition %s at offset %s failed crc check" % (self.topic_partition, batch.base_offset))
                decoded, sizes, skip = _read_batch(self, batch, tp, key_deserializer, value_deserializer)
            except Exception as exc:  # noqa: BLE001 - CRC, codec, record structure: the batch is set aside, the partition goes on
                code = "crc_mismatch" if isinstance(exc, _CrcMismatch) else (
                    "corrupt_batch" if isinstance(exc, Errors.CorruptRecordError) else "undecodable_batch")
                raw = upcoming if upcoming is not None else batch._buffer        # the batch as fetched, compressed
                marker = _undecodable(raw, tp, self.leader_epoch, _next_base(records), code, f"{type(exc).__name__}: {exc}")
                last_batch = None
                yield from _hand_out_marker(self, marker)
                continue
            last_batch = batch
            if skip:
                self.next_fetch_offset = batch.next_offset
                continue
            for record, size in zip(decoded, sizes):
                self.records_read += 1
                self.bytes_read += size
                self.next_fetch_offset = record.offset + 1
                yield record
        if last_batch is not None and last_batch.magic == 2:
            self.next_fetch_offset = last_batch.next_offset
        self.drain()

    except StopIteration as exc:
        log.exception('StopIteration raised unpacking messageset')
        raise RuntimeError('StopIteration raised unpacking messageset') from exc


class _CrcMismatch(Errors.CorruptRecordError):
    """A batch whose CRC-32C does not match its bytes."""


def _hand_out_marker(self, marker: UndecodableBatch):
    self.records_read += 1
    self.bytes_read += len(marker.value)
    self.next_fetch_offset = marker.offset + 1
    yield marker


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


_XERIAL_MAGIC = b"\x82SNAPPY\x00"


def snappy_decode(payload) -> bytes:
    """Inflate a snappy-compressed record batch body: raw snappy (librdkafka) or the xerial
    framing (Java's ``SnappyOutputStream`` and kafka-python write it: a 16-byte header, then blocks
    of a big-endian int32 length and raw snappy). Raises ``ValueError`` on a block that runs past
    the end, cramjam's ``DecompressionError`` on bytes that are not snappy.

    >>> import kafka.codec
    >>> text = b"distillguard " * 10_000
    >>> framed = kafka.codec.snappy_encode(text, xerial_compatible=True, xerial_blocksize=32 * 1024)
    >>> framed[:8] == _XERIAL_MAGIC and snappy_decode(framed) == text == snappy_decode(bytes(cramjam.snappy.compress_raw(text)))
    True
    """
    data = memoryview(payload).cast("B") if not isinstance(payload, bytes) else payload
    if len(data) > 16 and bytes(data[:8]) == _XERIAL_MAGIC:
        blocks, pos, end = [], 16, len(data)
        while pos < end:
            if pos + 4 > end:
                raise ValueError(f"xerial snappy: {end - pos} stray bytes where a block length belongs")
            size = int.from_bytes(data[pos:pos + 4], "big", signed=True)
            pos += 4
            if size < 0 or pos + size > end:
                raise ValueError(f"xerial snappy: a block of {size} bytes at {pos} runs past the end ({end})")
            blocks.append(cramjam.snappy.decompress_raw(data[pos:pos + size]))
            pos += size
        return b"".join(bytes(block) for block in blocks) if len(blocks) != 1 else bytes(blocks[0])
    return bytes(cramjam.snappy.decompress_raw(data))


def decode_snappy_with_cramjam() -> bool:
    """Make kafka-python inflate snappy record batches with :func:`snappy_decode` (cramjam, raw or
    xerial-framed, every block bounds-checked; also where python-snappy is missing, which
    kafka-python otherwise needs). Returns whether it is in place.

    >>> import kafka.record.default_records as records
    >>> decode_snappy_with_cramjam() and records.snappy_decode(bytes(cramjam.snappy.compress_raw(b"abc")))
    b'abc'
    """
    import kafka.codec
    from kafka.record import default_records, legacy_records

    for module in (default_records, legacy_records):
        if getattr(module, "snappy_decode", None) in (kafka.codec.snappy_decode, snappy_decode):
            module.snappy_decode = snappy_decode
    if not kafka.codec.has_snappy():
        # python-snappy missing: kafka-python's check before it inflates a snappy batch would fail
        # (producing snappy still needs python-snappy, a dependency of this project)
        kafka.codec.has_snappy = lambda: True
    return default_records.snappy_decode is snappy_decode
