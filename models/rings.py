"""Rings: accounts that act together, found among *all* accounts through what they share.

Each account carries *link values*: the client IPs it uses, its payment fingerprint, e-mail
domain, signup network, system prompt and dominant prompt template. A value links accounts by
its rarity: one shared by a handful of accounts (a card, a proxy pool) is strong glue, one
shared by a large part of the population (a big cloud egress, a carrier NAT) links nobody
(:attr:`RingSettings.min_rarity`). Two accounts are joined when they hold two rare values of
different facts together (an address and a template, say; one of a strong kind) or one that
stands alone (a card): one coincidence does not make a link, and one bridging value does not
merge two operations (connected components of accounts and links, with SciPy). Behaviour adds
values of its own (:func:`derived_links`): cohorts of suspicious accounts, the hours they were
made, the minutes they fire together, the runs of prompt wording they repeat. Weak ties gather only the
accounts nothing stronger places.

No account needs to be suspicious to be linked. Each group is then judged on its *collective*
evidence (:func:`ring_evidence`): members' mean suspicion and harvesting purpose, shared
payment, staged creation, synchronised activity, shared templates or system prompts, joint
coverage of distinct prompts and combined volume. A group whose combined behaviour is extraction
is a ring, and flags every member, even when each member alone stays under the bar; a campus
behind one NAT shares a network but none of the rest.

>>> import polars as pl
>>> links = pl.DataFrame({"account_id": ["a", "a", "b", "b", "c", "c", "d"] + [f"x{i}" for i in range(20)],
...                       "value": ["ip:1", "pay:x", "ip:1", "pay:x", "ip:1", "pay:x", "ip:1"] + [f"ip:{i + 9}" for i in range(20)]})
>>> sorted(sorted(g) for g in link_groups(links).group_by("group").agg("account_id")["account_id"].to_list())
[['a', 'b', 'c']]
"""

from __future__ import annotations

import hashlib
import math
from typing import Callable

import numpy as np
import polars as pl
from pydantic import BaseModel

from distillguard.features import network_prefix
from distillguard.features.text import prompt_identity
from distillguard.models.policy import log_ramp, ramp


class RingSettings(BaseModel):
    """Every threshold of ring detection (``Settings().rings``), shared by batch and the re-detect flow."""

    min_accounts: int = 3             # smallest ring
    sufficient_kinds: tuple[str, ...] = ("pay",)  # kinds that link on their own; any other link needs two facts (corroborated_links)
    split_cut_share: float = 0.12     # two communities of one core (Leiden's) stay apart when the links between them weigh less than
                                      # this share of the lighter one's links within (_split_at_sparse_cuts): two operations
                                      # that a few coincidences join (a stock system prompt and a disposable mail domain; 0.002-0.09
                                      # in independent draws), not the card groups or cohorts of one operation (0.16-0.21 there and in
                                      # this project's benchmark)
    core_merge_share: float = 0.5     # share of each of two cores' members holding strong values the other core holds, to merge them
    template_merge_share: float = 0.5  # share of each of two suspicious cores' members repeating one template's rare frames with the
                                      # other group's members, to merge them when a second fact (a mail domain, a network, a card)
                                      # joins them too: the card groups of one hydra, filling one template apart
    template_merge_fact_share: float = 0.5  # ... a value that two groups hold, at least this share of its holders in the two: their
                                      # own domain or pool, not a webmail domain or a cloud region that strangers use as well
    template_merge_fact_held: float = 0.15  # ... held by at least this share of each group's members: an operation's domain is
                                      # its members' (0.17-0.86 on each side in independent draws); a disposable domain that
                                      # one member of a second operation also used is a bridge (0.03-0.14)
    min_rarity: float = 0.3           # log(N / holders) / log(N) a value needs to link: 0.3 is N^0.7 holders at most
    sufficient_min_rarity: float = 0.05  # ... a payment instrument's: N^0.95 (a card paying for a ring that is a large share of
                                      # the accounts is still one holder's; only a placeholder most accounts carry is not)
    strong_min_rarity: dict[str, float] = {"sys": 0.6}  # rarity from which a value of these kinds joins accounts on its own (below
                                      # it, down to min_rarity, it only corroborates): a system prompt sent by N^0.4 accounts at most is
                                      # distinctive, one operator's; an SDK's, a chat front end's or a tutorial's is sent by many strangers
    min_ip_share: float = 0.05        # an IP counts for an account when it carries this share of its traffic
    flag_points: float = 2.0          # collective evidence points at which a group is a ring
    # what the members do (harvesting), and how they act together; acting together is capped, so a
    # team that shares a card, an office and an onboarding day is no ring unless its members harvest
    weights: dict[str, float] = {"members": 1.2, "purpose": 1.0, "joint_harvest": 0.5}  # joint_harvest: joint coverage x purpose
    together_weights: dict[str, float] = {
        "payment": 0.6, "staged": 0.5, "synchronised": 0.6, "shared_template": 0.4, "shared_network": 0.3,
        "joint_coverage": 0.5, "volume": 0.3, "alike_extractors": 0.4,
    }
    owned_alone_cap: float = 0.3      # most points owning together (staged creation, one network) gives without acting together
    together_cap: float = 1.4         # most points acting together gives: the rest must come from the members' behaviour
    behaviour_cap: float = 1.6        # most points the members' behaviour gives: a ring needs some acting together too
    bank_reuse_novelty: tuple[float, float] = (0.15, 0.35)  # distinct / all prompts across members: one bank re-run .. no re-use
    rerun_weight: float = 1.2         # points taken away at full "re-runs a fixed bank" evidence (members' mean ev_rerun): a lab evaluating
    members_rerun: tuple[float, float] = (0.05, 0.25)     # members' mean re-run evidence: one member in twenty .. a quarter of a lab's members
                                                          # re-running a fixed bank (an extraction's members take new prompts, re-asked or not)
    members_sitting: tuple[float, float] = (0.85, 1.0)    # members' mean one-sitting evidence: ... every member one sitting, an evaluation run each
    sliced_list: tuple[float, float] = (0.7, 0.95)        # share of the members' re-asks that fall on prompts no other member asks: from .. to
                                                          # which members that send one template (rev_shared_template) re-ask one list cut into a
                                                          # slice per account, not a bank they re-run (their re-asking then counts less against them) ...
    sliced_sitting: tuple[float, float] = (0.5, 0.85)     # ... unless each member works its slice in one sitting, as evaluators each run theirs
                                                          # (members' mean one-sitting evidence: from .. to which the slices are evaluation runs)
    members_score: tuple[float, float] = (0.3, 0.9)       # members' mean account score ignoring volume (capped at 1.5): none .. full
    members_alone: tuple[float, float] = (0.9, 1.0)       # ... at which the members are extractors alone (alike_extractors), and their
                                                          # own re-run and one-sitting signs are not taken from the group again
    purpose_points: tuple[float, float] = (0.5, 1.5)      # members' mean purpose points (any purpose family; counter-evidence is in their score)
    payment_share: tuple[float, float] = (0.3, 0.7)       # members sharing a payment fingerprint with another member
    staged_hours: tuple[float, float] = (72.0, 336.0)     # middle half of members created within 3 days: full; over 2 weeks: none
    synchronised: tuple[float, float] = (0.05, 0.2)       # share of active minutes in which a third of the members fire, beyond
                                                          # the share members active independently would (_chance_share)
    cofiring_share: tuple[float, float] = (0.3, 0.7)      # ... or share of members firing in bursts with another member (cofiring_links)
    template_share: tuple[float, float] = (0.3, 0.7)      # members sharing a system prompt or template ...
    template_asks: tuple[float, float] = (0.2, 0.6)       # ... counted as far as members ask for what only distillation asks for (their mean
                                                          # elicitation or sampling evidence): from none .. in full. Apps built from one
                                                          # starter (0-0.17 in the second generator's draws) share its template and take
                                                          # long answers; most operations ask for reasoning, grades or samples (0.75-1.0)
    network_share: tuple[float, float] = (0.5, 0.9)       # members sharing a client IP or signup network (weak: a campus NAT does too)
    joint_distinct_log10: tuple[float, float] = (2.5, 3.5)  # 300 .. 3,000 distinct prompts across members
    joint_novelty: tuple[float, float] = (0.6, 0.9)       # distinct / all prompts across members (disjoint shards)
    # a sharded sweep: members follow one prompt template whose slots jointly cover a space no member covers alone;
    # that is the members' coverage (each alone asks a few dozen prompts), so it counts as their purpose
    sweep_distinct_log10: tuple[float, float] = (1.3, 2.7)  # 20 .. 500 distinct prompts across the members (an account's coverage scale)
    sweep_growth: tuple[float, float] = (0.2, 0.6)         # members' mean share of later prompts that are new (re-asks do not hide a sweep)
    sweep_weight: float = 0.9                              # purpose points a full sharded sweep is worth to each member (less what its own coverage gave)
    volume_log10: tuple[float, float] = (3.5, 5.0)        # combined requests
    reseller_downstream: float = 0.5                      # members' median downstream evidence from which a ring is a reseller ring
    proxy_ring_downstream: float = 0.5                    # an account no ring holds, over the bar alone, is a reseller ring of its
                                                          # own (or with one more on its egress or card) from this downstream
                                                          # evidence (proxy_rings): one or two accounts fronting many customers
    # a cohort: suspicious accounts of one rare e-mail domain created within hours of each other (split extractors)
    cohort_min_score: float = 0.7     # an account's own score (ignoring volume) from which its cohort links it
    cohort_hours: float = 6.0         # creation window of a cohort (overlapping windows, so a cohort is not cut at a boundary)
    cohort_domain_rarity: float = 0.5  # rarity an e-mail domain needs over all accounts (0.5: N^0.5 holders at most; a domain
                                      # several operations or many people use would merge them)
    cohort_template_rarity: float = 0.5  # rarity a prompt template needs over all accounts for suspicious accounts asking in it
                                      # to be one cohort (0.5: N^0.5 holders at most)
    # synchronised accounts: suspicious accounts that fire in the same minutes far more often than chance
    sync_min_minutes: int = 5          # minutes two accounts must share (and each be active in) ...
    sync_min_lift: float = 10.0        # ... this many times what two independent accounts of their activity would share ...
    sync_min_share: float = 0.5        # ... covering this share of the quieter one's active minutes
    sync_max_busy: float = 0.5         # an account active in more than this share of its span's minutes has no schedule to share
    busy_span_minutes: float = 60.0    # ... once that span is this long (a burst of a few minutes is a schedule; ring evidence)
    # shared prompt frames: accounts whose prompts keep repeating the same runs of words (features.text.prompt_frames)
    frame_min_rarity: float = 0.3      # rarity a frame needs over all accounts to count (a run every templated app uses does not)
    frame_max_holders: int = 2000      # ... and at most this many holders (bounds the pairs compared; a larger template is a product's)
    frame_min_shared: int = 3          # rare frames two accounts must share ...
    frame_min_overlap: float = 0.5     # ... covering this share of the smaller frame sketch: one template, slots apart
    frame_min_score: float = 0.7       # an account's own score (ignoring volume) from which its frames link it
    # co-firing accounts: accounts that repeat the same rare frames and fire in the same bursts (a hydra's members, tens of
    # requests each, score low alone; one scheduler fires them together, one template fills their prompts)
    cofire_min_score: float = 0.2      # an account's own score (ignoring volume) from which co-firing links it (ordinary use: about 0)
    cofire_min_overlap: float = 0.25   # share of the smaller frame sketch two accounts' shared rare frames must cover (their
                                      # timing is the second fact: a template's wording can be looser than frame_min_overlap)
    cofire_bucket_minutes: int = 10    # a burst: accounts active in the same bucket of this many minutes fire together
    cofire_min_buckets: int = 5        # buckets two accounts must share (and each be active in) ...
    cofire_min_lift: float = 4.0       # ... this many times what two independent accounts of their activity would share ...
    cofire_min_share: float = 0.7      # ... covering this share of the quieter one's active buckets
    loose_min_score: float = 0.5      # an account's own score (ignoring volume) from which a loose cohort gathers it (suspect_links):
                                      # lower than a cohort's, as the cohort only gathers accounts nothing else places
    loose_min_z: float = 1.0          # ... and only when more of that prompt's or template's holders are somewhat suspicious than
                                      # chance gives, by this many standard deviations (binomial, at their share of all accounts): a
                                      # stock prompt a tenth of everyone sends gathers the tenth of its senders who are so anyway
                                      # (2.0 lost disguised rings in benchmark mixes where a quarter of all accounts are suspicious)
    bystander_max_score: float = 0.2  # an account whose own score (ignoring volume) stays under this acts like an ordinary user
                                      # (ordinary use scores about 0): its networks, clients and mail domain link it to nobody,
                                      # as a commercial VPN exit or a cloud egress is shared by operations and bystanders alike
                                      # (its card, schedule and template still do; every holder still counts for a value's rarity)
    member_min_score: float = 0.5     # a member takes part in its group when its own score (ignoring volume) reaches this, or when it
                                      # shares a card, a schedule or a template with another member (participants); the rest are in
                                      # it only through networks, clients or a stock prompt that bystanders share too
    public_bystander_share: float = 0.25  # a network whose holders are this share or more bystanders (two at least) is a public
                                      # egress: it corroborates another fact but joins no accounts as the strong one
    attach_min_score: float = 0.5     # an account's own score (ignoring volume) from which it may attach to a group it shares two facts
                                      # with, one with some members and one with others (_attached): a group's many addresses and
                                      # clients reach ordinary accounts on the same VPN exit or HTTP library, which act like nobody's
                                      # extractor
    weak_pair_overlap: float = 0.5    # two values of weak kinds link their co-holders only when their holders nearly coincide
                                      # (co-holders / either's holders, Jaccard): one operator's user agent and mail domain, not two
                                      # operations that happen to use one disposable domain and one HTTP library


def value_counts(events: pl.DataFrame, by: list[str] | None = None) -> pl.DataFrame:
    """Requests per ``by`` (default: account) and linkable value: ``kind`` ``ip`` (client IP, a
    missing one too), ``sys`` (system prompt) and ``ua`` (user agent), ``value`` and ``n``. Counts
    add up: the per-account rollups keep them per hour (``distillguard.features.rollups``)."""
    by = by or ["account_id"]
    kinds = [("ip", "client_ip", False), ("sys", "system_prompt_hash", True), ("ua", "user_agent", True)]
    frames = []
    for kind, column, drop_null in kinds:
        rows = events.lazy().filter(pl.col(column).is_not_null()) if drop_null else events.lazy()
        frames.append(rows.group_by(*by, pl.col(column).cast(pl.String).alias("value")).agg(pl.len().cast(pl.Int64).alias("n"))
                      .select(*by, pl.lit(kind).alias("kind"), "value", "n"))
    return pl.concat(frames).sort(*by, "kind", "value", nulls_last=True).collect()


#: An account whose prompts mostly follow one template of a few words or more (its skeleton links it).
_templated = (pl.col("top_skeleton_share") >= 0.3) & (pl.col("dominant_skeleton").str.count_matches(" ") >= 2)


def link_values(events: pl.DataFrame, features: pl.DataFrame, settings: RingSettings = RingSettings(),
                counts: pl.DataFrame | None = None) -> pl.DataFrame:
    """``(account_id, value)`` pairs: every attribute an account could share with a ring.

    ``counts``: :func:`value_counts` of the events when the caller has them (``events`` is then not read).
    """
    counts = value_counts(events) if counts is None else counts
    counts = counts.group_by("account_id", "kind", "value").agg(pl.col("n").sum())
    share = pl.col("n") / pl.col("n").sum().over("account_id", "kind")
    ips = (
        counts.filter(pl.col("kind") == "ip")
        .filter(share >= settings.min_ip_share)
        .select("account_id", pl.format("ip:{}", pl.col("value")).alias("value"))
    )
    # a proxy pool that rotates every request spreads each member's traffic thinly over its addresses, not its
    # networks; a network is of kind ip (``ip:<prefix>/<bits>``), so an address and its network are one kind of evidence
    networks = (
        counts.filter(pl.col("kind") == "ip")
        .group_by("account_id", network_prefix(pl.col("value")).alias("value")).agg(pl.col("n").sum())
        .filter(pl.col("n") / pl.col("n").sum().over("account_id") >= settings.min_ip_share)
        .select("account_id", pl.format("ip:{}", pl.col("value")).alias("value"))
    )
    system_prompts = (
        counts.filter(pl.col("kind") == "sys")
        .filter((share >= 0.2) | (pl.col("n") >= 20))
        .select("account_id", pl.format("sys:{}", pl.col("value")).alias("value"))
    )
    user_agents = (
        counts.filter(pl.col("kind") == "ua")
        .filter((share >= 0.2) | (pl.col("n") >= 20))
        .select("account_id", pl.format("ua:{}", pl.col("value")).alias("value"))
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
            features.filter(_templated)
            .select("account_id", pl.format("tmpl:{}", pl.col("dominant_skeleton")).alias("value"))
        )
    frames = [ips, networks, system_prompts, user_agents] + meta
    return pl.concat([f.with_columns(pl.col("value").cast(pl.String)) for f in frames]).drop_nulls().unique()


def _kind(value: pl.Expr) -> pl.Expr:
    return value.str.extract(r"^(\w+):", 1)


def _raw(value: pl.Expr) -> pl.Expr:
    """A link value without its ``kind:`` prefix."""
    return value.str.replace(r"^\w+:", "")


def _no_links() -> pl.DataFrame:
    """An empty frame of ``(account_id, value)`` link pairs."""
    return pl.DataFrame(schema={"account_id": pl.String, "value": pl.String})


def _suspicious(bar: float) -> pl.Expr:
    """An account whose own score (ignoring volume) reaches ``bar``: ``RingSettings.cohort_min_score`` for the
    cohorts, creation hours and synchronised accounts, ``loose_min_score`` for a loose cohort."""
    return pl.col("score_ignoring_volume") >= bar


def _rarity(holders: pl.Expr, n: int) -> pl.Expr:
    """``log(N / holders) / log(N)``: 0 for a value every account holds, 1 for a value one account holds."""
    return (n / holders).log() / math.log(n)


def _creation_windows(created_s: pl.Expr, settings: RingSettings) -> list[pl.Expr]:
    """``<offset>/<window>`` of the ``cohort_hours`` windows an account was made in: two overlapping windows,
    offset by half a window, so accounts made together either side of a boundary still share one."""
    window_s = max(1, int(settings.cohort_hours * 3600))
    return [pl.format("{}/{}", pl.lit(offset), (created_s + offset * window_s // 2) // window_s) for offset in (0, 1)]


def _fact(value: pl.Expr) -> pl.Expr:
    """What a link value says: its kind, with kinds that say one thing (``SAME_FACT``) taken as one."""
    return _kind(value).replace(SAME_FACT)


#: Kinds of value that can join accounts on their own: shared infrastructure, payment, a distinctive
#: system prompt (rare enough: ``RingSettings.strong_min_rarity``), a suspicious cohort (:func:`cohort_links`,
#: :func:`deployment_cohort_links`).
STRONG_KINDS = ("ip", "pay", "signup", "sys", "cohort", "sync")
#: Kinds that only corroborate: independent operations may share a template, a disposable mail domain,
#: an HTTP library or the hours in which their accounts were made.
WEAK_KINDS = ("tmpl", "mail", "ua", "made")




def cohort_links(scored: pl.DataFrame, settings: RingSettings = RingSettings()) -> pl.DataFrame:
    """``(account_id, value)`` pairs ``cohort:<e-mail domain>@<creation window>`` and
    ``cohort:<e-mail domain>#<prompt template>`` for the accounts whose own behaviour is suspicious
    (``score_ignoring_volume`` of ``cohort_min_score`` or more), on an e-mail domain few accounts use
    (``cohort_domain_rarity``).

    An operator who splits one extraction over a few fresh accounts may share no card, network or
    system prompt between them, only how and when they were made: a private or disposable domain,
    within hours. A team of a company signs up the same way, which is why the cohort links only
    accounts that already act like extractors (ordinary teammates stay out; the ring is then judged
    on collective evidence like any other). Each account gets two overlapping windows, so a cohort
    that straddles a window's edge still holds together. Accounts bought aged on a market were not
    made together; what the operator's accounts then share is the domain and how they ask: the same
    prompt template (``dominant_skeleton``, as :func:`link_values` reads it). Either alone is weak
    (independent operations use the same disposable domains, and the same templates); a rare domain,
    one template and extractor behaviour together are one operator.

    >>> from datetime import datetime, timedelta
    >>> t = datetime(2026, 10, 24, 18)
    >>> scored = pl.DataFrame({"account_id": ["a", "b", "c"] + [f"x{i}" for i in range(30)],
    ...     "email_domain": ["tmp.cc"] * 3 + ["gmail.com"] * 30, "score_ignoring_volume": [1.2, 0.9, 0.2] + [1.0] * 30,
    ...     "first_seen": [t + timedelta(days=1)] * 33, "account_age_days": [1.0, 0.98, 1.0] + [1.0] * 30})
    >>> sorted(cohort_links(scored)["account_id"].unique().to_list())     # c is not suspicious, gmail is everyone's
    ['a', 'b']
    >>> aged = scored.with_columns(pl.Series("account_age_days", [300.0, 41.0, 1.0] + [1.0] * 30),
    ...     pl.lit("answer the question about x in y steps").alias("dominant_skeleton"), pl.lit(0.9).alias("top_skeleton_share"))
    >>> cohort_links(aged).filter(pl.col("value").str.contains("#"))["account_id"].to_list()   # made 259 days apart, one template
    ['a', 'b']
    """
    needed = {"email_domain", "score_ignoring_volume", "first_seen", "account_age_days"}
    if not needed <= set(scored.columns) or scored.height == 0:
        return _no_links()
    n = max(2, scored.height)
    domain = pl.col("email_domain").str.to_lowercase()
    suspects = (
        scored.filter(pl.col("email_domain").is_not_null())
        .with_columns(_rarity(pl.len().over(domain), n).alias("domain_rarity"), _created_s(scored).alias("created_s"))
        .filter((pl.col("domain_rarity") >= settings.cohort_domain_rarity)
                & _suspicious(settings.cohort_min_score) & pl.col("created_s").is_not_null())
    )
    frames = [suspects.select("account_id", pl.format("cohort:{}@{}", domain, window).alias("value"))
              for window in _creation_windows(pl.col("created_s"), settings)]
    if "dominant_skeleton" in suspects.columns:
        frames.append(suspects.filter(_templated).select("account_id", pl.format("cohort:{}#{}", domain, pl.col("dominant_skeleton")).alias("value")))
    return pl.concat(frames).with_columns(pl.col("value").cast(pl.String))


def sync_links(events: pl.DataFrame | tuple[pl.DataFrame, pl.DataFrame], scored: pl.DataFrame,
               settings: RingSettings = RingSettings()) -> pl.DataFrame:
    """``(account_id, value)`` pairs ``sync:<account>~<account>`` for two suspicious accounts
    (``score_ignoring_volume`` of ``cohort_min_score`` or more) that fire in the same minutes far more often than
    chance: one scheduler driving both (``sync_min_minutes`` shared, ``sync_min_lift`` times what two independent
    accounts would share, each active at its own rate over its own span, ``sync_min_share`` of the quieter one's
    minutes). Two burners working through the same afternoon share minutes by chance; accounts busy in most
    minutes of their span (``sync_max_busy``) share minutes with everyone and are left out. One fact: it links with a
    second (a template, the hours the accounts were made), like an address. ``events``: the accounts' events, or
    their :func:`member_activity` (from the per-account rollups, which keep active minutes).

    >>> from datetime import datetime, timedelta
    >>> t = datetime(2026, 11, 2)
    >>> rows = [(a, t + timedelta(hours=4 * k, seconds=s)) for k in range(12) for a, s in (("a", 1), ("b", 20))]
    >>> rows += [("c", t + timedelta(minutes=37 * k + 5)) for k in range(12)] + [("z", t + timedelta(hours=48))]
    >>> events = pl.DataFrame(rows, schema=["account_id", "ts"], orient="row")
    >>> scored = pl.DataFrame({"account_id": ["a", "b", "c", "z"], "score_ignoring_volume": [1.0] * 4})
    >>> sync_links(events, scored).rows()        # a and b fire together every four hours; c keeps its own time
    [('a', 'sync:a~b'), ('b', 'sync:a~b')]
    """
    empty = _no_links()
    activity = events[0] if isinstance(events, tuple) else active_minutes(events)
    if "score_ignoring_volume" not in scored.columns or activity.height == 0:
        return empty
    suspects = scored.filter(_suspicious(settings.cohort_min_score)).select("account_id")
    minutes = activity.join(suspects, on="account_id").select("account_id", "minute").unique()
    if minutes.height == 0:
        return empty
    per_account = (
        minutes.group_by("account_id").agg(pl.len().alias("active"), pl.col("minute").min().dt.epoch("s").alias("first_s"),
                                           pl.col("minute").max().dt.epoch("s").alias("last_s"))
        .with_columns(((pl.col("last_s") - pl.col("first_s")) / 60 + 1).alias("span"))
        .filter((pl.col("active") >= settings.sync_min_minutes) & (pl.col("active") <= settings.sync_max_busy * pl.col("span")))
        .sort("account_id")
    )
    if per_account.height < 2:
        return empty
    minutes = minutes.join(per_account.select("account_id"), on="account_id")
    accounts = per_account["account_id"]
    active, first, last, span = (per_account[c].to_numpy().astype(float) for c in ("active", "first_s", "last_s", "span"))
    i, j, co = _co_held(accounts, minutes["account_id"], minutes["minute"].cast(pl.Int64))
    keep = co >= settings.sync_min_minutes
    i, j, co = i[keep], j[keep], co[keep]
    # chance: each account active at its own rate over its own span, the two spans overlapping this long
    overlap = np.maximum(1.0, (np.minimum(last[i], last[j]) - np.maximum(first[i], first[j])) / 60 + 1)
    lift = co / ((active[i] / span[i]) * (active[j] / span[j]) * overlap)
    keep = (lift >= settings.sync_min_lift) & (co >= settings.sync_min_share * np.minimum(active[i], active[j]))
    if not keep.any():
        return empty
    names = accounts.to_numpy()
    return _pair_values("sync", names[i[keep]], names[j[keep]])


def frame_links(scored: pl.DataFrame, settings: RingSettings = RingSettings()) -> pl.DataFrame:
    """``(account_id, value)`` pairs ``frames:<account>~<account>`` for two suspicious accounts
    (``score_ignoring_volume`` of ``frame_min_score`` or more) whose prompts repeat the same rare frames
    (``prompt_frames``: runs of words each keeps repeating; ``frame_min_shared`` of them, rare over all accounts,
    covering ``frame_min_overlap`` of the smaller sketch): one prompt template whose slots differ, a sweep sharded
    by topic over accounts that share no card, address or skeleton. Strangers who ask in one popular template
    share its frames with hundreds of others, which are then not rare; companies' batch jobs built on one
    library's template share rare ones too, which is why this is a loose cohort (:data:`LOOSE_COHORTS`): it
    gathers only accounts nothing stronger places, and only those that act like extractors.

    >>> scored = pl.DataFrame({"account_id": ["a", "b", "c"] + [f"x{i}" for i in range(30)], "score_ignoring_volume": [0.8] * 33,
    ...     "prompt_frames": [[1, 2, 3, 4], [1, 2, 3, 9], [1, 7, 8]] + [[100 + i] for i in range(30)]})
    >>> frame_links(scored).rows()          # c shares one frame with them
    [('a', 'frames:a~b'), ('b', 'frames:a~b')]
    """
    left, right = _framed_pairs(scored, settings.frame_min_score, settings)
    return _pair_values("frames", left, right) if left.size else _no_links()


def _framed_pairs(scored: pl.DataFrame, bar: float, settings: RingSettings, overlap: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The pairs of accounts (``score_ignoring_volume`` of ``bar`` or more) that repeat the same rare prompt frames:
    ``frame_min_shared`` of them, rare over all accounts, covering ``overlap`` (default ``frame_min_overlap``) of the
    smaller sketch."""
    overlap = settings.frame_min_overlap if overlap is None else overlap
    none = (np.array([], dtype=object), np.array([], dtype=object))
    if not {"prompt_frames", "score_ignoring_volume"} <= set(scored.columns) or scored.height < 2:
        return none
    n = scored.height
    held = (
        scored.select("account_id", _suspicious(bar).alias("suspect"), pl.col("prompt_frames").alias("frame"),
                      pl.col("prompt_frames").list.len().alias("size"))
        .filter(pl.col("size") > 0).explode("frame")
        .with_columns(pl.len().over("frame").alias("holders"))        # over all accounts: a template strangers use is not rare
        .filter(pl.col("suspect"))
    )
    rare = held.filter((pl.col("holders") >= 2) & (pl.col("holders") <= settings.frame_max_holders)
                       & (_rarity(pl.col("holders"), n) >= settings.frame_min_rarity))
    if rare.height == 0:
        return none
    accounts = rare["account_id"].unique().sort()
    i, j, co = _co_held(accounts, rare["account_id"], rare["frame"])
    size = pl.DataFrame({"account_id": accounts}).join(held.select("account_id", "size").unique(), on="account_id", how="left")["size"].to_numpy()
    keep = (co >= settings.frame_min_shared) & (co >= overlap * np.minimum(size[i], size[j]))
    names = accounts.to_numpy()
    return names[i[keep]], names[j[keep]]


def cofiring_pairs(scored: pl.DataFrame, settings: RingSettings = RingSettings()) -> tuple[np.ndarray, np.ndarray]:
    """The pairs :func:`cofiring_links` compares: accounts (``cofire_min_score`` or more) that repeat rare prompt
    frames together (``cofire_min_overlap`` of the smaller sketch)."""
    return _framed_pairs(scored, settings.cofire_min_score, settings, settings.cofire_min_overlap)


def paired_accounts(pairs: tuple[np.ndarray, np.ndarray]) -> pl.Series:
    """The accounts in ``pairs``, once each (whose activity :func:`cofiring_links` needs)."""
    return pl.Series("account_id", np.unique(np.concatenate(pairs)).astype(str), dtype=pl.String)


#: Pairs whose shared buckets :func:`cofiring_links` counts at once (bounds its memory, whatever the pairs).
PAIR_CHUNK = 100_000


def cofiring_links(events: pl.DataFrame | tuple[pl.DataFrame, pl.DataFrame], scored: pl.DataFrame,
                   settings: RingSettings = RingSettings(), pairs: tuple[np.ndarray, np.ndarray] | None = None) -> pl.DataFrame:
    """``(account_id, value)`` pairs ``cofire:<account>~<account>`` for two accounts that repeat the same rare prompt
    frames (as :func:`frame_links` reads them) *and* fire in the same bursts far more often than chance: one template
    filled apart and one scheduler driving both. A hydra's members make tens of requests each and score low alone
    (``cofire_min_score`` only keeps out accounts with nothing of an extractor), so neither fact is read from
    suspicion: content and timing are two independent facts, and strangers who ask in one template keep their own
    hours. Bursts are buckets of ``cofire_bucket_minutes``: ``cofire_min_buckets`` shared, ``cofire_min_lift`` times
    what two independent accounts active at their own rates over their own spans would share, ``cofire_min_share``
    of the quieter one's buckets; accounts busy in most buckets of their span (``sync_max_busy``) fire with everyone
    and are left out. Two facts in one link, it stands alone (:data:`SELF_CORROBORATING`): the shards of one hydra that
    other links (a schedule shared minute by minute, a creation day) made into separate groups are one.
    ``events``: the paired accounts' events (:func:`paired_accounts`), or their :func:`member_activity`; ``pairs``:
    :func:`cofiring_pairs`, when the caller already has them.

    >>> from datetime import datetime, timedelta
    >>> t = datetime(2026, 11, 2)
    >>> rows = [(a, t + timedelta(hours=2 * k, minutes=m)) for k in range(12) for a, m in (("a", 1), ("b", 4), ("c", 7))]
    >>> rows += [("d", t + timedelta(minutes=53 * k + 5)) for k in range(12)]
    >>> events = pl.DataFrame(rows, schema=["account_id", "ts"], orient="row")
    >>> scored = pl.DataFrame({"account_id": ["a", "b", "c", "d"] + [f"x{i}" for i in range(30)],
    ...     "score_ignoring_volume": [0.3, 0.4, 0.0, 0.3] + [0.5] * 30, "prompt_frames": [[1, 2, 3, 4]] * 4 + [[100 + i] for i in range(30)]})
    >>> sorted(set(cofiring_links(events, scored)["value"]))     # c does nothing of an extractor; d keeps its own hours
    ['cofire:a~b']
    """
    from scipy.sparse import csr_matrix

    left, right = cofiring_pairs(scored, settings) if pairs is None else pairs
    if left.size == 0:
        return _no_links()
    candidates = paired_accounts((left, right))
    activity = events[0] if isinstance(events, tuple) else active_minutes(events.filter(pl.col("account_id").is_in(candidates)))
    bucket_s = 60 * settings.cofire_bucket_minutes
    buckets = (activity.filter(pl.col("account_id").is_in(candidates))
               .select("account_id", (pl.col("minute").dt.epoch("s") // bucket_s).alias("bucket")).unique())
    if buckets.height == 0:
        return _no_links()
    per_account = (
        buckets.group_by("account_id").agg(pl.len().alias("active"), pl.col("bucket").min().alias("first"), pl.col("bucket").max().alias("last"))
        .with_columns((pl.col("last") - pl.col("first") + 1).alias("span"))
        .filter((pl.col("active") >= settings.cofire_min_buckets) & (pl.col("active") <= settings.sync_max_busy * pl.col("span")))
        .sort("account_id")
    )
    accounts = per_account["account_id"]
    compared = pl.DataFrame({"l": left.astype(str), "r": right.astype(str)}).filter(pl.col("l").is_in(accounts) & pl.col("r").is_in(accounts))
    if compared.height == 0:
        return _no_links()
    buckets = buckets.join(per_account.select("account_id"), on="account_id")
    rows = accounts.search_sorted(buckets["account_id"]).to_numpy()
    cols = _codes(buckets["bucket"])
    matrix = csr_matrix((np.ones(rows.size), (rows, cols)), shape=(accounts.len(), int(cols.max()) + 1))
    i, j = accounts.search_sorted(compared["l"]).to_numpy(), accounts.search_sorted(compared["r"]).to_numpy()
    co = np.concatenate([np.asarray(matrix[i[k:k + PAIR_CHUNK]].multiply(matrix[j[k:k + PAIR_CHUNK]]).sum(axis=1)).ravel()
                         for k in range(0, i.size, PAIR_CHUNK)])     # in chunks: each is a pairs x buckets sparse product
    active, first, last, span = (per_account[c].to_numpy().astype(float) for c in ("active", "first", "last", "span"))
    overlap = np.maximum(1.0, np.minimum(last[i], last[j]) - np.maximum(first[i], first[j]) + 1)
    lift = co / ((active[i] / span[i]) * (active[j] / span[j]) * overlap)
    keep = (co >= settings.cofire_min_buckets) & (lift >= settings.cofire_min_lift) & (co >= settings.cofire_min_share * np.minimum(active[i], active[j]))
    if not keep.any():
        return _no_links()
    return _pair_values("cofire", compared["l"].to_numpy()[keep], compared["r"].to_numpy()[keep])


def _co_held(accounts: pl.Series, holder: pl.Series, item: pl.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(i, j, co)`` for each pair ``i < j`` of ``accounts`` (sorted) that hold an item in common: how many
    items both hold, from the ``(holder, item)`` rows (one per holding; a sparse product)."""
    from scipy.sparse import coo_matrix

    a = accounts.search_sorted(holder).to_numpy()
    m = _codes(item)
    matrix = coo_matrix((np.ones(a.size), (a, m)), shape=(accounts.len(), int(m.max()) + 1)).tocsr()
    shared = (matrix @ matrix.T).tocoo()
    upper = shared.row < shared.col
    return shared.row[upper], shared.col[upper], shared.data[upper]


def _pair_values(kind: str, left: np.ndarray, right: np.ndarray) -> pl.DataFrame:
    """``(account_id, value)`` for pairs of accounts: ``<kind>:<left>~<right>``, held by both."""
    values = np.char.add(np.char.add(np.char.add(f"{kind}:", left.astype(str)), "~"), right.astype(str))
    return pl.concat([pl.DataFrame({"account_id": left, "value": values}), pl.DataFrame({"account_id": right, "value": values})]
                     ).with_columns(pl.col("account_id").cast(pl.String), pl.col("value").cast(pl.String)).sort("value", "account_id")


def suspect_links(links: pl.DataFrame, scored: pl.DataFrame, settings: RingSettings = RingSettings()) -> pl.DataFrame:
    """``(account_id, value)`` pairs ``suspects:<system prompt>`` and ``suspects:#<template>`` for the somewhat
    suspicious accounts (``score_ignoring_volume`` of ``loose_min_score`` or more: a hydra's members, tens of
    requests each, score low alone) that send that prompt or ask in that template: a hydra whose members send
    one stock system prompt ("you are a helpful assistant") or ask in one template, each on its own card,
    address and mail domain. The prompt or template alone links nobody (strangers send it); somewhat
    suspicious accounts that share it are a loose cohort, which gathers only accounts nothing stronger places
    (:data:`LOOSE_COHORTS`), so it does not bridge operations; and only accounts that send one system prompt
    (a proxy's many prompts are its customers'). A prompt or template is a cohort only when more of its holders
    are somewhat suspicious than chance gives (``loose_min_z`` standard deviations over their share of all
    accounts): among the strangers who send a stock prompt, that share are somewhat suspicious whoever they are.

    >>> ordinary = [f"x{i}" for i in range(20)]
    >>> links = pl.DataFrame({"account_id": ["a", "b", "c", "d", "e", "e", "b"], "value": ["sys:s1"] * 5 + ["sys:s2", "tmpl:t"]})
    >>> scored = pl.DataFrame({"account_id": ["a", "b", "c", "d", "e"] + ordinary, "score_ignoring_volume": [1.1, 0.8, 0.1, 0.2, 1.4] + [0.0] * 20})
    >>> suspect_links(links, scored).rows()      # c and d act like nobody's extractor; e is a proxy
    [('a', 'suspects:s1'), ('b', 'suspects:#t'), ('b', 'suspects:s1')]
    >>> everyone = pl.concat([links, pl.DataFrame({"account_id": ordinary, "value": ["sys:s1"] * 20})])
    >>> suspect_links(everyone, scored).filter(pl.col("value") == "suspects:s1").height   # 3 of its 25 senders: the base rate
    0
    """
    if "score_ignoring_volume" not in scored.columns or links.height == 0:
        return _no_links()
    suspicious = _suspicious(settings.loose_min_score)
    chance = scored.select(suspicious.fill_null(False).mean()).item() or 0.0
    kinds = links.with_columns(_kind(pl.col("value")).alias("kind")).filter(pl.col("kind").is_in(["sys", "tmpl"]))
    enriched = (
        kinds.join(scored.select("account_id", suspicious.fill_null(False).alias("suspect")), on="account_id", how="left")
        .group_by("value")
        .agg(pl.col("account_id").n_unique().alias("holders"), pl.col("account_id").filter(pl.col("suspect")).n_unique().alias("suspects"))
        .filter(pl.col("suspects") - chance * pl.col("holders") >= settings.loose_min_z * (pl.col("holders") * chance * (1.0 - chance)).sqrt())
        .select("value")
    )
    suspects = scored.filter(suspicious).select("account_id")
    held = kinds.join(suspects, on="account_id")
    one_prompt = held.filter(pl.col("kind") == "sys").filter(pl.len().over("account_id") == 1)   # one deployment's own prompt; a proxy's are its customers'
    held = pl.concat([one_prompt, held.filter(pl.col("kind") == "tmpl")]).join(enriched, on="value", how="semi")
    return pl.concat([
        held.filter(pl.col("kind") == "sys")
        .select("account_id", pl.format("suspects:{}", _raw(pl.col("value"))).alias("value")),
        held.filter(pl.col("kind") == "tmpl").select("account_id", pl.format("suspects:#{}", _raw(pl.col("value"))).alias("value")),
    ]).sort("account_id", "value")


def template_cohort_links(scored: pl.DataFrame, settings: RingSettings = RingSettings()) -> pl.DataFrame:
    """``(account_id, value)`` pairs ``cohort:#<prompt template>`` for the suspicious accounts
    (``score_ignoring_volume`` of ``cohort_min_score`` or more) that ask in a template few accounts use
    (``cohort_template_rarity`` over all accounts): a hydra's members bought aged, each on its own card,
    address and mail domain, that share nothing but the template their operator gave them.

    >>> scored = pl.DataFrame({"account_id": ["a", "b", "c"] + [f"x{i}" for i in range(30)],
    ...     "score_ignoring_volume": [1.2, 0.9, 0.2] + [0.1] * 30, "top_skeleton_share": [0.6] * 3 + [0.0] * 30,
    ...     "dominant_skeleton": ["define with examples and misconceptions"] * 3 + [None] * 30})
    >>> template_cohort_links(scored)["account_id"].to_list()      # c asks in it too but acts like nobody's extractor
    ['a', 'b']
    """
    if not {"dominant_skeleton", "top_skeleton_share", "score_ignoring_volume"} <= set(scored.columns) or scored.height == 0:
        return _no_links()
    n = max(2, scored.height)
    return (
        scored.filter(_templated).with_columns(_rarity(pl.len().over("dominant_skeleton"), n).alias("template_rarity"))
        .filter((pl.col("template_rarity") >= settings.cohort_template_rarity) & _suspicious(settings.cohort_min_score))
        .select("account_id", pl.format("cohort:#{}", pl.col("dominant_skeleton")).alias("value"))
        .sort("account_id")
    )


def deployment_cohort_links(links: pl.DataFrame, scored: pl.DataFrame, settings: RingSettings = RingSettings()) -> pl.DataFrame:
    """``(account_id, value)`` pairs ``cohort:<system prompt>#<prompt template>`` for the accounts whose own
    behaviour is suspicious (``score_ignoring_volume`` of ``cohort_min_score`` or more): an operator's split
    accounts that share only how they are deployed, one system prompt and one prompt template. Either alone
    links nobody (strangers send a tutorial's system prompt, or ask in one template); the two together,
    between accounts that each act like extractors, are one operator.

    >>> links = pl.DataFrame({"account_id": ["a", "a", "b", "b", "c", "c", "d"],
    ...                       "value": ["sys:s1", "tmpl:t1", "sys:s1", "tmpl:t1", "sys:s1", "tmpl:t1", "sys:s1"]})
    >>> scored = pl.DataFrame({"account_id": ["a", "b", "c", "d"], "score_ignoring_volume": [1.1, 0.8, 0.1, 1.0]})
    >>> deployment_cohort_links(links, scored)["account_id"].to_list()    # c is not suspicious, d asks in no shared template
    ['a', 'b']
    """
    if "score_ignoring_volume" not in scored.columns or links.height == 0:
        return _no_links()
    suspects = scored.filter(_suspicious(settings.cohort_min_score)).select("account_id")
    held = links.join(suspects, on="account_id").with_columns(_kind(pl.col("value")).alias("kind"))
    systems = held.filter(pl.col("kind") == "sys").select("account_id", pl.col("value").alias("system"))
    templates = held.filter(pl.col("kind") == "tmpl").select("account_id", pl.col("value").alias("template"))
    return (
        systems.join(templates, on="account_id")
        .select("account_id", pl.format("cohort:{}#{}", _raw(pl.col("system")), _raw(pl.col("template"))).alias("value"))
        .sort("account_id", "value")
    )


def _created_s(scored: pl.DataFrame) -> pl.Expr:
    """When an account was made (epoch seconds): its first request less its age then."""
    return (pl.col("first_seen") - pl.duration(seconds=(pl.col("account_age_days") * 86400.0).round(0).cast(pl.Int64))).dt.epoch("s")


def creation_links(scored: pl.DataFrame, settings: RingSettings = RingSettings()) -> pl.DataFrame:
    """``(account_id, value)`` pairs ``made:<offset>/<window>`` for the suspicious accounts
    (``score_ignoring_volume`` of ``cohort_min_score`` or more): the ``cohort_hours`` window in which each
    was made, two overlapping windows an account. A weak kind: it only corroborates another value (a
    system prompt of the operator's own, say), as every operation makes accounts at some hour.

    >>> from datetime import datetime
    >>> scored = pl.DataFrame({"account_id": ["a", "b", "c"], "score_ignoring_volume": [1.0, 0.9, 0.1],
    ...     "first_seen": [datetime(2026, 11, 5, 9)] * 3, "account_age_days": [0.5, 0.45, 0.5]})
    >>> creation_links(scored).group_by("value").agg("account_id").sort("value")["account_id"].to_list()
    [['a', 'b'], ['a', 'b']]
    """
    if not {"score_ignoring_volume", "first_seen", "account_age_days"} <= set(scored.columns) or scored.height == 0:
        return _no_links()
    suspects = scored.filter(_suspicious(settings.cohort_min_score)).with_columns(
        _created_s(scored).alias("created_s")).filter(pl.col("created_s").is_not_null())
    return pl.concat([suspects.select("account_id", pl.format("made:{}", window).alias("value"))
                      for window in _creation_windows(pl.col("created_s"), settings)]).with_columns(pl.col("value").cast(pl.String))


def derived_links(links: pl.DataFrame, scored: pl.DataFrame, member_events: Callable[[pl.DataFrame], pl.DataFrame],
                  settings: RingSettings = RingSettings()) -> pl.DataFrame:
    """The link pairs that the accounts' behaviour adds to the values they hold (``links``): cohorts
    (:func:`cohort_links`, :func:`deployment_cohort_links`, :func:`template_cohort_links`), the hours suspicious
    accounts were made (:func:`creation_links`), loose cohorts of a system prompt (:func:`suspect_links`) and
    synchronised accounts (:func:`sync_links`, over the suspicious accounts' events that ``member_events``
    fetches for a ``(account_id, group)`` frame: all of them in one process, theirs from every shard when
    sharded), and accounts of one template firing in the same bursts (:func:`cofiring_links`, over theirs)."""
    frames = [cohort_links(scored, settings), deployment_cohort_links(links, scored, settings), creation_links(scored, settings),
              template_cohort_links(scored, settings), suspect_links(links, scored, settings), frame_links(scored, settings)]
    if "score_ignoring_volume" in scored.columns:
        suspects = scored.filter(_suspicious(settings.cohort_min_score))
        frames.append(sync_links(member_events(suspects.select("account_id", pl.col("account_id").alias("group"))), scored, settings))
        pairs = cofiring_pairs(scored, settings)
        if pairs[0].size:
            accounts = paired_accounts(pairs)
            frames.append(cofiring_links(member_events(pl.DataFrame({"account_id": accounts, "group": accounts})), scored, settings, pairs))
    return pl.concat([f.with_columns(pl.col("value").cast(pl.String)) for f in frames])


def _codes(series: pl.Series) -> np.ndarray:
    return series.rank("dense").cast(pl.Int64).to_numpy() - 1


def _components(pairs: pl.DataFrame) -> pl.DataFrame:
    """``(account_id, group)``: connected components of the bipartite account-value graph."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if pairs.height == 0:
        return pl.DataFrame(schema={"account_id": pl.String, "group": pl.String})
    accounts = pairs["account_id"].unique().sort()
    a = _codes(pairs["account_id"])
    v = _codes(pairs["value"]) + accounts.len()
    n = int(v.max()) + 1
    graph = coo_matrix((np.ones(a.size), (a, v)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    membership = pl.DataFrame({"account_id": accounts, "label": labels[: accounts.len()]})
    return membership.with_columns(pl.col("account_id").min().over("label").alias("group")).select("account_id", "group")


def _strong(value: pl.Expr, rarity: pl.Expr, settings: RingSettings) -> pl.Expr:
    """Whether a rare value joins accounts on its own: a strong kind, rare enough for its kind."""
    kind = _kind(value)
    needed = kind.replace_strict(settings.strong_min_rarity, default=0.0, return_dtype=pl.Float64)
    return kind.is_in(STRONG_KINDS) & (rarity >= needed)


def rare_values(links: pl.DataFrame, settings: RingSettings = RingSettings()) -> pl.DataFrame:
    """Link values shared by at least two accounts and rare enough to link them, with their rarity.

    >>> members = [(f"m{i}", "pay:card-1") for i in range(85)] + [(f"m{i}", "ip:203.0.113.9") for i in range(85)]
    >>> others = [(f"u{i}", f"pay:card-u{i}") for i in range(215)]
    >>> links = pl.DataFrame(members + others, schema=["account_id", "value"], orient="row")
    >>> rare_values(links)["value"].to_list()   # one card pays for 85 of 300 accounts: still one holder's; the IP is common here
    ['pay:card-1']
    """
    n = max(2, links["account_id"].n_unique())
    rarity = _rarity(pl.col("holders"), n)
    needed = pl.when(_kind(pl.col("value")).is_in(list(settings.sufficient_kinds))).then(settings.sufficient_min_rarity).otherwise(settings.min_rarity)
    return (
        links.group_by("value").agg(pl.len().alias("holders"))
        .with_columns(rarity.alias("rarity"))
        .filter((pl.col("holders") >= 2) & (pl.col("rarity") >= needed))
        .with_columns(_strong(pl.col("value"), pl.col("rarity"), settings).alias("strong"))
        .sort("value")
    )


#: Kinds of value that are one fact: where an account signs up from and where it connects from
#: (a campus, an office, a proxy pool) say the same thing once, not twice.
SAME_FACT = {"signup": "ip"}
#: Kinds that join accounts on their own, without a second fact beside them: a cohort is already one
#: (a rare domain or a deployment, taken together with creation or a template, among suspicious accounts),
#: and so is co-firing (one template's rare frames and the same bursts: :func:`cofiring_links`).
SELF_CORROBORATING = ("cohort", "cofire")
#: Kinds that stand alone but, like two weak values, only gather accounts nothing stronger places: suspicious
#: accounts that send one system prompt, distinctive or not (:func:`suspect_links`), or repeat one template's
#: frames (:func:`frame_links`).
LOOSE_COHORTS = ("suspects", "frames")


def corroborated_links(pairs: pl.DataFrame, settings: RingSettings = RingSettings()) -> pl.DataFrame:
    """``(account_id, link, weak)``: what joins two accounts. Either a value of a kind that stands alone (a payment
    instrument, ``sufficient_kinds``; a cohort), or two rare values of *different facts* that the
    accounts hold together (``<value>&<value>``): one of them strong, or two weak ones whose holders nearly
    coincide (``weak_pair_overlap``: an operator's own user agent and mail domain).

    One shared value is a coincidence more often than an operation: a residential proxy address two
    operations rent, a customer's system prompt sent through two resellers, a campus network. Joining
    accounts through single values lets one such value bridge two operations into one group; requiring
    each link to carry two facts does not. ``pairs`` are ``(account_id, value, strong)`` of rare values
    (:func:`rare_values`); an account holds a few, so the pairs of its values stay few.

    >>> pairs = pl.DataFrame({"account_id": ["a", "a", "b", "b", "c", "c"],
    ...                       "value": ["ip:9", "tmpl:t", "ip:9", "tmpl:t", "ip:9", "signup:9/24"], "strong": [True, False] * 2 + [True, True]})
    >>> corroborated_links(pairs).sort("account_id").rows()   # c shares only the address (its signup network is the same fact)
    [('a', 'ip:9&tmpl:t', False), ('b', 'ip:9&tmpl:t', False)]
    """
    alone_kinds = list(settings.sufficient_kinds) + list(SELF_CORROBORATING) + list(LOOSE_COHORTS)
    facts = pairs.with_columns(_kind(pl.col("value")).alias("kind"), _fact(pl.col("value")).alias("fact"))
    alone = facts.filter(pl.col("kind").is_in(alone_kinds)).select("account_id", pl.col("value").alias("link"),
                                                                   pl.col("kind").is_in(LOOSE_COHORTS).alias("weak"))
    held = facts.filter(~pl.col("kind").is_in(LOOSE_COHORTS)).select("account_id", "value", "fact", "strong", pl.len().over("value").alias("holders"))
    both = (
        held.join(held, on="account_id", suffix="_2")
        .filter(pl.col("fact") < pl.col("fact_2"))
        .with_columns(pl.format("{}&{}", pl.col("value"), pl.col("value_2")).alias("link"),
                      ~(pl.col("strong") | pl.col("strong_2")).alias("weak"))
        .with_columns(pl.len().over("link").alias("co"))
        .filter(~pl.col("weak") | (pl.col("co") / (pl.col("holders") + pl.col("holders_2") - pl.col("co")) >= settings.weak_pair_overlap))
        .select("account_id", "link", "weak")
    )
    return pl.concat([alone, both]).filter(pl.len().over("link") >= 2)


#: Kinds through which whole cores merge: the infrastructure and payment an operation rotates its groups
#: through. Not a system prompt: a reseller forwards its customers' prompts, and customers use several
#: resellers, so two proxies share many system prompts without being one operation.
MERGING_KINDS = ("ip", "signup", "pay")


def _merged(membership: pl.DataFrame, merges: pl.DataFrame) -> pl.DataFrame:
    """``membership`` (``account_id``, ``group``) with the groups that ``merges`` pairs (``group``, ``other``) joined
    into one; merges chain (A with B and B with C is one group), and a group that merges with none stays itself.

    >>> membership = pl.DataFrame({"account_id": ["a", "b", "c", "d"], "group": ["A", "B", "C", "D"]})
    >>> _merged(membership, pl.DataFrame({"group": ["A", "B"], "other": ["B", "C"]})).sort("account_id")["group"].to_list()
    ['a', 'a', 'a', 'd']
    """
    labels = pl.concat([membership.select("group", pl.col("group").alias("other")).unique(), merges.select("group", "other")])
    return _components(membership.join(labels, on="group").select("account_id", pl.format("merge:{}", pl.col("other")).alias("value")))


def _both_ways(shares: pl.DataFrame, bar: float) -> pl.DataFrame:
    """``(group, other)`` of ``shares`` (``group``, ``other``, ``share``: of ``group``'s members reaching ``other``)
    whose share reaches ``bar`` both ways: held broadly on both sides, not a bridge through one member."""
    back = shares.select(pl.col("other").alias("group"), pl.col("group").alias("other"), pl.col("share").alias("back"))
    return shares.join(back, on=["group", "other"]).filter(pl.min_horizontal("share", "back") >= bar).select("group", "other")


def _leiden_communities(held: pl.DataFrame) -> np.ndarray:
    """Community of each account of ``held`` (``account_id``, ``value``; accounts in ``held["account_id"].unique().sort()``
    order): Leiden (igraph) maximising modularity on the graph of accounts and the link values they hold, seeded so
    that one input always gives one partition."""
    import random

    import igraph as ig

    accounts = held["account_id"].unique().sort()
    a = _codes(held["account_id"])
    v = _codes(held["value"]) + accounts.len()
    graph = ig.Graph(n=int(v.max()) + 1, edges=np.column_stack([a, v]).tolist())
    ig.set_random_number_generator(random.Random(0))
    try:
        membership = graph.community_leiden(objective_function="modularity", n_iterations=-1).membership
    finally:
        ig.set_random_number_generator(random)
    return np.asarray(membership[: accounts.len()])


def _link_weights(held: pl.DataFrame, community: np.ndarray) -> np.ndarray:
    """``W[c, d]``: weight of the links between communities ``c`` and ``d`` (``W[c, c]``: within ``c``, each pair
    once). A value held by ``k`` accounts weighs ``1 / (k - 1)`` a pair of them, so each holder gets one unit from it
    (a card 40 accounts share says no more about each than one two share)."""
    accounts = held["account_id"].unique().sort()
    of_account = pl.DataFrame({"account_id": accounts, "community": community})
    counts = (held.join(of_account, on="account_id").group_by("value", "community").agg(pl.len().alias("n"))
              .with_columns(pl.col("n").sum().over("value").alias("k")).filter(pl.col("k") >= 2))
    x = np.zeros((counts["value"].n_unique(), int(community.max()) + 1))
    x[_codes(counts["value"]), counts["community"].to_numpy()] = counts["n"].to_numpy()
    w = 1.0 / (x.sum(axis=1) - 1.0)
    weights = (x * w[:, None]).T @ x - np.diag((x * w[:, None]).sum(axis=0))
    weights[np.diag_indices_from(weights)] /= 2.0
    return weights


def _split_at_sparse_cuts(joined: pl.DataFrame, cores: pl.DataFrame, settings: RingSettings) -> pl.DataFrame:
    """``cores`` (``account_id``, ``group``) with each core that could hold two rings (``2 * min_accounts`` members)
    split where it is operations that a few coincidences join: a stock system prompt two hydras send beside a
    disposable mail domain they both sign up from, a network and a webmail domain. Leiden proposes communities
    (:func:`_leiden_communities`) on the core's links (``joined``: ``account_id``, ``value``); two stay one while the
    links between them weigh ``split_cut_share`` or more of the lighter one's links within (:func:`_link_weights`),
    and a community under ``min_accounts`` joins the one it is most linked to. One operation's members are linked
    many times over (a card, a pool, a template, a schedule); two operations, a few times.

    >>> own = [(f"{o}{i}", f"{kind}:{o}") for o in "ab" for i in range(8) for kind in ("pay", "ip", "signup")]
    >>> bridge = [("a0", "sys:stock&mail:temp"), ("b0", "sys:stock&mail:temp")]
    >>> joined = pl.DataFrame(own + bridge, schema=["account_id", "value"], orient="row")
    >>> cores = pl.DataFrame({"account_id": [f"{o}{i}" for o in "ab" for i in range(8)], "group": ["a0"] * 16})
    >>> sorted(_split_at_sparse_cuts(joined, cores, RingSettings()).group_by("group").len()["len"].to_list())   # two cards, one bridge
    [8, 8]
    """
    big = cores.filter(pl.len().over("group") >= 2 * settings.min_accounts)
    if big.height == 0:
        return cores
    held_all = joined.join(big, on="account_id")
    parts = []
    for _, held in held_all.group_by("group", maintain_order=True):
        held = held.select("account_id", "value")
        _, community = np.unique(_leiden_communities(held), return_inverse=True)
        weights = _link_weights(held, community)
        sizes = np.bincount(community)
        alive = np.ones(sizes.size, dtype=bool)
        while alive.sum() > 1:
            within = np.diag(weights).copy()
            across = weights - np.diag(within)
            ratio = across / np.maximum(np.minimum.outer(within, within), 1e-9)
            small = sizes < settings.min_accounts          # joins its most linked neighbour first
            ratio[small, :] = np.where(across[small, :] > 0, 1e9 + across[small, :], -1.0)
            ratio[~alive, :] = ratio[:, ~alive] = -1.0
            np.fill_diagonal(ratio, -1.0)
            c, d = np.unravel_index(np.argmax(ratio), ratio.shape)
            if ratio[c, d] < settings.split_cut_share:
                break
            # d into c: links add up (within c and d, and between them, are within the merged community)
            merged_within = weights[c, c] + weights[d, d] + weights[c, d]
            weights[c, :] += weights[d, :]
            weights[:, c] += weights[:, d]
            weights[c, c] = merged_within
            weights[d, :] = weights[:, d] = 0.0
            sizes[c], sizes[d], alive[d] = sizes[c] + sizes[d], 0, False
            community[community == d] = c
        accounts = held["account_id"].unique().sort()
        parts.append(pl.DataFrame({"account_id": accounts, "label": community})
                     .with_columns(pl.col("account_id").min().over("label").alias("group")).select("account_id", "group"))
    return pl.concat([cores.join(big, on="account_id", how="anti"), *parts])


def _core_merges(pairs: pl.DataFrame, cores: pl.DataFrame, settings: RingSettings) -> pl.DataFrame:
    """``(account_id, group)`` of the cores of two or more accounts (corroborated groups), those that merge joined
    (:func:`_merged`). Two cores merge when the strong values of ``MERGING_KINDS`` they share are held broadly on
    both sides, by ``core_merge_share`` of each core's members (:func:`_both_ways`): the card groups of one
    operation that all rotate through one proxy pool. An address held by one member of each of two operations is
    a bridge, not a merge; nor do two cores merge whose members each ask in their own template
    (:func:`_apart_by_template`): two operations renting one proxy provider."""
    sized = cores.filter(pl.len().over("group") >= 2).with_columns(pl.len().over("group").alias("size"))
    held = (
        pairs.filter(pl.col("strong") & _kind(pl.col("value")).is_in(MERGING_KINDS)).select("account_id", "value")
        .join(sized, on="account_id")
        .filter(pl.col("group").n_unique().over("value") >= 2)
    )
    reach = (
        held.join(held.select("value", pl.col("group").alias("other")).unique(), on="value")
        .filter(pl.col("group") != pl.col("other"))
        .group_by("group", "other").agg((pl.col("account_id").n_unique() / pl.col("size").first()).alias("share"))
    )
    merged = _both_ways(reach, settings.core_merge_share).join(_apart_by_template(pairs, sized), on=["group", "other"], how="anti")
    return _merged(sized.select("account_id", "group"), merged)


#: Kinds of value that, beside one template filled together, make two groups one operation: the mail domain their
#: accounts signed up from, their network, their card. Not a client library, a system prompt or a creation day:
#: strangers share those (and a template's wording) without acting together.
SECOND_FACTS = ("mail", "ip", "signup", "pay")


def _template_merges(pairs: pl.DataFrame, cores: pl.DataFrame, scored: pl.DataFrame, rare: pl.DataFrame,
                     settings: RingSettings) -> pl.DataFrame:
    """``(group, other)``, both orders: groups (``cores``: ``account_id``, ``group``) of suspicious accounts (mean own score from ``attach_min_score``) whose
    members broadly repeat one template's rare frames with the other's (``template_merge_share`` of each group's
    members has a frame pair across) and that share a value of another fact (:data:`SECOND_FACTS`) that is mostly
    theirs (``template_merge_fact_share`` of its holders in the two, every account's counted: ``rare``, as
    :func:`rare_values` gives them). A hydra paying with several cards is several
    groups; its members fill one template apart and signed up from one mail domain of its own. Two operations that
    use one public template and a webmail provider share no such value.

    >>> pairs = pl.DataFrame({"account_id": ["a1", "b1", "a2", "b2", "a1", "b1", "c1", "a2"],
    ...                       "value": ["frames:a1~b1"] * 2 + ["frames:a2~b2"] * 2 + ["mail:op.example"] * 2 + ["frames:a2~c1"] * 2})
    >>> cores = pl.DataFrame({"account_id": ["a1", "a2", "b1", "b2", "c1", "c2"], "group": ["A", "A", "B", "B", "C", "C"]})
    >>> scored = pl.DataFrame({"account_id": ["a1", "a2", "b1", "b2", "c1", "c2"], "score_ignoring_volume": [1.2] * 6})
    >>> sorted(_template_merges(pairs, cores, scored, rare_values(pairs), RingSettings()).rows())   # C fills the template with one of A, shares no other fact
    [('A', 'B'), ('B', 'A')]
    """
    suspicious = (cores.join(scored.select("account_id", "score_ignoring_volume"), on="account_id", how="left")
                  .group_by("group").agg(pl.col("score_ignoring_volume").fill_null(0.0).mean().alias("mean_score"))
                  .filter(pl.col("mean_score") >= settings.attach_min_score).select("group"))
    members = cores.join(suspicious, on="group").with_columns(pl.len().over("group").alias("size"))
    kinds = _kind(pl.col("value"))
    framed = pairs.filter(kinds.is_in(["frames", "cofire"])).select("account_id", "value").join(members, on="account_id")
    across = (
        framed.join(framed.select("value", pl.col("group").alias("other")), on="value")
        .filter(pl.col("group") != pl.col("other"))
        .group_by("group", "other").agg((pl.col("account_id").n_unique() / pl.col("size").first()).alias("share"))
    )
    facts = (pairs.filter(kinds.is_in(SECOND_FACTS)).select("account_id", "value")
             .join(rare.select("value", "holders"), on="value")
             .join(members.select("account_id", "group", "size"), on="account_id")
             .group_by("value", "group").agg(pl.len().alias("held"), pl.col("holders").first(), pl.col("size").first())
             .filter(pl.col("held") >= settings.template_merge_fact_held * pl.col("size")))
    second = (facts.join(facts.select("value", pl.col("group").alias("other"), pl.col("held").alias("held_other")), on="value")
              .filter((pl.col("group") != pl.col("other"))
                      & (pl.col("held") + pl.col("held_other") >= settings.template_merge_fact_share * pl.col("holders")))
              .select("group", "other").unique())
    return _both_ways(across, settings.template_merge_share).join(second, on=["group", "other"], how="semi")


def _apart_by_template(pairs: pl.DataFrame, cores: pl.DataFrame) -> pl.DataFrame:
    """``(group, other)``, both orders: cores that each repeat a template's rare frames among their own members
    (:func:`frame_links`, :func:`cofiring_links`) and share none across: each asks in its own template.

    >>> pairs = pl.DataFrame({"account_id": ["a1", "a2", "b1", "b2", "c1", "a1"], "value": ["frames:a1~a2"] * 2 + ["frames:b1~b2"] * 2
    ...                       + ["frames:a1~c1"] * 2})
    >>> cores = pl.DataFrame({"account_id": ["a1", "a2", "b1", "b2", "c1", "c2"], "group": ["A", "A", "B", "B", "C", "C"]})
    >>> sorted(_apart_by_template(pairs, cores).rows())   # C shares a frame pair with A and has no template of its own
    [('A', 'B'), ('B', 'A')]
    """
    framed = (
        pairs.filter(_kind(pl.col("value")).is_in(["frames", "cofire"])).select("account_id", "value")
        .join(cores.select("account_id", "group"), on="account_id")
        .group_by("value").agg(pl.col("group").min().alias("group"), pl.col("group").max().alias("other"))
    )
    own = framed.filter(pl.col("group") == pl.col("other")).select("group").unique()
    across = framed.filter(pl.col("group") != pl.col("other")).select("group", "other")
    across = pl.concat([across, across.select(pl.col("other").alias("group"), pl.col("group").alias("other"))]).unique()
    apart = own.join(own.rename({"group": "other"}), how="cross").filter(pl.col("group") != pl.col("other"))
    return apart.join(across, on=["group", "other"], how="anti")


#: Kinds of value an ordinary account shares with strangers without acting with them: networks (a VPN exit, a
#: campus NAT, a cloud egress), clients and mail domains (``RingSettings.bystander_max_score``).
BYSTANDER_KINDS = ("ip", "signup", "ua", "mail")


def _without_bystanders(pairs: pl.DataFrame, scored: pl.DataFrame, settings: RingSettings) -> pl.DataFrame:
    """``pairs`` (``account_id``, ``value``, ``strong``) without the :data:`BYSTANDER_KINDS` values of the accounts under
    ``bystander_max_score``; a network that bystanders use too (two at least, ``public_bystander_share`` of its
    holders) is a public egress (a VPN, a campus, a cloud NAT): it corroborates, no more (not ``strong``)."""
    bystander = pl.col("account_id").is_in(scored.filter(pl.col("score_ignoring_volume") < settings.bystander_max_score)["account_id"].implode())
    public = (
        pairs.filter(_kind(pl.col("value")).is_in(["ip", "signup"]))
        .group_by("value").agg(bystander.sum().alias("bystanders"), pl.len().alias("holders"))
        .filter((pl.col("bystanders") >= 2) & (pl.col("bystanders") >= settings.public_bystander_share * pl.col("holders")))
    )
    return (pairs.with_columns(pl.col("strong") & ~pl.col("value").is_in(public["value"].implode()))
            .filter(~(bystander & _kind(pl.col("value")).is_in(BYSTANDER_KINDS))))


def link_groups(links: pl.DataFrame, settings: RingSettings = RingSettings(), exclude: set[str] | None = None,
                scored: pl.DataFrame | None = None) -> pl.DataFrame:
    """``(account_id, group)`` for every account in a group of ``min_accounts`` or more: accounts joined by
    :func:`corroborated_links` of the rare values (:func:`rare_values`) into cores, cores that share strong
    values broadly merged (:func:`_core_merges`), accounts no link places attached to the one group they share
    two facts with (:func:`_attached`; with ``scored``, only those whose own ``score_ignoring_volume`` reaches
    ``attach_min_score``; and the networks, clients and mail domains of accounts under ``bystander_max_score``
    link nobody), the rest chained through single strong values (:func:`_chained`); then the weak links (two
    weak values, a loose cohort) among the accounts still in no group; last, with ``scored``, groups of suspicious
    accounts that fill one template together and share a second fact merged (:func:`_template_merges`)."""
    if exclude:
        links = links.filter(~pl.col("account_id").is_in(list(exclude)))
    rare = rare_values(links, settings)
    pairs = links.join(rare.select("value", "strong"), on="value")
    attaching = None
    if scored is not None and "score_ignoring_volume" not in scored.columns:
        scored = None
    if scored is not None:
        pairs = _without_bystanders(pairs, scored, settings)
        attaching = pairs.join(scored.filter(_suspicious(settings.attach_min_score)).select("account_id"), on="account_id", how="semi")
    joined = corroborated_links(pairs, settings).rename({"link": "value"})
    strong_links = joined.filter(~pl.col("weak")).select("account_id", "value")
    cores = _split_at_sparse_cuts(strong_links, _components(strong_links), settings)
    membership = _core_merges(pairs, cores, settings) if cores.height else cores
    membership = pl.concat([membership, _attached(pairs, membership, attaching)])
    membership = pl.concat([membership, _chained(pairs.join(membership.select("account_id"), on="account_id", how="anti"))])
    membership = membership.filter(pl.len().over("group") >= settings.min_accounts)
    # weak links (two weak values, a loose cohort) gather only accounts nothing stronger places: an operation that
    # shares nothing else, without bridging two that happen to use one disposable domain and one HTTP library
    loose = joined.filter(pl.col("weak")).join(membership.select("account_id"), on="account_id", how="anti")
    loose = loose.filter(pl.len().over("value") >= 2).select("account_id", "value")
    loose = _split_at_sparse_cuts(loose, _components(loose), settings)
    membership = pl.concat([membership, loose.filter(pl.len().over("group") >= settings.min_accounts)])
    if scored is None:
        return membership
    merges = _template_merges(pairs, membership, scored, rare, settings)
    return _merged(membership, merges) if merges.height else membership


#: Kinds of value by which a member takes part in what its group does: paying together, firing on one schedule,
#: asking in one template (:func:`participants`; a system prompt too when it is one deployment's, not a stock one).
PARTICIPATION_KINDS = ("pay", "tmpl", "frames", "cofire", "sync", "cohort", "made")


def participants(membership: pl.DataFrame, links: pl.DataFrame, scored: pl.DataFrame,
                 settings: RingSettings = RingSettings(), rare: pl.DataFrame | None = None) -> pl.DataFrame:
    """``membership`` without the members that take no part in their group: neither suspicious alone
    (``score_ignoring_volume`` under ``member_min_score``) nor sharing a value of :data:`PARTICIPATION_KINDS`
    or a distinctive system prompt (one deployment's: ``strong_min_rarity``) with another member; groups left
    under ``min_accounts`` go. A hydra's quiet members fire with it, pay with
    it or ask in its template; the ordinary users of the VPN exit and the HTTP library it uses do none of these.

    >>> membership = pl.DataFrame({"account_id": ["a", "b", "c", "d"], "group": ["g"] * 4})
    >>> links = pl.DataFrame({"account_id": ["a", "b", "c", "d", "a", "b", "c", "d"],
    ...                       "value": ["ip:203.0.113.0/24"] * 4 + ["pay:p1", "pay:p1", "pay:p1", "ua:lib"]})
    >>> scored = pl.DataFrame({"account_id": ["a", "b", "c", "d"], "score_ignoring_volume": [1.2, 0.3, 0.1, 0.3]})
    >>> participants(membership, links, scored)["account_id"].to_list()   # d shares a network and a client library only
    ['a', 'b', 'c']
    """
    if membership.height == 0 or "score_ignoring_volume" not in scored.columns:
        return membership
    alone = membership.join(scored.filter(_suspicious(settings.member_min_score)).select("account_id"), on="account_id", how="semi")
    rare = rare_values(links, settings) if rare is None else rare
    distinctive = rare.filter(pl.col("strong") & (_kind(pl.col("value")) == "sys")).select("value")
    together = (
        pl.concat([links.filter(_kind(pl.col("value")).is_in(PARTICIPATION_KINDS)), links.join(distinctive, on="value", how="semi")])
        .join(membership, on="account_id")
        .filter(pl.col("account_id").n_unique().over("group", "value") >= 2)
        .select("account_id", "group").unique()
    )
    kept = membership.join(pl.concat([alone.select("account_id", "group"), together]).unique(), on=["account_id", "group"], how="semi")
    return kept.filter(pl.len().over("group") >= settings.min_accounts)


def _chained(pairs: pl.DataFrame, rounds: int = 3) -> pl.DataFrame:
    """``(account_id, group)`` among accounts no link places: chains of single strong values (an address two
    of them share, another that two others share) in which every member shares two facts, one strong, with
    the rest of its chain. A ring that passes through residential addresses, two members at a time, shares no
    two facts between any two members; only the accounts nothing else explains are chained this way, so a
    chain cannot bridge two groups that corroborated links made."""
    pairs = pairs.with_columns(_fact(pl.col("value")).alias("fact"))
    membership = pl.DataFrame(schema={"account_id": pl.String, "group": pl.String})
    for _ in range(rounds):
        membership = _components(pairs.filter(pl.col("strong")).select("account_id", "value"))
        shared = pairs.join(membership, on="account_id").filter(pl.col("account_id").n_unique().over("group", "value") >= 2)
        keep = (
            shared.group_by("account_id").agg(pl.col("fact").n_unique().alias("facts"), pl.col("strong").any())
            .filter((pl.col("facts") >= 2) & pl.col("strong")).select("account_id")
        )
        kept = shared.join(keep, on="account_id").select(pairs.columns)
        done = kept.height == pairs.height
        pairs = kept
        if done:
            break
    return _components(pairs.filter(pl.col("strong")).select("account_id", "value"))


def _attached(pairs: pl.DataFrame, membership: pl.DataFrame, attaching: pl.DataFrame | None = None) -> pl.DataFrame:
    """``(account_id, group)`` for accounts no link places (of ``attaching``'s accounts, by default all) that
    share two facts, one strong, with one group's members taken together (an address with some, a template with
    others): each joins the group it shares the most facts with, and only one, so it bridges nothing."""
    if membership.height == 0:
        return membership
    facts = pairs.with_columns(_fact(pl.col("value")).alias("fact"))
    in_groups = facts.join(membership, on="account_id").select("value", "group").unique()
    candidates = facts if attaching is None else attaching.with_columns(_fact(pl.col("value")).alias("fact"))
    loose = candidates.join(membership.select("account_id"), on="account_id", how="anti")
    shared = (
        loose.join(in_groups, on="value")
        .group_by("account_id", "group").agg(pl.col("fact").n_unique().alias("facts"), pl.col("strong").any())
        .filter((pl.col("facts") >= 2) & pl.col("strong"))
        .sort("account_id", "facts", "group", descending=[False, True, False])
    )
    return shared.group_by("account_id", maintain_order=True).first().select("account_id", "group")


def active_minutes(events: pl.DataFrame) -> pl.DataFrame:
    """``(account_id, minute)`` of each minute an account sent a request in."""
    return events.select("account_id", pl.col("ts").dt.truncate("1m").alias("minute")).unique()


def member_activity(events: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """What ring evidence reads of the members' events: ``(account_id, minute)`` of each minute an
    account was active, and ``(account_id, h, n)``: requests per prompt (its identity, :func:`distillguard.features.text.prompt_identity`, hashed)."""
    minutes = active_minutes(events)
    tokens = pl.col("prompt_tokens") if "prompt_tokens" in events.columns else pl.lit(None, dtype=pl.Int64)
    prompts = (
        events.filter(pl.col("prompt").is_not_null())
        .group_by("account_id", prompt_identity(pl.col("prompt"), tokens).hash(seed=5).alias("h"))
        .agg(pl.len().cast(pl.Int64).alias("n"))
    )
    return minutes, prompts


#: Collective evidence that measures how much members add up to, not that they act together (``together_weights``).
SCALE_OF_TOGETHER = ("joint_coverage", "volume")
#: Collective evidence that strangers can show too: one template or system prompt (a library's, a tutorial's),
#: and extractors that repeat one template's rare wording (the quieter of them are the same extraction).
SHARED_BY_STRANGERS = ("shared_template", "alike_extractors")
#: Collective evidence of what members own together rather than do together: made on the same days, one network.
OWNED_TOGETHER = ("staged", "shared_network")
#: Link kinds that say members ask in one template: a skeleton they share, or the rare runs of its wording
#: repeated with the slots filled apart (:func:`frame_links`, :func:`cofiring_links`).
ONE_TEMPLATE = ("tmpl", "frames", "cofire")


def _chance_share(expected: np.ndarray, bar: np.ndarray) -> np.ndarray:
    """Of the minutes in which any member fires, the share in which ``bar`` or more do, by chance: members active
    independently, ``expected`` of them firing in a minute on average (Poisson).

    >>> _chance_share(np.array([0.36, 3.0]), np.array([2, 2])).round(2).tolist()   # four apps busy a tenth of the time; a busy crowd
    [0.17, 0.84]
    """
    from scipy.stats import poisson

    expected = np.clip(np.nan_to_num(expected.astype(float)), 1e-9, None)
    any_fires = poisson.sf(0, expected)
    return np.where(any_fires > 0, poisson.sf(bar.astype(float) - 1, expected) / any_fires, 0.0)


def ring_evidence(membership: pl.DataFrame, links: pl.DataFrame, scored: pl.DataFrame,
                  events: pl.DataFrame | tuple[pl.DataFrame, pl.DataFrame],
                  settings: RingSettings = RingSettings()) -> pl.DataFrame:
    """One row per group: collective evidence (``rev_<name>``, 0-1), ``points`` and ``kind``.

    ``events``: the members' events, or their :func:`member_activity` (from the per-account rollups).

    ``scored``: per account ``score``, ``points_purpose``, ``ev_downstream``,
    ``n_requests``, ``first_seen``, ``last_seen`` and optionally ``score_ignoring_volume``,
    ``created_at_account`` and ``beyond_a_bank`` (:func:`distillguard.models.policy.beyond_a_bank`).
    """
    if membership.height == 0:
        return pl.DataFrame(schema={"group": pl.String, "points": pl.Float64})
    if "score_ignoring_volume" in scored.columns:        # a member's few requests say little alone, the ring's many together
        scored = scored.with_columns(pl.col("score_ignoring_volume").clip(None, 1.5).alias("member_score"))
    else:
        scored = scored.with_columns(pl.col("score").alias("member_score"))
    scored = scored.with_columns(pl.lit(0.0).alias(c) for c in ("ev_rerun", "ev_one_sitting", "ev_coverage", "prompt_growth", "beyond_a_bank")
                                 if c not in scored.columns)
    # unknown asks (no policy evidence given) are not held against a shared template
    scored = scored.with_columns(pl.lit(1.0).alias(c) for c in ("ev_elicitation", "ev_sampling") if c not in scored.columns)
    cols = ["account_id", "member_score", "points_purpose", "ev_downstream", "ev_rerun", "ev_one_sitting", "ev_coverage", "prompt_growth",
            "beyond_a_bank", "ev_elicitation", "ev_sampling", "n_requests", "first_seen", "last_seen"]
    created = "created_at_account" in scored.columns
    members = membership.join(scored.select(cols + (["created_at_account"] if created else [])), on="account_id", how="left")
    base = members.group_by("group").agg(
        pl.len().alias("n_accounts"),
        pl.col("member_score").fill_null(0.0).mean().alias("mean_score"),
        # what members take, from whichever purpose families speak (reasoning, depth, sampling, coverage): no one
        # habit has to be present for a group to be harvesting (what speaks against it is in the members' score)
        pl.col("points_purpose").fill_null(0.0).mean().alias("mean_purpose"),
        pl.col("ev_rerun").fill_null(0.0).mean().alias("mean_rerun"),
        pl.col("ev_one_sitting").fill_null(0.0).mean().alias("mean_sitting"),
        pl.col("beyond_a_bank").fill_null(0.0).mean().alias("mean_beyond_bank"),
        # what only a distiller asks for: reasoning traces, grades, fixed formats, log-probabilities, several samples
        pl.max_horizontal(pl.col("ev_elicitation").fill_null(0.0), pl.col("ev_sampling").fill_null(0.0)).mean().alias("mean_asks"),
        pl.col("ev_coverage").fill_null(0.0).mean().alias("mean_coverage"),
        pl.col("prompt_growth").fill_null(0.0).mean().alias("mean_growth"),
        pl.col("ev_downstream").fill_null(0.0).median().alias("median_downstream"),
        pl.col("n_requests").fill_null(0).sum().alias("n_requests"),
        pl.col("first_seen").min(), pl.col("last_seen").max(),
        # the middle half of the members' creation times: a ring that mixes bought, aged accounts into a
        # batch of fresh ones is still staged; a campus or a company's accounts spread over years
        *([((pl.col("created_at_account").quantile(0.75, "nearest") - pl.col("created_at_account").quantile(0.25, "nearest"))
            .dt.total_seconds() / 3600.0).alias("creation_spread_hours"), pl.col("created_at_account").count().alias("n_created")] if created else
          [pl.lit(None, dtype=pl.Float64).alias("creation_spread_hours"), pl.lit(0).alias("n_created")]),
    )
    shared = (
        links.join(membership, on="account_id")
        .filter(pl.col("account_id").n_unique().over("group", "value") >= 2)
        .with_columns(_kind(pl.col("value")).alias("kind"))
    )
    sharing = shared.group_by("group").agg(
        pl.col("account_id").filter(pl.col("kind") == "pay").n_unique().alias("n_paying_together"),
        # sent together: a system prompt or skeleton they share, or one template's wording fired in the same bursts
        # (its frames alone do not count here: a lab's accounts run one evaluation harness, each in its own sittings)
        pl.col("account_id").filter(pl.col("kind").is_in(["sys", "tmpl", "cofire"])).n_unique().alias("n_templated_together"),
        # one template, for a sharded sweep: a skeleton they share, or its rare runs of wording repeated with the slots filled apart
        pl.col("account_id").filter(pl.col("kind").is_in(ONE_TEMPLATE)).n_unique().alias("n_one_template"),
        pl.col("account_id").filter(pl.col("kind") == "cofire").n_unique().alias("n_cofiring"),
        pl.col("account_id").filter(pl.col("kind").is_in(["ip", "signup"])).n_unique().alias("n_networked_together"),
    )
    minutes, prompt_counts = events if isinstance(events, tuple) else member_activity(events)
    tied = sharing.filter((pl.col("n_paying_together") > 0) | (pl.col("n_networked_together") > 0)).select("group", pl.lit(True).alias("tied"))
    activity = (
        minutes
        .join(membership, on="account_id")
        # a member busy in most minutes of a span of hours (a batch job, a production integration) fires with
        # everyone: among accounts that nothing but a template or a cohort ties (no card, no network), it has no
        # schedule to share (``sync_max_busy``, as for synchronised pairs); a burst of minutes has one. Accounts on
        # one card or network running around the clock together are one operation's parallel workers.
        .join(tied, on="group", how="left")
        .with_columns(((pl.col("minute").max() - pl.col("minute").min()).over("account_id").dt.total_minutes() + 1).alias("span"))
        .filter(pl.col("tied").fill_null(False) | (pl.col("span") < settings.busy_span_minutes)
                | (pl.len().over("account_id") <= settings.sync_max_busy * pl.col("span")))
        .group_by("group", "minute").agg(pl.len().alias("firing"))
        .join(base.select("group", "n_accounts"), on="group")
    )
    together_bar = pl.max_horizontal(pl.lit(2), (pl.col("n_accounts") / 3).ceil())
    span = (pl.col("minute").max() - pl.col("minute").min()).dt.total_minutes() + 1
    activity = activity.group_by("group").agg(
        (pl.col("firing") >= together_bar).mean().alias("synchronised_share"),
        # what chance gives: members active independently, each in its share of the group's span (member-minutes over
        # the span fire in a minute on average), fire a third at once in this share of the minutes any fires (two of
        # three apps busy all day do so often; one scheduler's bursts far more)
        (pl.col("firing").sum() / span).alias("expected_firing"), together_bar.first().alias("together_bar"))
    activity = activity.with_columns(pl.Series("chance_share", _chance_share(activity["expected_firing"].to_numpy(),
                                                                             activity["together_bar"].to_numpy()), dtype=pl.Float64)
                                        ).select("group", "synchronised_share", "chance_share")
    prompts = (
        prompt_counts
        .join(membership, on="account_id")
        .group_by("group", "h").agg(pl.col("account_id").n_unique().alias("askers"), pl.col("n").sum())
        .group_by("group").agg(pl.len().alias("joint_distinct"), pl.col("n").sum().alias("joint_prompts"),
                               # of the times members ask a prompt again, the share on prompts no other member asks (their own slice)
                               ((pl.col("n") - 1).filter(pl.col("askers") == 1).sum() / (pl.col("n") - pl.col("askers")).sum()).alias("own_reask_share"))
    )
    w, s = settings.weights, settings
    frame = (
        base.join(sharing, on="group", how="left").join(activity, on="group", how="left").join(prompts, on="group", how="left")
        .with_columns((pl.col("joint_distinct") / pl.col("joint_prompts")).alias("joint_novelty"))    # null: no prompt logged
        .with_columns(
            (ramp(pl.col("n_one_template").fill_null(0) / pl.col("n_accounts"), s.template_share)
             * log_ramp(pl.col("joint_distinct"), s.sweep_distinct_log10)
             * pl.max_horizontal(ramp(pl.col("joint_novelty"), s.joint_novelty), ramp(pl.col("mean_growth"), s.sweep_growth))
             ).fill_null(0.0).alias("rev_sharded_sweep"))
        .with_columns(
            (pl.col("mean_purpose") + s.sweep_weight * (pl.col("rev_sharded_sweep") - pl.col("mean_coverage")).clip(0.0, None))
            .alias("ring_purpose"))
        .with_columns(
            ramp(pl.col("mean_score"), s.members_score).alias("rev_members"),
            ramp(pl.col("ring_purpose"), s.purpose_points).alias("rev_purpose"),
            ramp(pl.col("n_paying_together").fill_null(0) / pl.col("n_accounts"), s.payment_share).alias("rev_payment"),
            pl.when(pl.col("n_created") >= 3)
            .then(1.0 - ramp(pl.col("creation_spread_hours"), s.staged_hours)).otherwise(0.0).alias("rev_staged"),
            # one schedule: minutes in which a third of the members fire, or members firing in the same bursts
            pl.max_horizontal(ramp(pl.col("synchronised_share") - pl.col("chance_share").fill_null(0.0), s.synchronised),
                              ramp(pl.col("n_cofiring").fill_null(0) / pl.col("n_accounts"), s.cofiring_share)).alias("rev_synchronised"),
            # a template strangers share too (a starter app's system prompt, a public template) is one operation's as far as its
            # members ask for what only distillation asks for (``template_asks``): products built from one starter take long
            # answers to growing prompt sets as well, but not reasoning traces, grades or many samples. One template fired
            # in the same bursts is sent together whatever the members ask
            pl.max_horizontal(ramp(pl.col("n_cofiring").fill_null(0) / pl.col("n_accounts"), s.template_share),
                              ramp(pl.col("n_templated_together").fill_null(0) / pl.col("n_accounts"), s.template_share)
                              * ramp(pl.col("mean_asks"), s.template_asks)).alias("rev_shared_template"),
            # members that are extractors alone, asking in one template's rare wording: the quieter ones are the same extraction
            (ramp(pl.col("mean_score"), s.members_alone)
             * ramp(pl.col("n_one_template").fill_null(0) / pl.col("n_accounts"), s.template_share)).alias("rev_alike_extractors"),
            ramp(pl.col("n_networked_together").fill_null(0) / pl.col("n_accounts"), s.network_share).alias("rev_shared_network"),
            (log_ramp(pl.col("joint_distinct"), s.joint_distinct_log10)
             * ramp(pl.col("joint_novelty"), s.joint_novelty)).fill_null(0.0).alias("rev_joint_coverage"),
            log_ramp(pl.col("n_requests"), s.volume_log10).alias("rev_volume"),
            # counter-evidence: members ask each other's prompts again and again (one bank re-run), as an evaluation does,
            # unless what they ask again is beyond one evaluation's bank (members' mean ``beyond_a_bank``, the policy's: they
            # sample it at many temperatures, or it is larger than any evaluation's): samples of a harvest spread over
            # accounts. A group whose prompts were not logged says nothing here
            pl.when(pl.col("joint_novelty").is_not_null())
            .then((1.0 - ramp(pl.col("joint_novelty"), s.bank_reuse_novelty)) * (1.0 - pl.col("mean_beyond_bank")))
            .otherwise(0.0).alias("rev_bank_reuse"),
        )
        # disjoint shards of one sweep are what the members take together when what they take is a distiller's:
        # behaviour, not only acting together (a busy team asks as many distinct prompts, for its own purposes)
        .with_columns((pl.col("rev_joint_coverage") * pl.col("rev_purpose")).alias("rev_joint_harvest"))
    )
    # what members do at once (a card, a schedule) is acting together, and so, more weakly, is a template they
    # share (strangers share one too); what they add up to (joint coverage, combined volume) is only the scale of
    # it, and counts no more than what they demonstrably do at once
    weighted = {name: weight * pl.col(f"rev_{name}") for name, weight in settings.together_weights.items()}
    at_once = pl.sum_horizontal([e for name, e in weighted.items() if name not in SCALE_OF_TOGETHER + SHARED_BY_STRANGERS + OWNED_TOGETHER])
    shared_template = pl.sum_horizontal([e for name, e in weighted.items() if name in SHARED_BY_STRANGERS])
    scale = pl.sum_horizontal([e for name, e in weighted.items() if name in SCALE_OF_TOGETHER])
    # what members merely own together (a creation day, a network: a campus, a company, a hackathon has both) counts
    # beyond ``owned_alone_cap`` only as far as they also act together (one wallet, one schedule, one template, a sweep),
    # and that allowance alone does not make what they add up to count
    owned = pl.sum_horizontal([e for name, e in weighted.items() if name in OWNED_TOGETHER])
    acting = at_once + shared_template + settings.sweep_weight * pl.col("rev_sharded_sweep")
    owned = pl.min_horizontal(owned, settings.owned_alone_cap + acting)
    together = at_once + owned + shared_template + pl.min_horizontal(scale, at_once + (owned - settings.owned_alone_cap).clip(0.0, None))
    # members re-asking their own prompts is no bank re-run when their prompts are one list cut into a slice per member, sent
    # in one template (a harvest spread over accounts, each slice asked again for more samples) and worked for hours and days,
    # not in one sitting each: evaluators re-run one bank, or each run their slice of one once
    frame = frame.with_columns(
        (pl.col("rev_shared_template") * ramp(pl.col("own_reask_share").fill_nan(None).fill_null(0.0), settings.sliced_list)
         * (1.0 - ramp(pl.col("mean_sitting"), settings.sliced_sitting))).alias("sliced_list"))
    # counter-evidence: the group re-runs one bank (members re-ask their own prompts, or ask each other's, or each
    # sits once through a modest bank). The three signs are read apart, so each adds to what the others leave:
    # 1 - (1 - a)(1 - b)(1 - c), one sign in full is the full counter, two halves are three quarters of it
    # The members' own signs (re-running, one sitting each) are in their scores already: members that are extractors
    # alone after them (``members_alone``) do not lose them again as a group. Asking each other's prompts is the group's.
    # The signs are kept as columns, so the ring's reasons read them as the points do.
    alone = 1.0 - ramp(pl.col("mean_score"), s.members_alone)
    frame = frame.with_columns(
        (ramp(pl.col("mean_rerun"), settings.members_rerun) * (1.0 - pl.col("sliced_list")) * alone).alias("sign_rerun"),
        (ramp(pl.col("mean_sitting"), settings.members_sitting) * alone).alias("sign_sitting"))
    unexplained = pl.lit(1.0)
    for sign in ("sign_rerun", "rev_bank_reuse", "sign_sitting"):
        unexplained = unexplained * (1.0 - pl.col(sign))
    rerun = settings.rerun_weight * (1.0 - unexplained)
    behaviour = pl.sum_horizontal([weight * pl.col(f"rev_{name}") for name, weight in w.items()])
    points = behaviour.clip(None, settings.behaviour_cap) + together.clip(None, settings.together_cap) - rerun
    kind = pl.when(pl.col("median_downstream") >= s.reseller_downstream).then(pl.lit("reseller")).otherwise(pl.lit("coordinated"))
    return frame.with_columns(points.alias("points"), kind.alias("kind")).sort("group")


def ring_id_for(members: list[str]) -> str:
    """Stable id: derived from the ring's earliest-sorting member, so re-runs keep the id."""
    return "ring-" + hashlib.md5(min(members).encode()).hexdigest()[:10]


#: Kinds of value that are a proxy operator's own (its egress, its card, where it signed up, its mail domain), not its
#: customers' (the system prompts and clients it forwards, which customers send through other proxies too).
PROXY_OWN_KINDS = ("ip", "signup", "pay", "mail")


def proxy_rings(links: pl.DataFrame, scored: pl.DataFrame, taken: set[str], bar: float,
                settings: RingSettings = RingSettings(), rare: pl.DataFrame | None = None) -> tuple[list[dict], pl.DataFrame]:
    """Reseller rings of one or two accounts, as ``(ring rows, ring_members)``: accounts no ring holds (not in
    ``taken``) whose own score reaches ``bar`` and whose traffic is a proxy's (``ev_downstream`` of
    ``proxy_ring_downstream`` or more: many customers' system prompts or clients behind one account), grouped by
    a rare value of the operator's own (:data:`PROXY_OWN_KINDS`: an egress address, a card) that two of them share.
    A reseller that runs on one account or two is under ``min_accounts``, so no linked group holds it; the
    downstream customers it fronts are the ring.

    >>> scored = pl.DataFrame({"account_id": ["p1", "p2", "p3", "app"], "ev_downstream": [0.9, 0.8, 1.0, 0.0],
    ...     "score": [1.4, 1.2, 1.3, 1.5], "n_system_prompts": [40, 38, 50, 1], "n_client_styles": [35, 30, 2, 1],
    ...     "n_user_agents": [12, 10, 1, 1], "n_end_users": [300, 250, 400, 0], "n_requests": [9000, 7000, 5000, 5000],
    ...     "first_seen": [None] * 4, "last_seen": [None] * 4})
    >>> links = pl.DataFrame({"account_id": ["p1", "p2", "p3", "p1", "p2"] + [f"x{i}" for i in range(30)],
    ...                       "value": ["ip:203.0.113.7"] * 2 + ["ip:198.51.100.1", "sys:c1", "sys:c1"] + [f"ip:192.0.2.{i}" for i in range(30)]})
    >>> rows, members = proxy_rings(links, scored, set(), 1.0)
    >>> sorted((r["kind"], r["n_accounts"]) for r in rows), members.sort("account_id")["account_id"].to_list()
    ([('reseller', 1), ('reseller', 2)], ['p1', 'p2', 'p3'])
    """
    empty = pl.DataFrame(schema={"ring_id": pl.String, "account_id": pl.String})
    if "ev_downstream" not in scored.columns or scored.height == 0:
        return [], empty
    proxies = scored.filter((pl.col("ev_downstream").fill_null(0.0) >= settings.proxy_ring_downstream) & (pl.col("score") >= bar)
                            & ~pl.col("account_id").is_in(list(taken)))
    if proxies.height == 0:
        return [], empty
    own = (links.filter(_kind(pl.col("value")).is_in(PROXY_OWN_KINDS))
           .join((rare_values(links, settings) if rare is None else rare)
                 .filter(pl.col("strong") | (_kind(pl.col("value")) == "mail")).select("value"), on="value")
           .join(proxies.select("account_id"), on="account_id")
           .filter(pl.len().over("value") >= 2).select("account_id", "value"))
    alone = proxies.select("account_id", pl.format("self:{}", pl.col("account_id")).alias("value"))
    groups = _components(pl.concat([own, alone]))
    rows: list[dict] = []
    member_rows: list[dict] = []
    for _, group in groups.join(proxies, on="account_id").sort("account_id").group_by("group", maintain_order=True):
        members = group["account_id"].to_list()
        ring_id = ring_id_for(members)
        n = len(members)
        count = {name: int(group[name].fill_null(0).sum()) for name in ("n_system_prompts", "n_client_styles", "n_user_agents", "n_end_users")}
        score, downstream = (float(np.mean(group[name].cast(pl.Float64).fill_null(0.0).to_numpy())) for name in ("score", "ev_downstream"))
        shared = own.filter(pl.col("account_id").is_in(members)).group_by("value").len().filter(pl.col("len") >= 2).sort("value")
        reasons = [
            f"{n} account{'s' if n > 1 else ''} judged a reseller/proxy service fronting many downstream clients on "
            f"{'their' if n > 1 else 'its'} own traffic (account score {score:.2f}, bar {bar:.2f}): "
            "the customers it fronts are the ring",
            f"{count['n_system_prompts']} distinct system prompts, {count['n_client_styles']} client styles and "
            f"{count['n_user_agents']} user agents behind {'them' if n > 1 else 'it'}, {count['n_end_users']} end users named "
            f"(downstream evidence {downstream:.2f}; a proxy from {settings.proxy_ring_downstream:.2f})",
        ] + [f"{h} of {n} accounts share {_value_label(v)}" for v, h in shared.iter_rows()]
        rows.append({
            "ring_id": ring_id, "kind": "reseller", "n_accounts": n, "score": round(score, 4),
            "reasons": "\n".join(reasons), "n_requests": int(group["n_requests"].sum()),
            "first_seen": group["first_seen"].min(), "last_seen": group["last_seen"].max(),
            "shared": {"values": [{"value": v, "holders": h} for v, h in shared.iter_rows()], "synchronised_minute_share": None,
                       "creation_spread_hours": None, "evidence": {"downstream": round(downstream, 3)}},
        })
        member_rows.extend({"ring_id": ring_id, "account_id": a} for a in members)
    return rows, pl.DataFrame(member_rows, schema={"ring_id": pl.String, "account_id": pl.String})


#: Link kinds the ring reasons describe in sentences of their own (staged creation, synchronised activity,
#: shared prompt frames), not as a shared value.
OWN_REASON_KINDS = ("made", "sync", "frames", "cofire")


def _value_label(value: str) -> str:
    kind, _, raw = value.partition(":")
    names = {"ip": "client IP", "sys": "system prompt", "pay": "payment fingerprint", "mail": "e-mail domain",
             "signup": "signup network", "tmpl": "prompt template", "ua": "user agent",
             "cohort": "cohort (suspicious accounts of one e-mail domain with a creation window or a prompt template, "
                       "of one system prompt with a prompt template, or of one rare prompt template)"}
    shown = raw if len(raw) <= 60 else raw[:57] + "..."
    if kind == "ip" and "/" in raw:
        return f"client network {shown!r}"
    if kind == "suspects":          # a loose cohort (suspect_links): the template or system prompt they share
        template = raw.startswith("#")
        return (f"prompt template \"{shown[1:]}\"" if template else f"system prompt {shown!r}") + " (a loose cohort of somewhat suspicious accounts)"
    return f"{names.get(kind, kind)} {shown!r}" if kind != "tmpl" else f"prompt template \"{shown}\""


def describe_rings(evidence: pl.DataFrame, membership: pl.DataFrame, links: pl.DataFrame, scored: pl.DataFrame,
                   settings: RingSettings = RingSettings()) -> tuple[list[dict], pl.DataFrame]:
    """The groups whose collective evidence reaches the bar, as ``(ring rows, ring_members)``, with reasons.
    ``membership`` may hold fewer members than ``evidence`` judged (:func:`participants`); a group it lacks is no ring."""
    rings = evidence.filter((pl.col("points") >= settings.flag_points) & pl.col("group").is_in(membership["group"].unique().to_list()))
    ring_rows: list[dict] = []
    member_rows: list[dict] = []
    by_group = dict(membership.group_by("group").agg("account_id").iter_rows())
    for r in rings.iter_rows(named=True):
        members = sorted(by_group[r["group"]])
        ring_id = ring_id_for(members)
        n = len(members)
        shared = (
            links.filter(pl.col("account_id").is_in(members) & ~_kind(pl.col("value")).is_in(OWN_REASON_KINDS))
            .group_by("value").agg(pl.len().alias("holders"))
            .filter(pl.col("holders") >= 2)
            .sort("holders", "value", descending=[True, False])
        )
        kind = r["kind"]
        reasons = [
            f"{n} accounts ({r['n_requests']:,} requests together) judged to act as one "
            f"{'reseller/proxy service fronting many downstream clients' if kind == 'reseller' else 'coordinated extraction operation'} "
            f"(collective evidence {r['points']:.2f}, ring bar {settings.flag_points:.2f})",
        ]
        for value, holders in shared.head(4).iter_rows():
            reasons.append(f"{holders} of {n} members share {_value_label(value)}")
        if r["n_accounts"] > n:
            reasons.append(f"{r['n_accounts'] - n} more accounts linked to them are left out: neither suspicious alone nor paying, firing "
                           "or asking with the members (bystanders on the same networks or clients); the evidence counts them")
        framed = links.filter(pl.col("account_id").is_in(members) & (_kind(pl.col("value")) == "frames"))["account_id"].n_unique()
        if framed:
            reasons.append(f"{framed} of {n} members repeat the same rare runs of prompt wording (one template, its slots filled apart)")
        cofiring = links.filter(pl.col("account_id").is_in(members) & (_kind(pl.col("value")) == "cofire"))["account_id"].n_unique()
        if cofiring:
            reasons.append(f"{cofiring} of {n} members fire in the same bursts of {settings.cofire_bucket_minutes} minutes and fill "
                           "the same rare prompt wording: one scheduler and one template, however few requests each")
        if r["rev_staged"] > 0 and r["creation_spread_hours"] is not None:
            reasons.append(f"staged creation: the middle half of the members' accounts created within {r['creation_spread_hours']:.0f} hours")
        if r["rev_synchronised"] > 0 and r["synchronised_share"]:
            reasons.append(f"synchronised activity: in {100 * r['synchronised_share']:.0f}% of active minutes a third or more of the members fire "
                           f"together (members active independently would in {100 * (r['chance_share'] or 0.0):.0f}%)")
        if r["rev_joint_coverage"] > 0:
            reasons.append(f"jointly a sweep: {r['joint_distinct']:,} distinct prompts across the members, "
                           f"{100 * r['joint_novelty']:.0f}% of all they sent (each covers its own slice)")
        if r["mean_rerun"] > settings.members_rerun[0] and r["sliced_list"] > 0:
            reasons.append(f"members each re-ask a slice of one list: {100 * r['own_reask_share']:.0f}% of their re-asks are of prompts no "
                           "other member asks, sent in one template and worked over hours and days (one harvest spread over accounts, "
                           f"each slice asked again for more samples), so their re-asking weighs {100 * r['sliced_list']:.0f}% less as a bank re-run")
        if r["sign_rerun"] > 0 or r["rev_bank_reuse"] > 0:      # the counter is taking points away
            distinct = f"{100 * r['joint_novelty']:.0f}%" if r["joint_novelty"] is not None else "unknown (prompts not logged)"
            reasons.append(f"weighs against: members re-run one bank of prompts ({distinct} of the prompts they sent are distinct; "
                           f"mean re-run evidence {r['mean_rerun']:.2f}), as evaluations do")
        if r["rev_sharded_sweep"] > 0:
            reasons.append(f"a sharded sweep: members follow one prompt template and ask {r['joint_distinct']:,} distinct prompts together, "
                           f"a space none covers alone (counted as their purpose: {r['ring_purpose']:.2f} points against their own mean "
                           f"{r['mean_purpose']:.2f})")
        if r["sign_sitting"] > 0:      # the counter is taking points away
            reasons.append(f"weighs against: the members' windows are each one sitting of modest size (mean one-sitting evidence "
                           f"{r['mean_sitting']:.2f}), as evaluation runs are")
        if r["rev_purpose"] > 0:
            reasons.append(f"members take what a distiller trains on (mean purpose points {r['mean_purpose']:.2f}: "
                           "reasoning, long answers, sampling or a growing prompt set)")
        if kind == "reseller":
            prompts = scored.filter(pl.col("account_id").is_in(members))["n_system_prompts"].fill_null(0).sum()
            reasons.append(f"{prompts:,} distinct system prompts across the members: many unrelated downstream customers behind shared egress")
        reasons.append(f"members' mean account score {r['mean_score']:.2f} judged on their behaviour alone, whatever their volume "
                       "(1.00 flags an account with enough requests)")
        ring_rows.append({
            "ring_id": ring_id, "kind": kind, "n_accounts": n, "score": round(r["points"] / settings.flag_points, 4),
            "reasons": "\n".join(reasons), "n_requests": int(r["n_requests"]),
            "first_seen": r["first_seen"], "last_seen": r["last_seen"],
            "shared": {"values": [{"value": v, "holders": h} for v, h in shared.head(20).iter_rows()],
                       "synchronised_minute_share": r["synchronised_share"], "creation_spread_hours": r["creation_spread_hours"],
                       "evidence": {k[4:]: round(float(v or 0.0), 3) for k, v in r.items() if k.startswith("rev_")}},
        })
        member_rows.extend({"ring_id": ring_id, "account_id": a} for a in members)
    return ring_rows, pl.DataFrame(member_rows, schema={"ring_id": pl.String, "account_id": pl.String})
