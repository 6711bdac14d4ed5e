"""Rings: accounts that act together, found through what they share.

Each account carries *link values*: the client IPs it uses, its payment fingerprint, e-mail
domain, signup network, system prompt and dominant prompt template. A value links accounts
only when it is *pure*: most accounts that carry it are themselves suspicious. A campus NAT or
a cloud region shared by many ordinary users is therefore no glue, while a proxy pool shared
by eighty ring members still is, however many share it. Accounts are joined through pure
values (union-find over the account-value graph, linear in the number of pairs), and every
member must share at least two kinds of value with the rest of its ring, so one coincidence
does not make a ring.

>>> import polars as pl
>>> links = pl.DataFrame({"account_id": ["a", "a", "b", "b", "c", "c", "d"],
...                       "value": ["ip:1", "pay:x", "ip:1", "pay:x", "ip:1", "pay:x", "ip:1"]})
>>> sorted(sorted(g) for g in link_components(links, ["a", "b", "c"], min_kinds=2))
[['a', 'b', 'c']]
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import polars as pl

from distillguard.features import network_prefix


@dataclass(frozen=True)
class RingSettings:
    min_accounts: int = 3
    min_purity: float = 0.6          # share of a value's accounts that must be suspicious
    min_kinds: int = 2               # kinds of shared value each member needs
    min_ip_share: float = 0.05       # an IP counts for an account when it carries this share of its traffic
    min_ring_score: float = 1.0


def link_values(events: pl.DataFrame, features: pl.DataFrame, settings: RingSettings = RingSettings()) -> pl.DataFrame:
    """``(account_id, value)`` pairs: every attribute an account could share with a ring."""
    ips = (
        events.group_by("account_id", "client_ip")
        .agg(pl.len().alias("n"))
        .with_columns((pl.col("n") / pl.col("n").sum().over("account_id")).alias("share"))
        .filter(pl.col("share") >= settings.min_ip_share)
        .select("account_id", pl.format("ip:{}", pl.col("client_ip")).alias("value"))
    )
    system_prompts = (
        events.filter(pl.col("system_prompt_hash").is_not_null())
        .group_by("account_id", "system_prompt_hash").agg(pl.len().alias("n"))
        .with_columns((pl.col("n") / pl.col("n").sum().over("account_id")).alias("share"))
        .filter((pl.col("share") >= 0.2) | (pl.col("n") >= 20))
        .select("account_id", pl.format("sys:{}", pl.col("system_prompt_hash")).alias("value"))
    )
    user_agents = (
        events.filter(pl.col("user_agent").is_not_null())
        .group_by("account_id", "user_agent").agg(pl.len().alias("n"))
        .with_columns((pl.col("n") / pl.col("n").sum().over("account_id")).alias("share"))
        .filter((pl.col("share") >= 0.2) | (pl.col("n") >= 20))
        .select("account_id", pl.format("ua:{}", pl.col("user_agent")).alias("value"))
    )
    meta = []
    columns = features.columns
    if "payment_fingerprint" in columns:
        meta.append(features.select("account_id", pl.format("pay:{}", pl.col("payment_fingerprint")).alias("value")))
    if "email_domain" in columns:
        meta.append(features.select("account_id", pl.format("mail:{}", pl.col("email_domain").str.to_lowercase()).alias("value")))
    if "signup_ip" in columns:
        meta.append(features.select("account_id", pl.format("signup:{}", network_prefix(pl.col("signup_ip"))).alias("value")))
    if "dominant_skeleton" in columns:
        meta.append(
            features.filter((pl.col("top_skeleton_share") >= 0.3) & (pl.col("dominant_skeleton").str.count_matches(" ") >= 2))
            .select("account_id", pl.format("tmpl:{}", pl.col("dominant_skeleton")).alias("value"))
        )
    frames = [ips, system_prompts, user_agents] + meta
    return pl.concat([f.with_columns(pl.col("value").cast(pl.String)) for f in frames]).drop_nulls().unique()


def pure_values(links: pl.DataFrame, candidates: set[str], settings: RingSettings = RingSettings()) -> pl.DataFrame:
    """Link values carried by at least two suspicious accounts and mostly by suspicious ones."""
    return (
        links.with_columns(pl.col("account_id").is_in(list(candidates)).alias("suspicious"))
        .group_by("value")
        .agg(pl.len().alias("n_all"), pl.col("suspicious").sum().alias("n_suspicious"))
        .filter((pl.col("n_suspicious") >= 2) & (pl.col("n_suspicious") >= settings.min_purity * pl.col("n_all")))
    )


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        parent = self.parent.setdefault(x, x)
        while parent != x:
            grand = self.parent.setdefault(parent, parent)
            self.parent[x] = grand
            x, parent = parent, grand
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _components(pairs: pl.DataFrame) -> dict[str, list[str]]:
    uf = _UnionFind()
    for value, accounts in pairs.group_by("value").agg(pl.col("account_id")).iter_rows():
        first = accounts[0]
        for other in accounts[1:]:
            uf.union(first, other)
        uf.find(first)
    groups: dict[str, list[str]] = {}
    for account in {a for a in pairs["account_id"].to_list()}:
        groups.setdefault(uf.find(account), []).append(account)
    return groups


def _kind(value: pl.Expr) -> pl.Expr:
    return value.str.extract(r"^(\w+):", 1)


#: Kinds of value that can join accounts on their own: shared infrastructure, payment, deployment.
STRONG_KINDS = ("ip", "pay", "signup", "sys")
#: Kinds that only corroborate: independent operations may share a template or a disposable mail domain.
WEAK_KINDS = ("tmpl", "mail", "ua")


def link_components(
    links: pl.DataFrame, candidates: list[str] | set[str], *, min_kinds: int = 2, min_purity: float = 0.6, rounds: int = 3
) -> list[list[str]]:
    """Groups of suspicious accounts joined through pure shared values of a strong kind, each
    member sharing ``min_kinds`` kinds of value (one of them strong) with the rest of its group."""
    candidates = set(candidates)
    pure = pure_values(links, candidates, RingSettings(min_purity=min_purity))
    pairs = links.filter(pl.col("account_id").is_in(list(candidates)) & pl.col("value").is_in(pure["value"].implode()))
    for _ in range(rounds):
        if pairs.height == 0:
            return []
        groups = _components(pairs.filter(_kind(pl.col("value")).is_in(STRONG_KINDS)))
        membership = pl.DataFrame(
            [(a, root) for root, members in groups.items() for a in members],
            schema={"account_id": pl.String, "group": pl.String}, orient="row",
        )
        shared = (
            pairs.join(membership, on="account_id")
            .with_columns(pl.col("account_id").n_unique().over("group", "value").alias("holders"))
            .filter(pl.col("holders") >= 2)
        )
        kinds = shared.group_by("account_id").agg(
            _kind(pl.col("value")).n_unique().alias("kinds"),
            _kind(pl.col("value")).is_in(STRONG_KINDS).any().alias("strong"),
        )
        keep = set(kinds.filter((pl.col("kinds") >= min_kinds) & pl.col("strong"))["account_id"].to_list())
        new_pairs = shared.filter(pl.col("account_id").is_in(list(keep))).select("account_id", "value")
        if new_pairs.height == pairs.height:
            pairs = new_pairs
            break
        pairs = new_pairs
    return [members for members in _components(pairs.filter(_kind(pl.col("value")).is_in(STRONG_KINDS))).values() if len(members) >= 2]


def ring_id_for(members: list[str]) -> str:
    """Stable id: derived from the ring's earliest-sorting member, so re-runs keep the id."""
    return "ring-" + hashlib.md5(min(members).encode()).hexdigest()[:10]


def _value_label(value: str) -> str:
    kind, _, raw = value.partition(":")
    names = {"ip": "client IP", "sys": "system prompt", "pay": "payment fingerprint", "mail": "e-mail domain",
             "signup": "signup network", "tmpl": "prompt template", "ua": "user agent"}
    shown = raw if len(raw) <= 60 else raw[:57] + "..."
    return f"{names.get(kind, kind)} {shown!r}" if kind != "tmpl" else f"prompt template \"{shown}\""


def describe_rings(
    groups: list[list[str]],
    links: pl.DataFrame,
    scored: pl.DataFrame,
    events: pl.DataFrame,
    settings: RingSettings = RingSettings(),
) -> tuple[list[dict], pl.DataFrame]:
    """Score, classify and explain each candidate group: ``(ring rows, ring_members)``.

    ``scored`` has per-account ``account_id, score, n_requests, sig_downstream, sig_harvest``
    and optionally ``created_at_account``. A ring's score is its members' mean suspicion plus
    collective evidence (size, shared payment, staged creation, joint volume).
    """
    ring_rows, member_rows = [], []
    by_account = {r["account_id"]: r for r in scored.iter_rows(named=True)}
    minute_activity = events.select("account_id", pl.col("ts").dt.truncate("1m").alias("minute")).unique()
    for members in groups:
        if len(members) < settings.min_accounts:
            continue
        rows = [by_account[a] for a in members if a in by_account]
        mean_score = sum(float(r["score"]) for r in rows) / len(rows)
        shared = (
            links.filter(pl.col("account_id").is_in(members))
            .group_by("value").agg(pl.len().alias("holders"))
            .filter(pl.col("holders") >= 2)
            .sort("holders", "value", descending=[True, False])
        )
        kinds = set(shared["value"].str.extract(r"^(\w+):", 1).to_list())
        n_requests = sum(int(r["n_requests"]) for r in rows)
        downstream = sorted(float(r.get("sig_downstream") or 0.0) for r in rows)[len(rows) // 2]
        kind = "reseller" if downstream >= 0.5 else "coordinated"
        collective = 0.1 * min(5.0, len(members) / 5.0)
        if "pay" in kinds:
            collective += 0.3
        created = sorted(r["created_at_account"] for r in rows if r.get("created_at_account") is not None)
        staged_hours = None
        if len(created) >= 3:
            staged_hours = (created[-1] - created[0]).total_seconds() / 3600.0
            if staged_hours <= 72:
                collective += 0.2
        member_minutes = minute_activity.filter(pl.col("account_id").is_in(members))
        sync = (
            member_minutes.group_by("minute").agg(pl.len().alias("k"))
            .select((pl.col("k") >= max(2, len(members) // 3)).mean()).item()
        ) if member_minutes.height else 0.0
        if sync >= 0.2:
            collective += 0.3
        if kinds & {"tmpl", "sys"}:
            collective += 0.2
        joint = events.filter(pl.col("account_id").is_in(members) & pl.col("prompt").is_not_null())
        joint_novelty = joint["prompt"].n_unique() / joint.height if joint.height else 0.0
        if joint_novelty >= 0.95 and joint.height >= 200:
            collective += 0.2
        score = mean_score + collective
        if score < settings.min_ring_score:
            continue
        ring_id = ring_id_for(members)
        top_shared = shared.head(4)
        reasons = [
            f"{len(members)} accounts ({n_requests:,} requests together) judged to act as one "
            f"{'reseller/proxy service fronting many downstream clients' if kind == 'reseller' else 'coordinated extraction operation'}",
        ]
        for value, holders in top_shared.iter_rows():
            reasons.append(f"{holders} of {len(members)} members share {_value_label(value)}")
        if staged_hours is not None and staged_hours <= 72:
            reasons.append(f"accounts created within {staged_hours:.0f} hours of each other")
        if sync and sync >= 0.2:
            reasons.append(f"synchronised activity: in {100 * sync:.0f}% of active minutes a third or more of the members fire together")
        if joint_novelty >= 0.95 and joint.height >= 200:
            reasons.append(f"jointly a sweep: {100 * joint_novelty:.0f}% of the members' {joint.height:,} prompts are distinct (each covers its own slice)")
        if kind == "reseller":
            prompts = sum(int(r.get("n_system_prompts") or 0) for r in rows)
            reasons.append(f"{prompts:,} distinct system prompts across the members: many unrelated downstream customers behind shared egress")
        reasons.append(f"members' mean suspicion {mean_score:.2f}")
        ring_rows.append({
            "ring_id": ring_id, "kind": kind, "n_accounts": len(members), "score": round(score, 4),
            "reasons": "\n".join(reasons), "n_requests": n_requests,
            "first_seen": min(r["first_seen"] for r in rows), "last_seen": max(r["last_seen"] for r in rows),
            "shared": {"values": [{"value": v, "holders": h} for v, h in shared.head(20).iter_rows()],
                       "synchronised_minute_share": sync, "creation_spread_hours": staged_hours},
        })
        member_rows.extend({"ring_id": ring_id, "account_id": a} for a in sorted(members))
    members_frame = pl.DataFrame(member_rows, schema={"ring_id": pl.String, "account_id": pl.String})
    return ring_rows, members_frame
