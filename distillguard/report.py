"""Static HTML reports for analysts: the whole run, one account or one ring.

    distillguard report --db dg.duckdb --ring ring-8693805ff5 --out ring.html

One self-contained page (inline CSS and SVG, no JavaScript, no external assets) that can be
mailed, attached to a case or opened offline. Pictures, drawn by :mod:`distillguard.charts`:
activity over time (stacked hourly bars; a member x hour heatmap for a ring), topic coverage
(a topic-like column when the events have one, otherwise the learned prompt templates and how
their slots sweep), the ring's shared-infrastructure graph (members linked to the IP prefixes,
payment fingerprints, signup networks, system prompts ... they share), and feature values
against the peers' distributions (``account_features``). Reasons are shown as the detectors'
sentences, scores always with their severity in words.

Everything that comes from the logs (prompts, user agents, ids, reasons) is escaped with
:func:`html.escape`, so a prompt such as ``<script>...</script>`` renders as text; the page
also carries a Content-Security-Policy that forbids scripts, as a second line of defence.

>>> import tempfile, pathlib
>>> from distillguard.store import Store
>>> with Store.open(pathlib.Path(tempfile.mkdtemp()) / "dg.duckdb") as store:
...     page = render_report(store)
>>> page.startswith("<!doctype html>") and "<script" not in page
True
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, cast

import polars as pl

from distillguard import charts
from distillguard.charts import ACCENT, PEER, esc
from distillguard.features.families import ALL_FEATURES
from distillguard.features.registry import Feature, percent, placed
from distillguard.features.text import MIN_PROMPTS_FOR_TEMPLATES, TEMPLATE_WORD_MIN_SHARE, normalised_prompt
from distillguard.store import Store

#: Event columns that name a topic directly (used for coverage when present).
TOPIC_COLUMNS = ("topic", "category", "task", "task_type", "intent")
KIND_NAMES = {"ip": "client IPs", "signup": "signup network", "pay": "payment fingerprint", "sys": "system prompt",
              "ua": "user agent", "mail": "e-mail domain", "tmpl": "prompt template"}
KIND_GUESS_WORDS = {"ring_member": "member of a ring", "bulk_extractor": "bulk extraction from one account",
                    "reseller": "reseller / proxy fronting many clients", "burner": "burner account (new, rate-limited)"}
MAX_GRAPH_MEMBERS, MAX_GRAPH_VALUES, MAX_HEATMAP_ROWS = 60, 24, 80
PROMPT_SAMPLE = 4000
MIN_TEMPLATE_WORDS = 3                     # fewer shared words than this is free-form text, not a template
FREE_FORM = "(free-form: no shared template)"


def feature_rows(features: list[Feature]) -> list[tuple[str, str, Callable[[Any], str], bool]]:
    """``(column, words, formatter, log scale)`` of the features with a place in the report, in order."""
    return [(f.name, f.title, f.formatter, f.log_scale) for f in placed(features, "report")]


#: The features shown against peers, in words: those with a place in the report in the feature
#: registry (:mod:`distillguard.features.families`).
FEATURES = feature_rows(ALL_FEATURES)


class ReportError(ValueError):
    """The account or ring asked for is not in the database."""


@dataclass
class Subject:
    kind: str                                   # run | account | ring
    ident: str | None = None
    members: list[str] = field(default_factory=list)
    row: dict = field(default_factory=dict)     # the flagged_accounts / rings row, if any

    def where(self) -> tuple[str, dict]:
        """SQL condition on ``events`` selecting the subject's events, with its parameters."""
        if self.kind == "run":
            return "TRUE", {}
        return "account_id IN (SELECT unnest($members))", {"members": self.members}


# -- data ---------------------------------------------------------------------------------------

def resolve_subject(store: Store, account: str | None = None, ring: str | None = None) -> Subject:
    if account and ring:
        raise ReportError("give --account or --ring, not both")
    if ring:
        rows = store.frame("SELECT * FROM rings WHERE ring_id = $r", {"r": ring}).to_dicts()
        if not rows:
            raise ReportError(f"no ring {ring!r} in this database (see: SELECT ring_id, kind, n_accounts FROM rings)")
        members = store.frame("SELECT account_id FROM ring_members WHERE ring_id = $r ORDER BY account_id", {"r": ring})
        return Subject("ring", ring, members["account_id"].to_list(), rows[0])
    if account:
        if not store.scalar("SELECT count(*) FROM events WHERE account_id = $a", {"a": account}):
            raise ReportError(f"no events of account {account!r} in this database")
        rows = store.frame("SELECT * FROM flagged_accounts WHERE account_id = $a", {"a": account}).to_dicts()
        return Subject("account", account, [account], rows[0] if rows else {})
    return Subject("run")


def _bin_hours(start: datetime, end: datetime) -> int:
    span = max(1.0, (end - start).total_seconds() / 3600)
    return next((h for h in (1, 2, 3, 6, 12, 24, 48, 168) if span / h <= 240), 336)


def _binned(frame: pl.DataFrame, keys: list[str]) -> tuple[list[datetime], int, pl.DataFrame]:
    """Hourly counts re-binned so that a picture has at most ~240 bins; returns (bins, hours per bin, frame)."""
    step = _bin_hours(cast(datetime, frame["hour"].min()), cast(datetime, frame["hour"].max()))
    frame = frame.with_columns(pl.col("hour").dt.truncate(f"{step}h").alias("bin"))
    first, last = cast(datetime, frame["bin"].min()), cast(datetime, frame["bin"].max())
    bins = [first + timedelta(hours=step * k) for k in range(int((last - first).total_seconds() // (3600 * step)) + 1)]
    sums = [c for c in frame.columns if c not in ("hour", "bin", *keys)]
    return bins, step, frame.group_by("bin", *keys).agg([pl.col(c).sum() for c in sums])


def skeleton_coverage(sample: pl.DataFrame) -> pl.DataFrame:
    """Per learned prompt template: prompts, accounts using it and distinct slot values.

    ``sample`` has ``account_id, prompt``. Templates are learned per account as the detector
    does (a word in a quarter of an account's prompts is template, the rest are slots, numbers
    included); the template is shown with slots as ``…``; prompts sharing fewer than
    ``MIN_TEMPLATE_WORDS`` template words count as free-form.

    >>> s = pl.DataFrame({"account_id": ["a"] * 8, "prompt": [f"Explain topic {w} step by step" for w in "abcdefgh"]})
    >>> skeleton_coverage(s).row(0)
    ('explain topic … step by step', 8, 1, 8)
    """
    words = (
        sample.lazy()
        .with_columns(normalised_prompt(pl.col("prompt"), mask_digits=False).alias("text"))
        .filter(pl.col("text").str.len_chars() > 0)
        .with_columns(pl.int_range(pl.len()).alias("pid"), pl.col("text").str.split(" ").alias("word"))
        .with_columns(pl.len().over("account_id").alias("n_prompts"))
        .explode("word")
        .with_columns(pl.int_range(pl.len()).over("pid").alias("pos"))
    )
    df = words.group_by("account_id", "word").agg(pl.col("pid").n_unique().alias("df"))
    words = words.join(df, on=["account_id", "word"]).with_columns(
        ((pl.col("df") >= TEMPLATE_WORD_MIN_SHARE * pl.col("n_prompts")) & (pl.col("n_prompts") >= MIN_PROMPTS_FOR_TEMPLATES)).alias("is_template")
    ).sort("pid", "pos")
    shown = pl.when(pl.col("is_template")).then(pl.col("word")).otherwise(pl.lit("…"))
    per_prompt = words.group_by("pid", maintain_order=True).agg(
        pl.col("account_id").first(),
        shown.alias("tokens"),
        pl.col("word").filter(~pl.col("is_template")).alias("slots"),
    ).with_columns(
        pl.when(pl.col("tokens").list.eval((pl.element() != "…").sum()).list.first() >= MIN_TEMPLATE_WORDS)
        .then(pl.col("tokens").list.eval(pl.element().filter((pl.element() != "…") | (pl.element().shift(1) != "…")))
              .list.join(" "))
        .otherwise(pl.lit(FREE_FORM))
        .alias("template")
    )
    return (
        per_prompt.group_by("template")
        .agg(pl.len().alias("prompts"), pl.col("account_id").n_unique().alias("accounts"),
             pl.col("slots").list.explode(keep_nulls=False, empty_as_null=False).n_unique().alias("distinct_slots"))
        .sort("prompts", "template", descending=[True, False])
        .collect()
    )


# -- page parts -----------------------------------------------------------------------------------

def _section(title: str, body: str, intro: str = "") -> str:
    intro_html = f'<p class="intro">{intro}</p>' if intro else ""
    return f"<section><h2>{esc(title)}</h2>{intro_html}{body}</section>"


def _figure(svg: str, caption: str) -> str:
    return f'<figure>{svg}<figcaption>{caption}</figcaption></figure>'


def _reasons(text: str | None) -> str:
    lines = [line for line in (text or "").splitlines() if line.strip()]
    return "<ul class=\"reasons\">" + "".join(f"<li>{esc(line)}</li>" for line in lines) + "</ul>" if lines else ""


def _table(headers: list[str], rows: list[list[str]], raw_columns: tuple[int, ...] = ()) -> str:
    """A table; cells are escaped unless their column index is in ``raw_columns`` (already-built HTML)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{cell if i in raw_columns else esc(cell)}</td>" for i, cell in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _score_words(score: float | None, severity: str | None) -> str:
    if score is None:
        return "not flagged"
    return f"{severity or 'unrated'} (score {score:.2f})"


def _ts(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S}" if value else ""


def header(store: Store, subject: Subject, source: str, severity=None) -> str:
    where, params = subject.where()
    span = store.frame(f"SELECT count(*) AS n, min(ts) AS first, max(ts) AS last, count(DISTINCT account_id) AS accounts "
                       f"FROM events WHERE {where}", params).row(0, named=True)
    facts = [("events", f"{span['n']:,}"), ("accounts", f"{span['accounts']:,}"),
             ("from", _ts(span["first"])), ("to", _ts(span["last"]))]
    verdict = ""
    row = subject.row
    if subject.kind == "run":
        title = "distillguard report: whole run"
        facts += [("flagged accounts", f"{store.count('flagged_accounts'):,}"), ("rings", f"{store.count('rings'):,}")]
    elif subject.kind == "ring":
        title = f"distillguard report: ring {subject.ident}"
        kind = "reseller / proxy service" if row["kind"] == "reseller" else "coordinated extraction ring"
        verdict = (f"<p class=\"verdict\">A {esc(kind)} of {row['n_accounts']} account{'' if row['n_accounts'] == 1 else 's'}, judged "
                   f"<b>{esc(_score_words(row['score'], (severity or _ring_severity)(row['score'])))}</b>. Why:</p>" + _reasons(row["reasons"]))
    else:
        title = f"distillguard report: account {subject.ident}"
        if row:
            guess = KIND_GUESS_WORDS.get(row.get("kind_guess") or "", row.get("kind_guess") or "")
            ring = f" in ring <b>{esc(row['ring_id'])}</b>" if row.get("ring_id") else ""
            verdict = (f"<p class=\"verdict\">Flagged <b>{esc(_score_words(row['score'], row['severity']))}</b>{ring}; "
                       f"best fit: {esc(guess)}. Why:</p>" + _reasons(row["reasons"]))
        else:
            verdict = "<p class=\"verdict\">Not flagged: below the flagging bar and in no ring.</p>"
    facts_html = "".join(f"<div><span>{esc(k)}</span><b>{esc(v)}</b></div>" for k, v in facts)
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f"<header><h1>{esc(title)}</h1><p class=\"source\">Read from {esc(source)}; generated {generated}. "
            f"Times are UTC.</p><div class=\"facts\">{facts_html}</div>{verdict}</header>")


def _ring_severity(score: float, settings=None) -> str:
    """A ring's severity in words, by the detection policy's bars (rings store only their score)."""
    from distillguard.config import load_settings
    from distillguard.models.policy import DetectionPolicy

    return DetectionPolicy((settings or load_settings()).policy).severity(float(score))


def activity_section(store: Store, subject: Subject) -> str:
    where, params = subject.where()
    if subject.kind == "run":
        hourly = store.frame(
            "SELECT date_trunc('hour', ts) AS hour, account_id IN (SELECT account_id FROM flagged_accounts) AS flagged, "
            "count(*) AS n FROM events GROUP BY ALL")
    else:
        hourly = store.frame(
            f"SELECT date_trunc('hour', ts) AS hour, account_id, count(*) AS n, count(*) FILTER (WHERE status = 429) AS limited "
            f"FROM events WHERE {where} GROUP BY ALL", params)
    if hourly.height == 0:
        return _section("Activity over time", "<p>No events.</p>")
    keys = ["flagged"] if subject.kind == "run" else ["account_id"]
    bins, step, binned = _binned(hourly, keys)
    index = {b: i for i, b in enumerate(bins)}
    unit = "requests per hour" if step == 1 else f"requests per {step} hours"

    def per_bin(frame: pl.DataFrame, column: str) -> list[float]:
        values = [0.0] * len(bins)
        for b, v in frame.select("bin", column).iter_rows():
            values[index[b]] += float(v)
        return values

    if subject.kind == "run":
        flagged = per_bin(binned.filter(pl.col("flagged")), "n")
        others = per_bin(binned.filter(~pl.col("flagged")), "n")
        svg = charts.time_bars(bins, [("other accounts", others, PEER), ("flagged accounts", flagged, ACCENT)], unit=unit,
                               label="requests over time, flagged accounts in red")
        share = sum(flagged) / max(1.0, sum(flagged) + sum(others))
        return _section("Activity over time", _figure(svg, f"Flagged accounts sent {percent(share)} of all requests."))
    if subject.kind == "account":
        limited = per_bin(binned, "limited")
        served = [n - lim for n, lim in zip(per_bin(binned, "n"), limited)]
        svg = charts.time_bars(bins, [("served", served, "#4a6fa5"), ("rate-limited (429)", limited, "#e67e22")], unit=unit,
                               label="requests over time")
        busiest = max(range(len(bins)), key=lambda i: served[i] + limited[i])
        active = sum(1 for i in range(len(bins)) if served[i] + limited[i] > 0)
        caption = (f"Active in {active} of {len(bins)} bins; busiest {bins[busiest]:%Y-%m-%d %H:%M} with "
                   f"{served[busiest] + limited[busiest]:,.0f} requests; {sum(limited):,.0f} rate-limited in all.")
        return _section("Activity over time", _figure(svg, esc(caption)))
    totals = binned.group_by("account_id").agg(pl.col("n").sum(), pl.col("bin").min().alias("start")).sort("start", "account_id")
    members = totals["account_id"].to_list()[:MAX_HEATMAP_ROWS]
    matrix = [per_bin(binned.filter(pl.col("account_id") == m), "n") for m in members]
    svg = charts.heatmap(members, bins, matrix, unit=unit, label="requests per member over time")
    together = [sum(1 for row in matrix if row[i] > 0) for i in range(len(bins))]
    caption = (f"One row per member (ordered by first activity), one column per {'hour' if step == 1 else f'{step} hours'}. "
               f"In the busiest bin {max(together)} of {len(members)} members were active at once.")
    if len(totals) > MAX_HEATMAP_ROWS:
        caption += f" The first {MAX_HEATMAP_ROWS} of {len(totals)} members are shown."
    return _section("Activity over time", _figure(svg, esc(caption)))


def coverage_section(store: Store, subject: Subject) -> str:
    where, params = subject.where()
    scope = "this account's" if subject.kind == "account" else "the members'" if subject.kind == "ring" else "flagged accounts'"
    if subject.kind == "run":
        where = "account_id IN (SELECT account_id FROM flagged_accounts)"
    columns = set(store.frame("SELECT column_name FROM duckdb_columns() WHERE table_name = 'events'")["column_name"].to_list())
    topic = next((c for c in TOPIC_COLUMNS if c in columns), None)
    parts = []
    if topic:
        top = store.frame(f'SELECT "{topic}" AS topic, count(*) AS n, count(DISTINCT account_id) AS accounts FROM events '
                          f'WHERE {where} AND "{topic}" IS NOT NULL GROUP BY 1 ORDER BY n DESC, topic LIMIT 15', params)
        total = store.scalar(f'SELECT count(DISTINCT "{topic}") FROM events WHERE {where}', params)
        if top.height:
            svg = charts.hbars(top["topic"].to_list(), top["n"].to_list(),
                               [f"{n:,} requests, {a} accounts" for n, a in top.select("n", "accounts").iter_rows()], label="topics")
            parts.append(_figure(svg, esc(f"{total:,} distinct {topic} values in {scope} requests; the 15 most frequent.")))
    else:
        sample = store.frame(f"SELECT account_id, prompt FROM events WHERE {where} AND prompt IS NOT NULL "
                             f"ORDER BY hash(event_id) LIMIT {PROMPT_SAMPLE}", params)
        if sample.height:
            templates = skeleton_coverage(sample)
            top = templates.head(12)
            notes = [f"{p:,} prompts, {s:,} distinct slot values" + (f", {a} accounts" if subject.kind != "account" else "")
                     for p, s, a in top.select("prompts", "distinct_slots", "accounts").iter_rows()]
            labels = [t or "(empty)" for t in top["template"].to_list()]
            svg = charts.hbars(labels, top["prompts"].to_list(), notes, label="prompt templates")
            caption = (f"No topic column in the events, so coverage is shown through the prompt templates learned from "
                       f"{sample.height:,} sampled prompts ({templates.height:,} templates; … marks a slot). A sweep "
                       f"shows few templates whose slots keep taking new values; ordinary use shows many one-off prompts.")
            parts.append(_figure(svg, esc(caption)))
    curve = _novelty_curve(store, where, params)
    if curve:
        parts.append(curve)
    body = "".join(parts) or "<p>No prompts were logged for these requests.</p>"
    return _section("Topic coverage", body)


def _novelty_curve(store: Store, where: str, params: dict) -> str:
    hourly = store.frame(
        f"WITH p AS (SELECT ts, lower(trim(prompt)) AS p FROM events WHERE {where} AND prompt IS NOT NULL), "
        "f AS (SELECT min(ts) AS ts FROM p GROUP BY p) "
        "SELECT hour, sum(n) AS n, sum(new) AS new FROM ("
        "  SELECT date_trunc('hour', ts) AS hour, count(*) AS n, 0 AS new FROM p GROUP BY 1"
        "  UNION ALL SELECT date_trunc('hour', ts), 0, count(*) FROM f GROUP BY 1) GROUP BY hour", params)
    if hourly.height < 2:
        return ""
    bins, _, binned = _binned(hourly, [])
    binned = binned.sort("bin")
    index = {b: i for i, b in enumerate(bins)}
    n, new = [0.0] * len(bins), [0.0] * len(bins)
    for b, a, c in binned.select("bin", "n", "new").iter_rows():
        n[index[b]], new[index[b]] = float(a), float(c)
    cum_n, cum_new, s1, s2 = [], [], 0.0, 0.0
    for a, c in zip(n, new):
        s1, s2 = s1 + a, s2 + c
        cum_n.append(s1)
        cum_new.append(s2)
    svg = charts.lines(bins, [("requests with a prompt", cum_n, PEER), ("distinct prompts", cum_new, ACCENT)],
                       unit="cumulative count", label="prompt novelty over time")
    caption = (f"{percent(s2 / max(1.0, s1))} of {s1:,.0f} prompts are distinct. When the red line follows the grey one, "
               f"every request asks something new (a sweep over a topic space); when it flattens, the traffic repeats itself.")
    return _figure(svg, esc(caption))


def graph_section(store: Store, subject: Subject) -> str:
    """Members linked to the values they share (IP prefixes, payment, signup network, system prompt ...)."""
    from distillguard.models.rings import link_values

    shared = json.loads(subject.row.get("shared") or "{}").get("values", [])
    if not shared:
        return ""
    where, params = subject.where()
    events = store.frame(f"SELECT account_id, client_ip, system_prompt_hash, user_agent FROM events WHERE {where}", params)
    wanted = ["account_id", "payment_fingerprint", "email_domain", "signup_ip", "dominant_skeleton", "top_skeleton_share"]
    features = pl.DataFrame({"account_id": subject.members})
    if store.has_table("account_features"):
        have = set(store.frame("SELECT * FROM account_features LIMIT 0").columns)
        cols = ", ".join(f'"{c}"' for c in wanted if c in have)
        features = store.frame(f"SELECT {cols} FROM account_features WHERE account_id IN (SELECT unnest($members))", params)
    links = link_values(events, features) if events.height else pl.DataFrame(schema={"account_id": pl.String, "value": pl.String})
    holders: dict[str, set[str]] = {}
    for account, value in links.iter_rows():
        holders.setdefault(value, set()).add(account)
    nodes: dict[str, dict] = {}                                  # node key -> label, kind, accounts, values
    for item in shared[:MAX_GRAPH_VALUES * 2]:
        value = item["value"]
        kind, _, raw = value.partition(":")
        accounts = holders.get(value) or (set(subject.members) if item.get("holders") == len(subject.members) else set())
        key = _ip_prefix(raw) if kind == "ip" else None
        key = f"ipnet:{key}" if key else value
        node = nodes.setdefault(key, {"kind": kind, "raw": raw, "accounts": set(), "values": 0, "holders": 0})
        node["accounts"] |= accounts
        node["values"] += 1
        node["holders"] = max(node["holders"], int(item.get("holders") or 0))
    ordered = sorted(nodes.items(), key=lambda kv: (list(KIND_NAMES).index(kv[1]["kind"]) if kv[1]["kind"] in KIND_NAMES else 99,
                                                    -len(kv[1]["accounts"]), kv[0]))[:MAX_GRAPH_VALUES]
    right = [(_node_label(key, node), node["kind"]) for key, node in ordered]
    degree = {m: sum(m in node["accounts"] for _, node in ordered) for m in subject.members}
    left = sorted(subject.members, key=lambda m: (-degree[m], m))[:MAX_GRAPH_MEMBERS]
    position = {m: i for i, m in enumerate(left)}
    edges = [(position[m], j) for j, (_, node) in enumerate(ordered) for m in sorted(node["accounts"]) if m in position]
    svg = charts.bipartite(left, right, edges, kind_names=KIND_NAMES, label="shared infrastructure of the ring")
    unlinked = [label for (label, _), (_, node) in zip(right, ordered) if not node["accounts"]]
    caption = (f"Each line joins a member (left) to a value it shares with other members (right): what links the ring. "
               f"{len(edges)} links between {len(left)} members and {len(right)} shared values.")
    if len(subject.members) > len(left):
        caption += f" The {len(left)} most connected of {len(subject.members)} members are shown."
    if unlinked:
        caption += f" {len(unlinked)} shared value(s) could not be traced to individual members here (e.g. hashed identifiers)."
    return _section("Shared infrastructure", _figure(svg, esc(caption)))


def _ip_prefix(raw: str) -> str | None:
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return None
    return str(ipaddress.ip_network(f"{raw}/{24 if address.version == 4 else 48}", strict=False))


def _node_label(key: str, node: dict) -> str:
    if key.startswith("ipnet:"):
        prefix = key.split(":", 1)[1]
        return f"client IP {node['raw']}" if node["values"] == 1 else f"client IPs in {prefix} ({node['values']} shared)"
    name = "client IP" if node["kind"] == "ip" else KIND_NAMES.get(node["kind"], node["kind"])
    suffix = "" if node["accounts"] else f" ({node['holders']} holders)"
    return f"{name} {node['raw']}{suffix}"


def features_section(store: Store, subject: Subject) -> str:
    if not store.has_table("account_features"):
        return _section("Features against peers", "<p>No <code>account_features</code> table yet (written by batch runs).</p>")
    features = store.frame("SELECT * FROM account_features")
    if subject.kind == "account":
        mine = features.filter(pl.col("account_id") == subject.ident)
        if mine.height == 0:
            return _section("Features against peers", "<p>This account was not scored by the last batch run.</p>")
        row = mine.row(0, named=True)
        peers = features.filter((pl.col("peer_group") == row.get("peer_group")) & (pl.col("account_id") != subject.ident))
        if peers.height < 12:
            peers = features.filter(pl.col("account_id") != subject.ident)
        marks_frame, peer_words = mine, f"peer group {row.get('peer_group')} ({peers.height} accounts)"
    else:
        marked = subject.members if subject.kind == "ring" else store.frame("SELECT account_id FROM flagged_accounts")["account_id"].to_list()
        marks_frame = features.filter(pl.col("account_id").is_in(marked))
        peers = features.filter(~pl.col("account_id").is_in(marked))
        peer_words = f"{peers.height:,} other accounts"
    rows = []
    for column, words, fmt, log in FEATURES:
        if column not in features.columns or not features.schema[column].is_numeric():
            continue
        marks = [v for v in marks_frame[column].to_list() if v is not None]
        peer_values = [v for v in peers[column].to_list() if v is not None]
        if not marks and not peer_values:
            continue
        median = cast(float, pl.Series(peer_values, dtype=pl.Float64).median()) if peer_values else None
        if subject.kind == "account":
            own_median = marks_frame.row(0, named=True).get(f"{column}_peer_median")
            median = own_median if own_median is not None else median
            summary = f"{fmt(marks[0])}" if marks else "n/a"
        else:
            m = pl.Series(marks, dtype=pl.Float64)
            who = "members" if subject.kind == "ring" else "flagged"
            low, middle, high = (cast(float, value) for value in (m.min(), m.median(), m.max()))
            summary = f"{who} median {fmt(middle)} ({fmt(low)} to {fmt(high)})" if marks else f"no {who}"
        summary += f"; peers median {fmt(median)}" if median is not None else ""
        rows.append({"label": words, "peers": peer_values, "marks": marks[:300], "median": median, "log": log, "summary": summary})
    svg = charts.peer_strips(rows, label="features against peers")
    who = "this account" if subject.kind == "account" else "members" if subject.kind == "ring" else "flagged accounts"
    caption = (f"Grey: how {peer_words} are distributed; blue line: their median; red marks: {who}. "
               f"Counts use a log scale; shares run from 0% to 100%.")
    return _section("Features against peers", _figure(svg, esc(caption)))


def accounts_table_section(store: Store, subject: Subject) -> str:
    if subject.kind == "account":
        return ""
    if subject.kind == "ring":
        frame = store.frame("SELECT f.account_id, f.severity, f.score, f.kind_guess, f.n_requests, f.first_seen, f.last_seen, "
                            "f.reasons FROM ring_members m LEFT JOIN flagged_accounts f USING (account_id) "
                            "WHERE m.ring_id = $r ORDER BY f.score DESC NULLS LAST, m.account_id", {"r": subject.ident})
        title = "Members"
    else:
        frame = store.frame("SELECT account_id, severity, score, kind_guess, n_requests, first_seen, last_seen, reasons "
                            "FROM flagged_accounts ORDER BY score DESC, account_id LIMIT 40")
        title = "Flagged accounts (top 40 by score)"
    rows = [[r["account_id"], _score_words(r["score"], r["severity"]), KIND_GUESS_WORDS.get(r["kind_guess"] or "", r["kind_guess"] or ""),
             f"{r['n_requests'] or 0:,}", f"{_ts(r['first_seen'])} to {_ts(r['last_seen'])}", _reasons(r["reasons"])]
            for r in frame.iter_rows(named=True)]
    table = _table(["account", "judged", "best fit", "requests", "active", "why"], rows, raw_columns=(5,))
    return _section(title, table if rows else "<p>None.</p>")


def rings_table_section(store: Store, subject: Subject, severity=None) -> str:
    if subject.kind != "run":
        return ""
    frame = store.frame("SELECT ring_id, kind, n_accounts, score, n_requests, reasons FROM rings ORDER BY score DESC, ring_id")
    rows = [[r["ring_id"], r["kind"], str(r["n_accounts"]), _score_words(r["score"], (severity or _ring_severity)(r["score"])),
             f"{r['n_requests'] or 0:,}", _reasons(r["reasons"])] for r in frame.iter_rows(named=True)]
    table = _table(["ring", "kind", "accounts", "judged", "requests", "why"], rows, raw_columns=(5,))
    return _section("Rings", table if rows else "<p>No rings.</p>")


def infrastructure_section(store: Store, subject: Subject) -> str:
    if subject.kind != "account":
        return ""
    parts = []
    for column, words in (("client_ip", "client IPs"), ("user_agent", "user agents"), ("end_user_id", "end users"),
                          ("system_prompt_hash", "system prompts")):
        top = store.frame(f"SELECT {column} AS value, count(*) AS n FROM events WHERE account_id = $a AND {column} IS NOT NULL "
                          "GROUP BY 1 ORDER BY n DESC, value LIMIT 6", {"a": subject.ident})
        distinct = store.scalar(f"SELECT count(DISTINCT {column}) FROM events WHERE account_id = $a", {"a": subject.ident})
        if top.height:
            rows = [[v, f"{n:,}"] for v, n in top.iter_rows()]
            parts.append(f"<div><h3>{esc(f'{distinct:,} {words}')}</h3>{_table(['value', 'requests'], rows)}</div>")
    return _section("Infrastructure", f'<div class="grid">{"".join(parts)}</div>') if parts else ""


def alerts_section(store: Store, subject: Subject) -> str:
    if subject.kind != "account":
        return ""
    frame = store.frame("SELECT ts, severity, score, reasons FROM alerts WHERE account_id = $a ORDER BY ts", {"a": subject.ident})
    if frame.height == 0:
        return ""
    rows = [[_ts(r["ts"]), _score_words(r["score"], r["severity"]), _reasons(r["reasons"])] for r in frame.iter_rows(named=True)]
    return _section("Streaming alerts", _table(["event time", "judged", "why"], rows, raw_columns=(2,)))


def prompts_section(store: Store, subject: Subject) -> str:
    where, params = subject.where()
    if subject.kind == "run":
        where = "account_id IN (SELECT account_id FROM flagged_accounts)"
    frame = store.frame(f"SELECT ts, account_id, user_agent, prompt FROM events WHERE {where} AND prompt IS NOT NULL "
                        "ORDER BY ts DESC, event_id LIMIT 25", params)
    if frame.height == 0:
        return ""
    rows = [[_ts(r["ts"]), r["account_id"], charts.short(r["user_agent"], 40), charts.short(r["prompt"], 400)]
            for r in frame.iter_rows(named=True)]
    scope = "flagged accounts'" if subject.kind == "run" else "the members'" if subject.kind == "ring" else "this account's"
    return _section("Most recent prompts", _table(["time", "account", "user agent", "prompt"], rows),
                    intro=esc(f"The 25 newest of {scope} logged prompts, verbatim (shown as text)."))


CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;color:#222;margin:0;background:#fafafa}
header,section{background:#fff;margin:16px auto;max-width:1140px;padding:16px 20px;border:1px solid #e3e3e3;border-radius:6px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:0 0 10px}h3{font-size:13px;margin:4px 0}
.source,.intro,figcaption{color:#555;font-size:13px}
.facts{display:flex;gap:22px;flex-wrap:wrap;margin:10px 0}.facts div{display:flex;flex-direction:column}
.facts span{font-size:11px;color:#666;text-transform:uppercase}.facts b{font-size:16px}
.verdict{font-size:15px;margin:10px 0 4px}ul.reasons{margin:4px 0;padding-left:20px}ul.reasons li{margin:2px 0}
figure{margin:0 0 14px}svg{max-width:100%;height:auto;display:block}
table{border-collapse:collapse;width:100%;font-size:12px}th,td{border-bottom:1px solid #eee;padding:4px 6px;text-align:left;vertical-align:top}
td{overflow-wrap:anywhere}td:first-child{white-space:nowrap}th{background:#f3f3f3}.grid{display:grid;grid-template-columns:1fr 1fr;gap:12px}
footer{max-width:1140px;margin:0 auto 24px;color:#888;font-size:12px;padding:0 20px}
"""
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def render_report(store: Store, *, account: str | None = None, ring: str | None = None, source: str = "the database",
                  settings=None) -> str:
    """The whole HTML page for the run, one account or one ring (ring severities by ``settings.policy``)."""
    from distillguard.config import load_settings
    from distillguard.models.policy import DetectionPolicy

    policy = DetectionPolicy((settings or load_settings()).policy)

    def severity(score: float) -> str:
        return policy.severity(float(score))

    subject = resolve_subject(store, account, ring)
    parts = [header(store, subject, source, severity), activity_section(store, subject), coverage_section(store, subject)]
    if subject.kind == "ring":
        parts.append(graph_section(store, subject))
    parts += [features_section(store, subject), accounts_table_section(store, subject), rings_table_section(store, subject, severity),
              infrastructure_section(store, subject), alerts_section(store, subject), prompts_section(store, subject)]
    title = "distillguard: whole run" if subject.kind == "run" else f"distillguard: {subject.kind} {subject.ident}"
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
            + "".join(p for p in parts if p)
            + "<footer>distillguard static report: no scripts, no external resources.</footer></body></html>\n")


def write_report(db: Path | str, out: Path | str, *, account: str | None = None, ring: str | None = None,
                 settings=None) -> tuple[Path, str]:
    """Render from the analyst snapshot of ``db`` (or ``db`` read-only) into ``out``; returns (path, source)."""
    from distillguard.snapshot import open_analyst_store

    with open_analyst_store(db, settings) as source:
        page = render_report(source.store, account=account, ring=ring, source=source.describe(), settings=settings)
        described = source.describe()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out, described
