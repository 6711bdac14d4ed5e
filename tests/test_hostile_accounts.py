"""No record can stop the accounts reader either (issue 16): hostile lines among valid account
records in a JSONL(.gz) accounts file, wrong column types in a Parquet one, bad bytes and a BOM
in a CSV one. No exception escapes; each valid account is stored (the last record of an account
wins), each hostile record is rejected once, at its line, with a reason.
"""

from __future__ import annotations

import gzip
import itertools
import json
from datetime import datetime, timedelta, timezone

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from distillguard.load import load_accounts, read_accounts
from distillguard.logfiles import LogInputError
from distillguard.store import Store
from tests.test_hostile_input import BAD_BYTES, HUGE_NUMBERS, LONE_SURROGATES, ODD_TIMES, deep

EXAMPLES = 400
NOW = datetime.now(timezone.utc)
TEXT_FIELDS = ["tier", "email_domain", "payment_fingerprint", "signup_ip", "country"]

# --- valid account records ------------------------------------------------------------------------

created_times = st.one_of(
    st.none(),
    st.datetimes(min_value=datetime(2000, 1, 2), max_value=(NOW - timedelta(days=2)).replace(tzinfo=None)).map(
        lambda moment: moment.replace(microsecond=0).isoformat() + "Z"),
)
ACCOUNT_VALUES = {
    **{name: st.one_of(st.none(), st.text(max_size=20)) for name in TEXT_FIELDS},
    "unknown": st.one_of(st.integers(-(2**63), 2**64 - 1), st.lists(st.integers(), max_size=3), st.booleans(),
                         st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2)),
}
ACCOUNT_KEYS = st.lists(st.sampled_from(sorted(ACCOUNT_VALUES)), max_size=4, unique=True)


@st.composite
def valid_account(draw, account_id: str) -> tuple[bytes, dict]:
    """A valid record's line and the account it stores."""
    record = {"account_id": account_id, "created_at": draw(created_times)}
    record.update({key: draw(ACCOUNT_VALUES[key]) for key in draw(ACCOUNT_KEYS)})
    line = json.dumps(record, ensure_ascii=draw(st.booleans())).encode()
    line = draw(st.sampled_from([b"", b"", b"\xef\xbb\xbf"])) + line + draw(st.sampled_from([b"", b" ", b"\r"]))
    return line, {name: record.get(name) for name in ["account_id", "created_at", *TEXT_FIELDS]}


# --- hostile account records ------------------------------------------------------------------------

WRONG_TYPES = {"account_id": [7, None, [], {"a": 1}, "", "x" * 129], "created_at": [1700000000, ["2026-01-01"], True],
               "tier": [1, False, ["free"]], "email_domain": [{"d": "x"}, 2.5], "country": [44]}
#: created_at values rejected: the events reader's odd times, less a bare date and a time without a
#: zone, which account files have always been allowed (read as UTC).
BAD_CREATED = [t for t in ODD_TIMES if t not in ("2026-11-02", "2026-11-02T13:04:05")]
#: Numbers no parser here holds; a huge exponent of a zero is only Polars' problem (accounts are not
#: read by Polars' JSON reader, and 0.0e99999999999 is 0).
ACCOUNT_HUGE_NUMBERS = [n for n in HUGE_NUMBERS if float(n) != 0]


@st.composite
def hostile_account(draw) -> bytes:
    base = {"account_id": "bad", "created_at": "2026-01-02T03:04:05Z", "tier": "free"}
    kind = draw(st.sampled_from(["deep", "number", "bytes", "surrogate", "type", "created", "bom", "random", "structure"]))
    if kind == "deep":
        nested = deep(draw(st.integers(65, 3000)), draw(st.sampled_from(["[", '{"a":'])))
        return json.dumps({**base, "extra": 0}).replace('"extra": 0', f'"extra": {nested}').encode()
    if kind == "number":
        return json.dumps({**base, "extra": 0}).replace('"extra": 0', f'"extra": {draw(st.sampled_from(ACCOUNT_HUGE_NUMBERS))}').encode()
    if kind == "bytes":
        key = draw(st.sampled_from(["account_id", "tier", "extra"]))
        return json.dumps({**base, key: "AB"}).encode().replace(b'"AB"', b'"A' + draw(st.sampled_from(BAD_BYTES)) + b'B"')
    if kind == "surrogate":
        key = draw(st.sampled_from(["account_id", "tier", "extra"]))
        return json.dumps({**base, key: "AB"}).replace('"AB"', '"A' + draw(st.sampled_from(LONE_SURROGATES)) + 'B"').encode()
    if kind == "type":
        key = draw(st.sampled_from(sorted(WRONG_TYPES)))
        return json.dumps({**base, key: draw(st.sampled_from(WRONG_TYPES[key]))}).encode()
    if kind == "created":
        return json.dumps({**base, "created_at": draw(st.sampled_from(BAD_CREATED))}).encode()
    if kind == "bom":
        text = json.dumps(base).encode()
        return draw(st.sampled_from([text.replace(b"{", b"{\xef\xbb\xbf", 1), b"\xef\xbb\xbf\xef\xbb\xbf" + text, b"\xef\xbb\xbf"]))
    if kind == "random":
        raw = draw(st.binary(min_size=1, max_size=200)).replace(b"\n", b" ")
        return raw if raw.strip() and raw.strip() != b"\xef\xbb\xbf" else b"x" + raw
    text = json.dumps(base).encode()
    return draw(st.sampled_from([text[: draw(st.integers(1, len(text) - 1))], b"[1, 2]", b"42", b"null", b'"acct"',
                                 text + b" " + text, text[:-1] + b", }"]))


@st.composite
def accounts_file(draw) -> tuple[list[bytes], dict[str, dict], set[int]]:
    """Lines, the account each id ends with (the last valid record of it), hostile line numbers."""
    lines: list[bytes] = []
    accounts: dict[str, dict] = {}
    hostile: set[int] = set()
    for _ in range(draw(st.integers(1, 10))):
        if draw(st.integers(0, 9)) < 4:
            line, account = draw(valid_account(draw(st.sampled_from(["a1", "a2", "a3", "a4", "a5"]))))
            accounts[account["account_id"]] = account
            lines.append(line)
        else:
            lines.append(draw(hostile_account()))
            hostile.add(len(lines))                                  # 1-based line number
    return lines, accounts, hostile


def stored_as_text(accounts: pl.DataFrame) -> dict[str, dict]:
    rows = accounts.with_columns(pl.col("created_at").dt.strftime("%Y-%m-%dT%H:%M:%SZ")).to_dicts()
    return {row["account_id"]: row for row in rows}


_counter = itertools.count()


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_no_line_stops_the_accounts_reader_and_every_valid_account_around_it_is_kept(tmp_path_factory, data):
    lines, accounts, hostile = data.draw(accounts_file())
    compressed = data.draw(st.booleans())
    text = b"\n".join(lines) + b"\n"
    path = tmp_path_factory.getbasetemp() / f"accounts-{next(_counter)}.jsonl{'.gz' if compressed else ''}"
    path.write_bytes(gzip.compress(text, 1) if compressed else text)
    stored, rejected = read_accounts(path)
    assert stored_as_text(stored) == accounts, lines
    assert sorted(rejected["position"].to_list()) == sorted(hostile), lines
    assert all(code and len(reason) >= 8 for code, reason in rejected.select("reason_code", "reason").iter_rows())


def test_an_accounts_load_stores_the_good_records_and_the_dead_letters(tmp_path):
    lines = [json.dumps({"account_id": "a1", "created_at": "2026-01-02T03:04:05Z", "tier": "free"}).encode(),
             json.dumps({"account_id": "a2", "x": 0}).replace('"x": 0', '"x": ' + "[" * 1000 + "]" * 1000).encode(),
             json.dumps({"account_id": "a3", "created_at": "0001-01-01T00:00:00+14:00"}).encode(),
             json.dumps({"account_id": "a4", "tier": 3}).encode(),
             b"\xef\xbb\xbf" + json.dumps({"account_id": "a5", "email_domain": "example.org"}).encode()]
    path = tmp_path / "accounts.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    with Store.open(tmp_path / "dg.duckdb") as store:
        assert load_accounts(path, store) == (2, 3)
        assert store.frame("SELECT account_id FROM accounts ORDER BY 1")["account_id"].to_list() == ["a1", "a5"]
        reasons = store.frame("SELECT position, reason_code FROM rejected_events ORDER BY position").rows()
    assert reasons == [(2, "too_deep"), (3, "timestamp_out_of_range"), (4, "wrong_type")]


def test_parquet_account_columns_of_another_type_reject_their_rows_and_convert_nothing(tmp_path):
    path = tmp_path / "accounts.parquet"
    pl.DataFrame({
        "account_id": ["p1", "p2", "p3", "p4"],
        "created_at": [datetime(2026, 1, 2, tzinfo=timezone.utc), None, datetime(1990, 1, 1, tzinfo=timezone.utc), None],
        "tier": ["free", "paid", None, "free"],
        "country": [None, None, None, b"DE"],                          # binary: not text
        "signup_ip": [None, [1, 2], None, None],                     # a list: not text
        "unknown": [[1], None, None, None],                          # ignored
    }, strict=False).write_parquet(path)
    stored, rejected = read_accounts(path)
    assert stored_as_text(stored)["p1"]["created_at"] == "2026-01-02T00:00:00Z"
    assert set(stored["account_id"]) == {"p1"}
    assert rejected.select("position", "reason_code").rows() == [
        (2, "wrong_type"), (3, "timestamp_out_of_range"), (4, "wrong_type")]
    assert "`signup_ip` has type List(Int64)" in rejected["reason"][0] and "Binary" in rejected["reason"][2]


def test_csv_accounts_with_a_bom_and_a_line_that_is_not_utf8(tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_bytes(b"\xef\xbb\xbfaccount_id,created_at,tier\n"
                     b"c1,2026-01-01T00:00:00Z,free\nc2\xff,2026-01-01T00:00:00Z,paid\nc3,,\n,2026-01-01T00:00:00Z,x\n")
    stored, rejected = read_accounts(path)
    assert stored["account_id"].to_list() == ["c1", "c3"]
    assert rejected.select("position", "reason_code").rows() == [(3, "invalid_utf8"), (5, "missing_field")]


def test_unreadable_and_missing_account_files(tmp_path):
    for name, content in (("accounts.parquet", b"not parquet"), ("accounts.csv", b'account_id,tier\n"a1,free\nx,"y"z,\n')):
        (tmp_path / name).write_bytes(content)
        stored, rejected = read_accounts(tmp_path / name)
        if rejected.height == 1 and rejected["reason_code"][0] == "unreadable_file":
            assert stored.height == 0 and rejected["reason"][0].startswith("not a readable")
        else:                                        # read some way: each record stored or rejected, none lost
            assert stored.height + rejected.height >= 1
    with pytest.raises(LogInputError, match="does not exist"):
        read_accounts(tmp_path / "missing.jsonl")
