"""No record can stop the reader (issue 16): hostile lines among valid ones, through the stream's
parser (:func:`parse_records`) and a whole load into DuckDB (:func:`load_logs`).

Each example mixes valid events (every optional field, prompts of any text and brackets,
escaped or raw non-ASCII, a byte-order mark or white space around some) with hostile lines:
deep nesting, numbers no parser holds, invalid UTF-8, lone surrogate escapes, timestamps out
of range or unparseable, wrong types, byte-order marks where they do not belong, random bytes,
cut and non-object records. No exception may escape; every valid event is returned and stored
exactly once (a repeated line counts as a duplicate), every hostile line is rejected once,
at its position, with a reason.

The 2,000 examples of the stream property each go through :func:`parse_records` (~20 ms an
example), then all of them through one :func:`load_logs` of two files; a load per example costs
~50 ms of DuckDB statements, so the property that loads one example at a time (and shrinks a
failure to its lines) runs fewer. The last tests turn each of the issue's reproductions into one.
"""

from __future__ import annotations

import gzip
import itertools
import json
import time
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from distillguard.events import MAX_DEPTH, MAX_JSON_INT, MIN_JSON_INT, parse_records
from distillguard.load import load_logs
from distillguard.store import Store

NOW = datetime.now(timezone.utc)
EXAMPLES = 2000
LOAD_EXAMPLES = 60

# --- valid events -------------------------------------------------------------------------------

prompt_text = st.one_of(
    st.text(max_size=60),
    st.text(alphabet="{}[]\":,\\ ", max_size=200),                    # brackets and quotes, in a string
    st.sampled_from(["12", "true", "{looks like json}", "[1, 2]", "\u2028\ufeff\x00", "\U0001F600 naive cafe"]),
)
valid_times = st.builds(
    lambda moment, hours: (moment.replace(tzinfo=timezone.utc)
                           .astimezone(timezone(timedelta(hours=hours)))
                           .isoformat().replace("+00:00", "Z")),
    st.datetimes(min_value=datetime(2000, 1, 2), max_value=(NOW - timedelta(days=2)).replace(tzinfo=None)),
    st.integers(-12, 14),
)
FIELD_VALUES = {
    "end_user_id": st.one_of(st.none(), st.text(max_size=20)),
    "asn": st.one_of(st.none(), st.integers(0, 2**63 - 1)),
    "country": st.one_of(st.none(), st.sampled_from(["DE", "US", "FR"])),
    "user_agent": st.one_of(st.none(), st.text(max_size=30)),
    "latency_ms": st.one_of(st.none(), st.floats(0, 1e6), st.integers(0, 10**6)),
    "finish_reason": st.one_of(st.none(), st.sampled_from(["stop", "length"])),
    "temperature": st.one_of(st.none(), st.floats(0, 2)),
    "top_p": st.one_of(st.none(), st.floats(0, 1)),
    "max_tokens": st.one_of(st.none(), st.integers(0, 10**6)),
    "n": st.one_of(st.none(), st.integers(1, 8)),
    "stream": st.one_of(st.none(), st.booleans()),
    "logprobs": st.one_of(st.none(), st.booleans()),
    "top_logprobs": st.one_of(st.none(), st.integers(0, 20)),
    "tools": st.one_of(st.none(), st.integers(0, 5)),
    "turn": st.one_of(st.none(), st.integers(1, 50)),
    "prompt": st.one_of(st.none(), prompt_text),
    "surprise": st.one_of(st.integers(-(2**63), 2**64 - 1),
                          st.lists(st.lists(st.integers(MIN_JSON_INT, MAX_JSON_INT), max_size=3), max_size=3),
                          st.dictionaries(st.text(max_size=5), st.floats(allow_nan=False, allow_infinity=False), max_size=3)),
}


FIELD_NAMES = st.lists(st.sampled_from(sorted(FIELD_VALUES)), max_size=6, unique=True)


@st.composite
def optional_fields(draw) -> dict:
    """A few of the optional fields (and an unknown one), each with a valid value."""
    names = draw(FIELD_NAMES)
    return {name: draw(FIELD_VALUES[name]) for name in names}


def event(event_id: str, ts: str, extra: dict) -> dict:
    return {"event_id": event_id, "ts": ts, "account_id": "acct-a", "api_key_id": "key-a", "client_ip": "203.0.113.7",
            "endpoint": "/v1/messages", "model": "model-large", "status": 200, "prompt_tokens": 12,
            "completion_tokens": 40, **extra}


OPTIONAL_FIELDS = optional_fields()
#: Where a valid line's event id goes (strategies are built once, for speed; ids come after).
VALID_ID = "ZQXVALIDID"


@st.composite
def valid_line(draw) -> bytes:
    record = event(VALID_ID, draw(valid_times), draw(OPTIONAL_FIELDS))
    spaced = draw(st.booleans())
    text = json.dumps(record, ensure_ascii=draw(st.booleans()), separators=(", ", ": ") if spaced else (",", ":"))
    line = text.encode("utf-8")
    around = draw(st.sampled_from([b"", b"", b"", b" ", b"\t"]))
    return draw(st.sampled_from([b"", b"", b"\xef\xbb\xbf"])) + around + line + around


# --- hostile lines ------------------------------------------------------------------------------

def deep(depth: int, opener: str) -> str:
    closer = {"[": "]", '{"a":': "}"}[opener]
    return opener * depth + "1" + closer * depth


HUGE_NUMBERS = ["1e400", "-1e400", "1e309", "2e308", "9" * 40, "-" + "9" * 40, "1" + "0" * 400, "9" * 5000,
                "0.0e99999999999", "1e-99999999999999999999"]
BAD_BYTES = [b"\xff", b"\xfe", b"\xc3\x28", b"\xe2\x82", b"\xf0\x9f\x98", b"\xc0\xaf", b"\xed\xa0\x80", b"\x80"]
LONE_SURROGATES = ["\\ud800", "\\udfff", "\\ud83d x", "\\udc00\\ud800", "\\ud800\\u0041", "x\\udbff"]
ODD_TIMES = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:00:00-14:00", "0000-01-01T00:00:00Z", "1999-12-31T23:59:59Z",
             "1970-01-01T00:00:00Z", "2999-01-01T00:00:00Z", (NOW + timedelta(days=2)).isoformat(),
             "+10000-01-01T00:00:00Z", "-0001-01-01T00:00:00Z", "yesterday", "2026-13-45T99:00:00Z", "", "2026-11-02",
             "2026-11-02T13:04:05", "2026-02-30T00:00:00Z", "2026-11-02T25:00:00Z"]
HOSTILE_KINDS = st.sampled_from(["deep", "number", "bytes", "surrogate", "time", "type", "bom", "random", "structure"])
WRONG_TYPES = {
    "event_id": [7, 1.5, True, ["x"], {"a": 1}, "", "e" * 129], "account_id": [0, None, [], {}],
    "ts": [1700000000, None, ["2026-11-02T13:04:05Z"]], "model": [7, False, {"m": 1}], "prompt": [{"a": [1]}, 12, True],
    "status": ["200", 200.5, True, [200], None, 99, 600], "prompt_tokens": [1.5, "12", -1, 2**63, False],
    "completion_tokens": [None, "40", 4e1], "asn": ["64500", -5, 2**64 - 1, 1.0], "latency_ms": ["812", True, -1.0],
    "temperature": ["0.7", [0.7]], "top_p": [1.5, "1"], "n": [0, "1", 1.0], "stream": [1, "true", 2.5, 0],
    "logprobs": ["yes", 0, 1.0], "turn": [0, "1"], "country": ["usa", "de", 12], "user_agent": ["A" * 1025, 5],
}


WRONG_TYPE_KEYS = st.sampled_from(sorted(WRONG_TYPES))


@st.composite
def hostile_line(draw) -> bytes:
    base = event("ZQXTOKEN-bad", "2026-11-02T13:04:05Z", {})
    kind = draw(HOSTILE_KINDS)
    if kind == "deep":
        nested = deep(draw(st.integers(MAX_DEPTH, 3000)), draw(st.sampled_from(["[", '{"a":'])))
        key = draw(st.sampled_from(["extra", "prompt", "status"]))
        return json.dumps({**base, key: 0}).replace(f'"{key}": 0', f'"{key}": {nested}').encode()
    if kind == "number":
        key = draw(st.sampled_from(["extra", "latency_ms", "asn", "status", "temperature"]))
        literal = draw(st.sampled_from(HUGE_NUMBERS))
        value = draw(st.sampled_from([literal, f"[1, {literal}]", f'{{"x": {literal}}}']))
        return json.dumps({**base, key: 0}).replace(f'"{key}": 0', f'"{key}": {value}').encode()
    if kind == "bytes":
        key = draw(st.sampled_from(["extra", "prompt", "account_id", "model"]))
        text = json.dumps({**base, key: "AB"}).encode()
        where = draw(st.sampled_from(["in", "out"]))
        bad = draw(st.sampled_from(BAD_BYTES))
        return text.replace(b'"AB"', b'"A' + bad + b'B"') if where == "in" else text.replace(b', "' + key.encode(), bad + b', "' + key.encode())
    if kind == "surrogate":
        key = draw(st.sampled_from(["extra", "prompt", "account_id", "event_id"]))
        return json.dumps({**base, key: "AB"}).replace('"AB"', '"A' + draw(st.sampled_from(LONE_SURROGATES)) + 'B"').encode()
    if kind == "time":
        return json.dumps({**base, "ts": draw(st.sampled_from(ODD_TIMES))}).encode()
    if kind == "type":
        key = draw(WRONG_TYPE_KEYS)
        return json.dumps({**base, key: draw(st.sampled_from(WRONG_TYPES[key]))}).encode()
    if kind == "bom":
        text = json.dumps(base).encode()
        return draw(st.sampled_from([text.replace(b"{", b"{\xef\xbb\xbf", 1), b"\xef\xbb\xbf\xef\xbb\xbf" + text,
                                     b"\xef\xbb\xbf", text.replace(b', "ts"', b', \xef\xbb\xbf"ts"')]))
    if kind == "random":
        raw = draw(st.binary(min_size=1, max_size=300)).replace(b"\n", b" ")
        return raw if raw.strip() and not raw.strip() == b"\xef\xbb\xbf" else b"x" + raw
    text = json.dumps(base).encode()
    return draw(st.sampled_from([
        text[: draw(st.integers(1, len(text) - 1))], b"[1, 2]", b"42", b'"event"', b"null", b"true", text + b" " + text,
        text[:-1] + b', }', text.replace(b"200", b"NaN"), text.replace(b"200", b"0200"), text.replace(b": ", b": \x01", 1),
    ]))


#: Event ids are drawn with this in place of the example's prefix (drawing must not depend on
#: anything outside the example), then given the prefix, so each example's ids are its own.
TOKEN = "ZQXTOKEN"


def with_prefix(drawn: tuple[list[bytes], set[str], set[int], int], prefix: str):
    lines, valid, hostile, repeats = drawn
    return ([line.replace(TOKEN.encode(), prefix.encode()) for line in lines],
            {e.replace(TOKEN, prefix) for e in valid}, hostile, repeats)


VALID_LINE, HOSTILE_LINE = valid_line(), hostile_line()


@st.composite
def batches(draw) -> tuple[list[bytes], set[str], set[int], int]:
    """Lines, the valid event ids among them, the indexes of the hostile ones, and the repeats."""
    lines: list[bytes] = []
    valid: set[str] = set()
    hostile: set[int] = set()
    repeats = 0
    for k in range(draw(st.integers(1, 12))):
        roll = draw(st.integers(0, 9))
        if roll < 4:
            event_id = f"{TOKEN}-ok-{k}"
            lines.append(draw(VALID_LINE).replace(VALID_ID.encode(), event_id.encode()))
            valid.add(event_id)
        elif roll == 4 and valid:
            good = [i for i in range(len(lines)) if i not in hostile]
            lines.append(lines[draw(st.sampled_from(good))])             # the same line again: counted once
            repeats += 1
        else:
            hostile.add(len(lines))
            lines.append(draw(HOSTILE_LINE))
    return lines, valid, hostile, repeats


# --- the properties -----------------------------------------------------------------------------

_counter = itertools.count()
#: Every example of the stream property, for the load that reads them all: (file, lines, valid
#: event ids, hostile indexes, repeats).
_examples: list[tuple[str, list[bytes], set[str], set[int], int]] = []
_timing = {"seconds": 0.0}


def check_parsed(batch, lines: list[bytes], valid: set[str], hostile: set[int], repeats: int) -> None:
    assert sorted(batch.events["event_id"].to_list()) == sorted(valid), lines
    assert batch.duplicates == repeats, lines
    assert sorted(batch.rejected["position"].to_list()) == sorted(hostile), lines
    assert all(code and len(reason) >= 8 for code, reason in batch.rejected.select("reason_code", "reason").iter_rows())


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_no_line_escapes_the_stream_parser_and_every_valid_record_around_it_is_kept(data):
    """Each example through :func:`parse_records`, as a poll's records; then into one of two log
    files that the next test loads (so that each of the 2,000 examples is loaded too, in one
    load: a load per example costs ~50 ms of DuckDB statements)."""
    started = time.perf_counter()
    prefix = f"x{next(_counter)}"
    lines, valid, hostile, repeats = with_prefix(data.draw(batches()), prefix)
    check_parsed(parse_records(lines, source="kafka:t/0", positions=range(len(lines))), lines, valid, hostile, repeats)
    _examples.append((data.draw(st.sampled_from(["lf.jsonl", "crlf.jsonl.gz"])), lines, valid, hostile, repeats))
    _timing["seconds"] += time.perf_counter() - started


def test_every_example_of_the_stream_property_survives_a_load(tmp_path):
    """The examples above in two files (plain with LF, gzip with CRLF), in one :func:`load_logs`:
    each example's valid events stored, its hostile lines rejected at their line numbers."""
    if not _examples:
        pytest.skip("the stream property did not run in this session")
    started = time.perf_counter()
    texts: dict[str, list[bytes]] = {"lf.jsonl": [], "crlf.jsonl.gz": []}
    where = []                                         # each example: its file and first line number
    for name, lines, *_ in _examples:
        where.append((name, len(texts[name]) + 1))
        texts[name].extend(lines)
    for name, lines in texts.items():
        end = b"\r\n" if "crlf" in name else b"\n"
        text = b"".join(line + end for line in lines)
        (tmp_path / "logs").mkdir(exist_ok=True)
        (tmp_path / "logs" / name).write_bytes(gzip.compress(text, 1) if name.endswith(".gz") else text)
    with Store.open(tmp_path / "dg.duckdb") as store:
        report = load_logs([tmp_path / "logs"], store, show_progress=False)
        stored = {e for (e,) in store.con.execute("SELECT event_id FROM events").fetchall()}
        rejected = store.con.execute("SELECT source, position, reason_code, reason FROM rejected_events").fetchall()
    by_line = {(source.rsplit("/", 1)[-1], position): (code, reason) for source, position, code, reason in rejected}
    assert len(by_line) == len(rejected)
    assert stored == set().union(*(valid for _, _, valid, _, _ in _examples))
    expected_rejects = set()
    for (name, first), (_, lines, valid, hostile, _repeats) in zip(where, _examples):
        assert valid <= stored, lines
        for i in hostile:
            code, reason = by_line[(name, first + i)]
            assert code and len(reason) >= 8, (lines[i], code, reason)
            expected_rejects.add((name, first + i))
    assert set(by_line) == expected_rejects
    assert report.inserted == sum(len(valid) for _, _, valid, _, _ in _examples)
    assert report.rejected == len(expected_rejects)
    assert report.duplicates == sum(repeats for *_, repeats in _examples)
    _timing["seconds"] += time.perf_counter() - started


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    with Store.open(tmp_path_factory.mktemp("hostile") / "dg.duckdb") as opened:
        yield opened


@settings(max_examples=LOAD_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_line_stops_a_load_and_every_valid_record_around_it_is_stored_once(store, tmp_path_factory, data):
    """The same lines, an example per load (a failure shrinks to its lines): plain or gzip,
    LF or CRLF line ends."""
    started = time.perf_counter()
    prefix = f"y{next(_counter)}"
    lines, valid, hostile, repeats = with_prefix(data.draw(batches()), prefix)
    crlf, compressed = data.draw(st.booleans()), data.draw(st.booleans())
    text = b"".join(line + (b"\r\n" if crlf else b"\n") for line in lines)
    path = tmp_path_factory.getbasetemp() / f"{prefix}.jsonl{'.gz' if compressed else ''}"
    path.write_bytes(gzip.compress(text, 1) if compressed else text)
    report = load_logs([path], store, show_progress=False)
    source = str(path.resolve())
    stored = store.con.execute("SELECT event_id FROM events WHERE source = ?", [source]).fetchall()
    rejected = store.con.execute("SELECT position, reason_code, reason FROM rejected_events WHERE source = ?",
                                 [source]).fetchall()
    assert sorted(e for (e,) in stored) == sorted(valid), lines
    assert sorted(p for p, _, _ in rejected) == sorted(i + 1 for i in hostile), lines       # line numbers
    assert all(code and len(reason) >= 8 for _, code, reason in rejected)
    assert (report.inserted, report.rejected, report.duplicates) == (len(valid), len(hostile), repeats)
    _timing["seconds"] += time.perf_counter() - started


def test_the_hostile_properties_ran_their_examples():
    """Runs after the properties (file order): how many examples ran, and how long they took."""
    if not _examples:
        pytest.skip("the properties did not run in this session")
    assert len(_examples) >= EXAMPLES
    print(f"\nhostile input: {len(_examples)} examples through parse_records and one load, "
          f"{LOAD_EXAMPLES} loads of an example each, {_timing['seconds']:.1f} s")


# --- issue 16's reproductions, one by one ---------------------------------------------------------

REPRODUCTIONS = {
    # (the line, the reason code it is rejected with)
    "nesting 1,000 deep (a 2 KB line)": (json.dumps(event("r-deep", "2026-11-02T13:04:05Z", {})).replace(
        "}", ', "x": ' + "[" * 1000 + "]" * 1000 + "}").encode(), "too_deep"),
    "1e400 in an unknown field": (json.dumps(event("r-1e400", "2026-11-02T13:04:05Z", {})).replace(
        "}", ', "x": 1e400}').encode(), "number_out_of_range"),
    "a 400-digit integer in an unknown field": (json.dumps(event("r-int", "2026-11-02T13:04:05Z", {"x": 10**399})).encode(),
                                                "number_out_of_range"),
    "invalid UTF-8 in an unknown field": (json.dumps(event("r-utf8", "2026-11-02T13:04:05Z", {"x": "AB"})).encode().replace(
        b"AB", b"A\xff\xfeB"), "invalid_utf8"),
    "a lone surrogate": (json.dumps(event("r-surrogate", "2026-11-02T13:04:05Z", {"x": "AB"})).replace(
        "AB", "A\\ud800"), "invalid_unicode"),
    "year 1 at +14:00": (json.dumps(event("r-year1", "0001-01-01T00:00:00+14:00", {})).encode(), "timestamp_out_of_range"),
    "year 9999 at -14:00": (json.dumps(event("r-year9999", "9999-12-31T23:00:00-14:00", {})).encode(), "timestamp_out_of_range"),
    "year 0": (json.dumps(event("r-year0", "0000-01-01T00:00:00Z", {})).encode(), "timestamp_out_of_range"),
}


def _reproduction_lines() -> tuple[list[bytes], list[str]]:
    lines, codes = [json.dumps(event("good-0", "2026-11-02T13:04:05Z", {})).encode()], []
    for k, (line, code) in enumerate(REPRODUCTIONS.values(), start=1):
        lines += [line if isinstance(line, bytes) else line.encode(), json.dumps(event(f"good-{k}", "2026-11-02T13:04:05Z", {})).encode()]
        codes.append(code)
    return lines, codes


def test_each_reproduction_is_rejected_with_its_reason_by_the_stream_parser():
    lines, codes = _reproduction_lines()
    batch = parse_records(lines, source="kafka:t/0")
    assert batch.events["event_id"].to_list() == [f"good-{k}" for k in range(len(codes) + 1)]
    assert batch.rejected["reason_code"].to_list() == codes
    assert batch.rejected["position"].to_list() == list(range(1, 2 * len(codes), 2))
    surrogate = batch.rejected.filter(batch.rejected["reason_code"] == "invalid_unicode")["reason"].item()
    assert "lone UTF-16 surrogate escape \\ud800" in surrogate and "truncated" not in surrogate


def test_each_reproduction_is_rejected_by_a_load_that_stores_every_good_line_and_runs_batch_after_it(tmp_path):
    from distillguard.pipeline import run_batch

    lines, codes = _reproduction_lines()
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "day.jsonl.gz").write_bytes(gzip.compress(b"\xef\xbb\xbf" + b"\n".join(lines) + b"\n"))
    with Store.open(tmp_path / "dg.duckdb") as store:
        report = load_logs([tmp_path / "logs"], store, show_progress=False)
        stored = sorted(e for (e,) in store.con.execute("SELECT event_id FROM events").fetchall())
        rejected = store.con.execute("SELECT position, reason_code FROM rejected_events ORDER BY position").fetchall()
    assert stored == sorted(f"good-{k}" for k in range(len(codes) + 1))      # the first, after the BOM, too
    assert rejected == [(2 * k, code) for k, code in enumerate(codes, start=1)]
    assert (report.inserted, report.rejected) == (len(codes) + 1, len(codes))
    run_batch([tmp_path / "logs"], tmp_path / "dg.duckdb", show_progress=False)      # a later batch still runs


def test_a_truncated_gzip_file_is_read_to_its_last_whole_line_and_the_cut_is_one_reject(tmp_path):
    import zlib

    lines = [json.dumps(event(f"e{i}", "2026-11-02T13:04:05Z", {"prompt": "x" * (i % 300)})).encode() for i in range(6000)]
    whole = gzip.compress(b"\n".join(lines) + b"\n", 6)
    (tmp_path / "logs").mkdir()
    cut = tmp_path / "logs" / "cut.jsonl.gz"
    cut.write_bytes(whole[: len(whole) * 2 // 3])
    readable = zlib.decompressobj(31).decompress(cut.read_bytes())         # what zcat prints before its error
    whole_lines = readable.count(b"\n")
    with Store.open(tmp_path / "dg.duckdb") as store:
        report = load_logs([cut], store, show_progress=False)
        stored = {e for (e,) in store.con.execute("SELECT event_id FROM events").fetchall()}
        rejected = store.con.execute("SELECT position, raw, reason_code, reason FROM rejected_events").fetchall()
    assert stored == {f"e{i}" for i in range(whole_lines)}                 # every whole line, nothing after
    [(position, raw, code, reason)] = rejected
    assert (position, code) == (whole_lines + 1, "unreadable_file")
    assert "truncated" in reason and raw == readable[readable.rfind(b"\n") + 1:].decode()
    assert report.records == whole_lines + 1
