"""Analysts' verdicts, and how they feed back into detection.

A verdict is a row of ``reviews`` (append-only: the audit trail) about an account or a ring:
``confirmed``, ``false_positive`` or ``needs_info``. A ring verdict covers the accounts that
were its members when it was reviewed. For every account the latest verdict in force (its own
or one of its rings', view ``account_verdicts``) acts on the next detection run:

* **false_positive**: the account stays out of ``flagged_accounts`` and is no ring candidate
  (so it is in no ring and lends no purity to the values it shares), *unless its behaviour
  changed materially* since the verdict: its score is at least ``SCORE_JUMP`` (1.5x) the
  score at review time, or its requests per active hour at least ``RATE_JUMP`` (2x) the rate
  at review time. Then it is flagged again with a line saying what changed. The rate, not the
  raw request count, is compared because a batch run over all stored history sees the count
  grow with time alone.
* **confirmed**: the account stays flagged even when this run's evidence fell below the bar;
  its reasons then start with who confirmed it and when, followed by the reasons at review time.
* **needs_info**: no effect on flagging; the reasons carry the request.

The evidence at review time (score, signature score, requests, rate, ring, reasons) is stored
per covered account in ``review_evidence``: by :func:`record_review` (``distillguard review``)
with the verdict, or, for a verdict inserted with plain SQL, by the first detection run after
it, from the results the analyst was looking at.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import polars as pl

from distillguard.models.policy import PolicySettings
from distillguard.store import Store

SCORE_JUMP = PolicySettings().reopen_score_factor   # the verdict rule's home is the detection policy
RATE_JUMP = PolicySettings().reopen_rate_factor
SUBJECT_TYPES = ("account", "ring")
VERDICTS = ("confirmed", "false_positive", "needs_info")
#: Every reason line written because of a verdict starts with this.
NOTE_PREFIX = "analyst verdict: "

EVIDENCE_SCHEMA = pl.Schema({
    "account_id": pl.String, "score": pl.Float64, "signature_score": pl.Float64, "n_requests": pl.Int64,
    "requests_per_active_hour": pl.Float64, "ring_id": pl.String, "reasons": pl.String,
})


class ReviewError(ValueError):
    """A verdict that cannot be recorded (unknown subject, verdict or subject type)."""


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def has_reviews(store: Store) -> bool:
    return store.has_table("reviews") and bool(store.scalar("SELECT count(*) FROM reviews"))


def stored_evidence(store: Store) -> pl.DataFrame:
    """Per account, the figures of the results currently stored (the last detection run)."""
    if store.has_table("account_features"):
        sql = (
            "SELECT account_id, coalesce(f.score, a.score) AS score, "
            "coalesce(a.signature_score, TRY_CAST(f.evidence->>'signature_score' AS DOUBLE)) AS signature_score, "
            "CAST(coalesce(f.n_requests, a.n_requests) AS BIGINT) AS n_requests, "
            "CAST(a.requests_per_active_hour AS DOUBLE) AS requests_per_active_hour, f.ring_id, f.reasons "
            "FROM flagged_accounts f FULL OUTER JOIN account_features a USING (account_id)"
        )
    else:
        sql = (
            "SELECT account_id, score, TRY_CAST(evidence->>'signature_score' AS DOUBLE) AS signature_score, n_requests, "
            "NULL::DOUBLE AS requests_per_active_hour, ring_id, reasons FROM flagged_accounts"
        )
    return store.frame(sql).cast(EVIDENCE_SCHEMA)


def _frame_evidence(frame: pl.DataFrame | None) -> pl.DataFrame:
    """The same figures from a frame of scored accounts (this run's)."""
    if frame is None or frame.height == 0:
        return pl.DataFrame(schema=EVIDENCE_SCHEMA)
    columns = []
    for name, dtype in EVIDENCE_SCHEMA.items():
        columns.append(pl.col(name).cast(dtype) if name in frame.columns else pl.lit(None, dtype=dtype).alias(name))
    return frame.select(columns)


def capture_evidence(store: Store, current: pl.DataFrame | None = None, *, review_ids: list[int] | None = None,
                     captured_by: str = "detection") -> int:
    """Store the evidence at review time for verdicts that have none yet; returns rows written.

    Baselines come from the stored results (what the analyst was looking at), else from
    ``current`` (this run's scored accounts); an account verdict's own ``*_at_review`` figures
    take precedence. A ring verdict covers the ring's stored members. A verdict whose accounts
    have no figures anywhere yet is left for a later run.
    """
    if not store.has_table("reviews"):
        return 0
    pending = store.frame(
        "SELECT review_id, subject_type, subject_id, score_at_review, signature_at_review, n_requests_at_review, "
        "rate_at_review, ring_id_at_review, reasons_at_review FROM reviews r "
        "WHERE NOT EXISTS (SELECT 1 FROM review_evidence e WHERE e.review_id = r.review_id)"
    )
    if review_ids is not None:
        pending = pending.filter(pl.col("review_id").is_in(review_ids))
    if pending.height == 0:
        return 0
    members = store.frame("SELECT ring_id, account_id FROM ring_members")
    known = pl.concat([stored_evidence(store), _frame_evidence(current)]).unique("account_id", keep="first")
    by_account = {r["account_id"]: r for r in known.iter_rows(named=True)}
    rows: list[dict[str, Any]] = []
    for review in pending.iter_rows(named=True):
        if review["subject_type"] == "account":
            base = dict(by_account.get(review["subject_id"]) or {"account_id": review["subject_id"]})
            for column, own in (("score", "score_at_review"), ("signature_score", "signature_at_review"),
                                ("n_requests", "n_requests_at_review"), ("requests_per_active_hour", "rate_at_review"),
                                ("ring_id", "ring_id_at_review"), ("reasons", "reasons_at_review")):
                if review[own] is not None:
                    base[column] = review[own]
            covered = [base] if base.get("score") is not None else []
        else:
            ids = members.filter(pl.col("ring_id") == review["subject_id"])["account_id"].to_list()
            covered = [dict(by_account[a]) for a in ids if a in by_account]
            for row in covered:
                row["ring_id"] = review["subject_id"]
        rows.extend({**{k: row.get(k) for k in EVIDENCE_SCHEMA}, "review_id": review["review_id"]} for row in covered)
    if not rows:
        return 0
    frame = pl.DataFrame(rows, schema={**EVIDENCE_SCHEMA, "review_id": pl.Int64}).with_columns(
        pl.lit(_now()).alias("captured_at"), pl.lit(captured_by).alias("captured_by"))
    with store.registered("incoming_evidence", frame):
        store.con.execute("INSERT OR IGNORE INTO review_evidence BY NAME SELECT * FROM incoming_evidence")
    return frame.height


def decisions(store: Store, frame: pl.DataFrame) -> pl.DataFrame:
    """For the accounts of ``frame`` (scored this run) that have a verdict in force: the verdict,
    its baseline and ``status``: dismissed | reopened | confirmed | needs_info."""
    empty = pl.DataFrame(schema={"account_id": pl.String, "status": pl.String})
    if frame.height == 0 or not has_reviews(store):
        return empty
    capture_evidence(store, frame)
    verdicts = store.frame("SELECT * FROM account_verdicts")
    now = _frame_evidence(frame).select("account_id", "score", "requests_per_active_hour")
    joined = verdicts.join(now, on="account_id", how="inner")
    score_jump = (pl.col("baseline_score") > 0) & (pl.col("score") >= SCORE_JUMP * pl.col("baseline_score"))
    rate_jump = (pl.col("baseline_rate") > 0) & (pl.col("requests_per_active_hour") >= RATE_JUMP * pl.col("baseline_rate"))
    changed = (score_jump.fill_null(False) | rate_jump.fill_null(False))
    return joined.with_columns(
        score_jump.fill_null(False).alias("score_jump"), rate_jump.fill_null(False).alias("rate_jump"),
        pl.when(pl.col("verdict") == "false_positive").then(pl.when(changed).then(pl.lit("reopened")).otherwise(pl.lit("dismissed")))
        .otherwise(pl.col("verdict")).alias("status"),
    )


def review_sets(d: pl.DataFrame) -> tuple[set[str], set[str]]:
    """``(confirmed, dismissed)`` accounts of :func:`decisions` ``d``: dismissed = false positive,
    behaviour unchanged."""
    if d.height == 0:
        return set(), set()
    return (set(d.filter(pl.col("status") == "confirmed")["account_id"].to_list()),
            set(d.filter(pl.col("status") == "dismissed")["account_id"].to_list()))


def _by(row: dict) -> str:
    when = row["reviewed_at"].strftime("%Y-%m-%d %H:%M UTC")
    via = f" (verdict on ring {row['subject_id']})" if row["subject_type"] == "ring" else ""
    return f"{row['analyst']} on {when}{via}"


def _note(row: dict, threshold: float | None) -> str:
    text = f": {row['note']}" if row.get("note") else ""
    if row["status"] == "confirmed":
        lines = [f"{NOTE_PREFIX}confirmed by {_by(row)}{text}"]
        if threshold is not None and row["score"] is not None and row["score"] < threshold:
            lines.append(f"{NOTE_PREFIX}kept flagged on that verdict although this run's score {row['score']:.2f} is below "
                         f"the flagging bar {threshold:.2f}; reasons at review time follow")
            old = [note for note in (row.get("baseline_reasons") or "").splitlines() if note.strip() and not note.startswith(NOTE_PREFIX)]
            lines.extend(old or [f"{NOTE_PREFIX}(no reasons were recorded at review time)"])
        return "\n".join(lines)
    if row["status"] == "reopened":
        changes = []
        if row["score_jump"]:
            changes.append(f"score {row['baseline_score']:.2f} -> {row['score']:.2f} "
                           f"({row['score'] / row['baseline_score']:.1f}x, rule >= {SCORE_JUMP}x)")
        if row["rate_jump"]:
            changes.append(f"requests per active hour {row['baseline_rate']:,.0f} -> {row['requests_per_active_hour']:,.0f} "
                           f"({row['requests_per_active_hour'] / row['baseline_rate']:.1f}x, rule >= {RATE_JUMP}x)")
        return (f"{NOTE_PREFIX}dismissed as a false positive by {_by(row)}, flagged again because its behaviour "
                f"changed materially: {'; '.join(changes)}")
    return f"{NOTE_PREFIX}more information requested by {_by(row)}{text}"


def apply_verdicts(flagged: pl.DataFrame, d: pl.DataFrame, *, threshold: float | None = None) -> pl.DataFrame:
    """Honour verdicts on the accounts about to be flagged: drop the dismissed ones whose
    behaviour did not change materially, and add a ``review_note`` (reason lines) to the rest.

    ``flagged`` holds scored rows (``account_id``, ``score``, ``requests_per_active_hour``...);
    ``d`` is :func:`decisions` over this run's scored accounts (a superset). Confirmed accounts
    below the bar must already be in ``flagged`` (detection adds them); given the
    ``threshold``, their note carries the reasons at review time.
    """
    d = d.filter(pl.col("account_id").is_in(flagged["account_id"].implode()))
    if d.height == 0:
        return flagged
    notes = {row["account_id"]: _note(row, threshold) for row in d.filter(pl.col("status") != "dismissed").iter_rows(named=True)}
    dismissed = d.filter(pl.col("status") == "dismissed")["account_id"].to_list()
    kept = flagged.filter(~pl.col("account_id").is_in(dismissed))
    if "review_note" in kept.columns:
        kept = kept.drop("review_note")
    return kept.with_columns(pl.Series("review_note", [notes.get(a) for a in kept["account_id"].to_list()], dtype=pl.String))


def record_review(store: Store, subject_type: str, subject_id: str, verdict: str, analyst: str,
                  note: str | None = None) -> dict:
    """Append a verdict with the evidence at review time; returns the stored review row.

    Raises :class:`ReviewError` for an unknown verdict, subject type, account or ring.
    """
    if subject_type not in SUBJECT_TYPES:
        raise ReviewError(f"subject type must be one of {', '.join(SUBJECT_TYPES)}, not {subject_type!r}")
    if verdict not in VERDICTS:
        raise ReviewError(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
    if not analyst or not analyst.strip():
        raise ReviewError("the analyst's name is required")
    if subject_type == "account":
        known = stored_evidence(store).filter(pl.col("account_id") == subject_id)
        if known.height == 0 and not store.scalar("SELECT count(*) FROM events WHERE account_id = ?", [subject_id]):
            raise ReviewError(f"no account {subject_id!r} in this database (not in events, account_features or flagged_accounts)")
        row = known.row(0, named=True) if known.height else {}
        values = [row.get("score"), row.get("signature_score"), row.get("n_requests"), row.get("requests_per_active_hour"),
                  row.get("ring_id"), None, row.get("reasons")]
    else:
        ring = store.frame("SELECT score, n_requests, n_accounts, reasons FROM rings WHERE ring_id = ?", [subject_id])
        if ring.height == 0:
            raise ReviewError(f"no ring {subject_id!r} in rings (ring ids come from the latest detection run)")
        r = ring.row(0, named=True)
        values = [r["score"], None, r["n_requests"], None, subject_id, r["n_accounts"], r["reasons"]]
    store.con.execute("BEGIN TRANSACTION")
    try:
        review_id = store.scalar(
            "INSERT INTO reviews (subject_type, subject_id, verdict, analyst, note, score_at_review, signature_at_review, "
            "n_requests_at_review, rate_at_review, ring_id_at_review, n_accounts_at_review, reasons_at_review) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING review_id",
            [subject_type, subject_id, verdict, analyst.strip(), note, *values],
        )
        capture_evidence(store, review_ids=[review_id], captured_by="review")
        store.con.execute("COMMIT")
    except Exception:
        store.con.execute("ROLLBACK")
        raise
    stored = store.frame("SELECT * FROM reviews WHERE review_id = ?", [review_id]).row(0, named=True)
    stored["accounts_covered"] = store.scalar("SELECT count(*) FROM review_evidence WHERE review_id = ?", [review_id])
    return stored
