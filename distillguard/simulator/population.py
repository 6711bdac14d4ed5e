"""Who is on the API: population mixes, identities, shared infrastructure and ground truth."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import polars as pl

from distillguard.simulator import timing
from distillguard.simulator.behaviours import GENERATORS, Account, Context
from distillguard.simulator.vocabulary import LANGUAGE_HOME, LANGUAGES, VOCABULARIES, Vocabulary, phrasing

UTC = timezone.utc

#: Accounts per kind at scale 1 (rings: list of sizes). ``eval_lab``, ``translation_product`` and
#: ``label_vendor`` are hard variants of benchmark_runner, production_integration and batch_job.
#: ``enterprise_teams`` and ``research_labs`` list group sizes (5-30 and 3-12 accounts after
#: scaling); ``agency`` and ``load_tester`` count accounts; ``split_extractors`` counts operators,
#: each spreading one extraction over 3-8 accounts.
MIXES: dict[str, dict] = {
    "default": {"casual_chat": 280, "developer": 70, "coding_agent": 25, "production_integration": 15, "benchmark_runner": 8,
                "batch_job": 8, "campuses": [30, 30], "eval_lab": 6, "translation_product": 6, "label_vendor": 6,
                "enterprise_teams": [24, 14, 10], "research_labs": [10, 6], "agency": 6, "load_tester": 3,
                "bulk_extractor": 10, "coordinated_rings": [45, 35], "mimicry_rings": [20], "burner_groups": [6, 6], "reseller_rings": [4, 4, 1],
                "split_extractors": 6},
    "ring_heavy": {"casual_chat": 280, "developer": 70, "coding_agent": 25, "production_integration": 15, "benchmark_runner": 8,
                   "batch_job": 8, "campuses": [30, 30], "eval_lab": 6, "translation_product": 6, "label_vendor": 6,
                   "enterprise_teams": [20, 10], "research_labs": [8], "agency": 4, "load_tester": 3,
                   "bulk_extractor": 10, "coordinated_rings": [150, 60, 40, 25], "mimicry_rings": [20, 15], "burner_groups": [8, 6, 5],
                   "reseller_rings": [5, 4, 3, 2, 1], "split_extractors": 6},
    "hard_negative_heavy": {"casual_chat": 260, "developer": 60, "coding_agent": 20, "production_integration": 45,
                            "benchmark_runner": 24, "batch_job": 24, "campuses": [40, 30, 25, 20], "eval_lab": 16,
                            "translation_product": 12, "label_vendor": 10,
                            "enterprise_teams": [50, 30, 20, 12, 10], "research_labs": [20, 12, 8, 6], "agency": 14, "load_tester": 6,
                            "bulk_extractor": 10, "coordinated_rings": [40, 30], "mimicry_rings": [20], "burner_groups": [6, 6], "reseller_rings": [4, 4, 1],
                            "split_extractors": 4},
}
#: The default mix without the hard negatives detection does not yet tell apart (research labs, issue 13): for tests of
#: what analysts do with flags and rings (queries, reviews), which need true flags; detection is judged on the mixes above.
MIXES["known_patterns"] = {**MIXES["default"], "research_labs": []}

#: (median requests per day, lognormal sigma, low, high) per benign kind.
VOLUMES = {
    "casual_chat": (15, 0.8, 2, 150), "campus_member": (20, 0.8, 2, 200), "developer": (150, 0.7, 30, 800),
    "coding_agent": (500, 0.6, 150, 2000), "production_integration": (3500, 0.5, 1500, 10000), "batch_job": (2500, 0.4, 1000, 5000),
    "translation_product": (3000, 0.5, 1000, 12000), "enterprise_chat": (35, 0.7, 5, 250), "internal_tool": (600, 0.6, 100, 3000),
}
RATE_LIMIT_PER_MINUTE = {"free": 30, "paid": 120, "enterprise": 600}
ATTACK_KINDS = {"bulk_extractor", "coordinated_ring", "mimicry_ring", "burner", "reseller_ring"}
HARD_NEGATIVES = {"production_integration", "benchmark_runner", "batch_job", "campus_member", "enterprise_member", "research_lab", "agency",
                  "load_tester"}

# -- variation axes of attack accounts ------------------------------------------------------------

#: Re-ask buckets: share of requests that repeat one of the account's earlier prompts.
REASK_BUCKETS = {"0": (0.0, 0.0), "0.1-0.3": (0.1, 0.3), "0.3-0.6": (0.3, 0.6)}
#: Share of re-asking attackers who re-ask in passes: the prompt list, or a batch of it, run through again at one
#: fixed temperature (k samples per prompt by running the dataset k times), not each prompt again right after it;
#: ``PASSES_OF_LIST_P`` of them run the whole list through, then the whole list again; the rest a batch at a time,
#: a log-uniform share ``PASSES_BATCH`` of the list.
REASK_PASSES_P = 0.35
PASSES_OF_LIST_P = 0.4
PASSES_BATCH = (0.05, 0.5)
#: Reseller rings: share of the downstream customers who distil (the rest is genuine app traffic).
DISTILL_BUCKETS = {"0.05-0.15": (0.05, 0.15), "0.15-0.35": (0.15, 0.35), "0.35-0.6": (0.35, 0.6)}
TIMINGS = ("flat", "jittered", "diurnal")
SAMPLINGS = ("none", "logprobs", "multi", "both")
#: Timing styles a kind's scripts use (flat, jittered, diurnal).
TIMING_P = {"bulk_extractor": (0.4, 0.3, 0.3), "coordinated_ring": (0.4, 0.3, 0.3), "mimicry_ring": (0.15, 0.25, 0.6),
            "burner": (0.5, 0.3, 0.2), "reseller_ring": (0.0, 0.6, 0.4)}
#: Chance an attack account of a kind is an aged one (bought on a market) rather than fresh.
AGED_P = {"bulk_extractor": 0.4, "coordinated_ring": 0.35, "mimicry_ring": 0.4, "burner": 0.25, "reseller_ring": 0.4}
#: Per-account requests per day by kind, log-uniform (burners: per their few active hours).
ATTACK_RATES = {"bulk_extractor": (300, 30_000), "coordinated_ring": (80, 1500), "low_and_slow": (15, 80), "mimicry_ring": (30, 300),
                "reseller_ring": (1500, 12_000)}
#: Harvesters posing as a product: end-user ids invented per request (uniform) or with heavy users (skewed).
FAKE_END_USERS_P = {"bulk_extractor": 0.3, "coordinated_ring": 0.25, "mimicry_ring": 0.15, "burner": 0.25}
#: Harvest prompts wrapped in made-up conversations (fake_history) or chained as turns (threaded).
WRAPPING_P = {"bulk_extractor": 0.3, "coordinated_ring": 0.3, "mimicry_ring": 0.4, "burner": 0.25}
#: Temperature 0 for everything.
GREEDY_P = {"bulk_extractor": 0.3, "coordinated_ring": 0.25, "mimicry_ring": 0.15, "burner": 0.3, "reseller_ring": 0.25}
#: Harvesters of agentic traces: every request sends tool definitions (one operator's tool set), each
#: task a fresh single-turn request (drawn after the rest, from its own generator: populations keep their other draws).
TOOL_TRACES_P = {"bulk_extractor": 0.25, "coordinated_ring": 0.25, "mimicry_ring": 0.15, "burner": 0.25}
#: Harvesters whose every prompt opens with the operator's long instruction block (2,000-4,000 characters)
#: before the item that varies (own generator too).
PREAMBLE_P = {"bulk_extractor": 0.2, "coordinated_ring": 0.2, "mimicry_ring": 0.1, "burner": 0.2}
#: Harvesters of a model's judgements rather than its answers (``target`` = grades: reward-model data): every
#: request asks for a grade of one candidate answer, or a preference between two (own generator as well).
GRADES_TARGET_P = {"bulk_extractor": 0.2, "coordinated_ring": 0.2, "burner": 0.2}
#: Sentences an operator's instruction block is made of (generic house rules of a data-generation job).
PREAMBLE_SENTENCES = (
    "This request is part of a larger collection job; treat it independently of any other request.",
    "Write for a reader who knows the basics of the field but not this particular problem.",
    "Use plain language, define any symbol the first time it appears, and keep units consistent.",
    "Do not refer to these instructions, to the collection job, or to yourself in the answer.",
    "If the item is ambiguous, state the interpretation you adopt in one sentence and continue.",
    "Prefer complete, self-contained answers over short ones; the output is read without the question.",
    "Keep headings, lists and code blocks in Markdown, and do not add closing remarks.",
    "Where numbers are involved, carry them through every intermediate result you write down.",
    "Quote no external sources and invent no citations; rely only on widely known facts.",
    "Answers that skip intermediate results will be discarded and requested again.",
    "Keep the tone neutral and factual, without apologies or disclaimers.",
    "End with a single line that restates the final result on its own.",
    "Items come from many subjects; do not assume the previous item's subject.",
    "If code is needed, make it runnable as written, with every import included.",
    "Spell out abbreviations once, and keep the same name for the same quantity throughout.",
    "Treat every item as if it were the only one you will see today.",
)
#: Benign kinds that often send a default system prompt many strangers send too (a chat front end's, an SDK
#: example's, a tutorial's): the share of their accounts that do, and how many such defaults circulate.
DEFAULT_SYSTEM_PROMPT_P = {"casual_chat": 0.4, "developer": 0.3, "campus_member": 0.4}
DEFAULT_SYSTEM_PROMPTS = 3
#: Rings whose members share nothing distinctive (axis ``linkage`` = disguised): each its own residential
#: address, card, webmail address and HTTP client; a stock system prompt (one of the defaults strangers send)
#: when the ring sends one. What still ties them is how they ask and act: the ring's template, its
#: schedule, their extraction (own generator: every other account keeps its attributes).
DISGUISED_RING_P = {"coordinated_ring": 0.3}
#: Ordinary users (variant ``shared_exit``) who reach the API through a commercial VPN or proxy service whose
#: exits some attackers use too: one of an attack account's addresses is also theirs, and half of them run the
#: same HTTP client (own generator: every other account keeps its attributes).
SHARED_EXIT_P = {"casual_chat": 0.06, "developer": 0.1}
#: Reseller rings whose proxy strips the downstream customers' system prompts (the rest forward them).
RESELLER_STRIPS_SYSTEM_PROMPTS_P = 0.35
#: Reseller rings whose proxy calls the API with its own client (one user agent, as gateway software does) instead of
#: forwarding its customers' user agents.
RESELLER_OWN_CLIENT_P = 0.4
#: What a split extractor's accounts share (one or two attributes; everything else is their own):
#: the payment card, the prompt template (one sweep, partitioned), the client (user agent and
#: system prompt), the sign-up hour, a custom e-mail domain.
SPLIT_SHARES = ("payment", "template", "payment+template", "client+template", "signup+domain", "payment+signup")
#: The axes every truth row carries (attack axes are "-" on benign rows, and on attack kinds an axis
#: does not apply to), after the contract's columns; ``role``, ``group_size`` and ``account_age`` are
#: the facets of the benign group variants (enterprise teams, research labs, agencies, load tests).
AXIS_COLUMNS = ("reask_rate", "reask_style", "language", "reasoning", "age", "timing", "volume", "sampling", "system_prompt", "distill_share",
                "fake_end_users", "conversation_wrapping", "greedy", "tool_traces", "preamble", "target", "split_accounts", "split_shared",
                "role", "group_size", "account_age", "linkage", "proxy_client", "proxy_accounts")
ATTACK_AXES = ("reask_rate", "reask_style", "reasoning", "age", "timing", "sampling", "system_prompt", "fake_end_users", "conversation_wrapping", "greedy",
               "tool_traces", "preamble", "target", "linkage", "proxy_client", "proxy_accounts")
TRUTH_COLUMNS = ("account_id", "kind", "label", "hard_negative", "ring_id", "ring_kind", "variant", *AXIS_COLUMNS,
                 "reask_share", "requests_per_day")


def volume_bucket(per_day: float) -> str:
    """Order of magnitude of requests per day.

    >>> [volume_bucket(x) for x in (40, 400, 4000, 40000)]
    ['tens', 'hundreds', 'thousands', 'tens_of_thousands']
    """
    return "tens" if per_day < 100 else "hundreds" if per_day < 1000 else "thousands" if per_day < 10_000 else "tens_of_thousands"


def draw_style(rng: np.random.Generator, kind: str) -> dict:
    """One attack account's (or ring operator's) habits, each drawn independently of the others
    (then made consistent: see :func:`consistent`)."""
    bucket = str(rng.choice(list(REASK_BUCKETS)))
    lo, hi = REASK_BUCKETS[bucket]
    reask = float(rng.uniform(lo, hi)) if hi else 0.0
    style = {"reask_rate": bucket, "reask": reask, **reask_habit(reask),
             "language": "en" if rng.random() < 0.4 else str(rng.choice(LANGUAGES[1:])),
             "reasoning": "implicit" if rng.random() < 0.3 else "explicit",
             "age": "aged" if rng.random() < AGED_P[kind] else "fresh",
             "timing": str(rng.choice(TIMINGS, p=TIMING_P[kind])),
             "sampling": str(rng.choice(SAMPLINGS)),
             "system_prompt": "yes" if rng.random() < 0.5 else "no"}
    users, wrap, greedy = rng.random(3)
    style["fake_end_users"] = ("uniform" if rng.random() < 0.5 else "skewed") if users < FAKE_END_USERS_P.get(kind, 0.0) else "no"
    style["conversation_wrapping"] = ("fake_history" if rng.random() < 0.5 else "threaded") if wrap < WRAPPING_P.get(kind, 0.0) else "no"
    style["greedy"] = "yes" if greedy < GREEDY_P.get(kind, 0.0) else "no"
    if kind == "reseller_ring":             # its downstream customers bring their own end users and conversations
        style["fake_end_users"] = style["conversation_wrapping"] = "-"
    return consistent(style)


def reask_habit(reask: float) -> dict:
    """How an attacker re-asks: ``reask_style`` ``adjacent`` (each prompt again soon after it, at varied
    temperatures) or ``passes`` (the list again, at one temperature), ``REASK_PASSES_P`` of the time ("-" for
    one who does not re-ask); ``passes_chunk``, the share of the list a passes-style re-asker runs through at a
    time: 1 (``PASSES_OF_LIST_P``) or a batch (``PASSES_BATCH``, log-uniform). Drawn from a generator of its
    own, seeded by the re-ask share, so every other draw stays as it was.

    >>> reask_habit(0.0)["reask_style"], sorted({reask_habit(r / 100)["reask_style"] for r in range(10, 60)})
    ('-', ['adjacent', 'passes'])
    >>> sorted({reask_habit(r / 100)["passes_chunk"] == 1.0 for r in range(10, 60)})
    [False, True]
    """
    style, whole, batch = np.random.default_rng(int(reask * 1e9)).random(3)
    lo, hi = PASSES_BATCH
    return {"reask_style": "-" if reask <= 0 else "passes" if style < REASK_PASSES_P else "adjacent",
            "passes_chunk": 1.0 if whole < PASSES_OF_LIST_P else float(np.exp(np.log(lo) + batch * (np.log(hi) - np.log(lo))))}


def consistent(style: dict) -> dict:
    """Habits that go together: a greedy harvester asks one sample per prompt (no n > 1) and runs through
    its list once (a second pass at temperature 0 returns the same answers); one that poses as a product
    sends its product's system prompt."""
    if style.get("greedy") == "yes" and style["sampling"] in ("multi", "both"):
        style["sampling"] = "none" if style["sampling"] == "multi" else "logprobs"
    if style.get("greedy") == "yes" and style.get("reask_style") == "passes":    # a second pass at temperature 0 takes nothing new
        style["reask_style"] = "adjacent"
    if style.get("fake_end_users") in ("uniform", "skewed"):
        style["system_prompt"] = "yes"
    return style


def member_style(rng: np.random.Generator, kind: str, ring: dict, diverse: float) -> dict:
    """A ring member's habits: the ring's, each axis re-drawn with probability ``diverse`` (operators
    who vary their accounts on purpose)."""
    own = draw_style(rng, kind)
    style = dict(ring)
    for axis in ("reask_rate", "language", "reasoning", "age", "timing", "sampling", "system_prompt", "fake_end_users",
                 "conversation_wrapping", "greedy"):
        if rng.random() < diverse:
            style[axis] = own[axis]
            if axis == "reask_rate":
                style.update({k: own[k] for k in ("reask", "reask_style", "passes_chunk")})
    return consistent(style)


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate. Same config, same traffic."""

    seed: int = 0
    n_days: int = 1
    start: datetime = datetime(2026, 11, 2, tzinfo=UTC)
    mix: str = "default"
    scale: float = 1.0
    volume: float = 1.0
    vocabulary: str = "default"
    duplicate_rate: float = 0.003
    late_rate: float = 0.01


@dataclass
class SimulatedTraffic:
    events: pl.DataFrame
    accounts: pl.DataFrame
    truth: pl.DataFrame


class Identities:
    """Ids, addresses and fingerprints, drawn from one generator in the vocabulary's formats."""

    def __init__(self, rng: np.random.Generator, vocab: Vocabulary) -> None:
        self.rng, self.vocab, self.n = rng, vocab, 0

    def hexid(self, k: int = 12) -> str:
        return self.rng.bytes((k + 1) // 2).hex()[:k]

    def hexids(self, count: int, k: int) -> list[str]:
        raw = self.rng.bytes(count * ((k + 1) // 2)).hex()
        step = 2 * ((k + 1) // 2)
        return [raw[i:i + k] for i in range(0, count * step, step)]

    def account_id(self) -> str:
        self.n += 1
        return self.vocab.account_id.format(n=self.n, h=self.hexid())

    def key_id(self) -> str:
        return self.vocab.key_id.format(h=self.hexid(16))

    def residential_ip(self) -> tuple[str, int]:
        if self.rng.random() < 0.12:
            return f"2a0{self.rng.integers(1, 9)}:{self.hexid(4)}:{self.hexid(4)}:{self.hexid(2)}::{self.hexid(3)}", int(self.rng.integers(3000, 60000))
        a = int(self.rng.choice([24, 31, 46, 62, 73, 79, 82, 86, 90, 98, 109, 151, 176, 188, 212]))
        return f"{a}.{self.rng.integers(0, 256)}.{self.rng.integers(0, 256)}.{self.rng.integers(1, 255)}", int(self.rng.integers(3000, 60000))

    def datacenter_block(self) -> tuple[str, int]:
        a = int(self.rng.choice([3, 13, 18, 34, 35, 52, 104, 138, 143, 159, 167]))
        return f"{a}.{self.rng.integers(0, 256)}.{self.rng.integers(0, 256)}", int(self.rng.choice([16509, 14061, 24940, 15169, 8075, 63949, 20473]))

    def datacenter_ips(self, k: int, blocks: int = 1) -> tuple[list[str], list[int]]:
        ips, asns = [], []
        chosen = [self.datacenter_block() for _ in range(blocks)]
        for i in range(k):
            block, asn = chosen[i % blocks]
            ips.append(f"{block}.{self.rng.integers(1, 255)}")
            asns.append(asn)
        return ips, asns

    def office_ips(self, k: int) -> tuple[list[str], list[int]]:
        """An office's or campus's egress: ``k`` addresses in one business-line /24, one ASN."""
        a = int(self.rng.choice([62, 80, 81, 88, 91, 130, 141, 192, 193, 194, 195, 202, 213]))
        block = f"{a}.{self.rng.integers(0, 256)}.{self.rng.integers(0, 256)}"
        last = self.rng.choice(np.arange(2, 250), k, replace=False)
        return [f"{block}.{x}" for x in last], [int(self.rng.integers(1000, 65000))] * k

    def fingerprint(self) -> str:
        return self.hexid(32)


def _count(c: float, scale: float, minimum: int = 1) -> int:
    return max(minimum, int(round(c * scale)))


def size_bucket(k: int) -> str:
    """A group's number of accounts.

    >>> [size_bucket(k) for k in (1, 2, 3, 6, 12, 30)]
    ['1', '2', '3-4', '5-8', '9-16', '17-30']
    """
    return str(k) if k <= 2 else "3-4" if k <= 4 else "5-8" if k <= 8 else "9-16" if k <= 16 else "17-30"


def _volume(rng, kind: str, factor: float) -> int:
    median, sigma, low, high = VOLUMES[kind]
    return int(np.clip(rng.lognormal(np.log(median), sigma), low, high) * factor)


TZS = [-8, -5, -3, 0, 1, 2, 5.5, 8, 9]
COUNTRIES = ["US", "GB", "DE", "BR", "IN", "JP", "FR", "CA"]


def build_population(config: SimulationConfig, rng: np.random.Generator, vocab: Vocabulary) -> list[tuple[Account, int, dict]]:
    """Every account with its request count and metadata (created_at offset in days, tier, e-mail, payment...).

    Attack accounts draw their habits (:func:`draw_style`): rings draw them once for the operator and
    each member keeps or re-draws every axis by the ring's ``diverse`` share."""
    ids = Identities(rng, vocab)
    mix = MIXES[config.mix]
    s, days = config.scale, config.n_days
    factor = config.volume * days
    out: list[tuple[Account, int, dict]] = []

    def person(kind: str, label: str = "benign", hard: bool = False, variant: str = "-", **kw) -> Account:
        ip, asn = ids.residential_ip()
        return Account(ids.account_id(), kind, label, hard, tz=float(rng.choice(TZS)), ips=[ip], asns=[asn],
                       country=str(rng.choice(COUNTRIES)), user_agents=[str(rng.choice(vocab.browsers))], api_keys=[ids.key_id()],
                       tier="free", variant=variant, **kw)

    def meta(age_days: float, tier: str, domain: str | None, payment: str | None, signup_ip: str | None, country: str) -> dict:
        return {"age_days": age_days, "tier": tier, "email_domain": domain, "payment_fingerprint": payment, "signup_ip": signup_ip, "country": country}

    def speaks(a: Account, language: str, home: float = 0.7) -> Account:
        """Set an account's language; people mostly sit where their language is spoken (proxies aside)."""
        a.language = language
        if language in LANGUAGE_HOME and rng.random() < home:
            a.tz, a.country = LANGUAGE_HOME[language]
            a.tz += float(rng.choice([0.0, 0.0, -1.0, 1.0])) if language in ("en", "es", "ru") else 0.0
        return a

    def styled(a: Account, style: dict, per_day: float) -> Account:
        a.axes = dict(style, per_day=per_day * config.volume)
        return speaks(a, style["language"], 0.5)

    def count(key: str, minimum: int = 1) -> int:
        return _count(mix[key], s, minimum) if key in mix else 0

    def end_users(k: int, style: int | None = None) -> list[str]:
        style = int(rng.integers(0, 4)) if style is None else style
        if style == 0:
            return [f"u-{h}" for h in ids.hexids(k, 8)]
        if style == 1:
            return [str(int(x)) for x in rng.choice(10**7, k, replace=False)]
        if style == 2:
            return [f"user_{h}" for h in ids.hexids(k, 12)]
        return ids.hexids(k, 32)

    def product_agent(base: str, k: int) -> str:
        """A client string as an app sends it: the library alone, or with the app's own token."""
        style = int(rng.integers(0, 4))
        return (base if style == 0 else f"{base} app/{k}" if style == 1
                else f"{base} ({ids.hexid(6)}/{k % 9}.{k % 7})" if style == 2 else f"{ids.hexid(5)}-client/{k % 5}.{k % 11} {base}")

    def aged_or(style: dict, fresh_days: float) -> float:
        return float(rng.uniform(200, 900)) if style["age"] == "aged" else fresh_days

    # -- benign -------------------------------------------------------------------------------
    for _ in range(count("casual_chat")):
        a = person("casual_chat", variant="casual")
        if rng.random() < 0.2:
            speaks(a, str(rng.choice(LANGUAGES[1:])))
        a.user_agents = [str(rng.choice(vocab.browsers)), str(rng.choice(vocab.sdks))][: int(rng.integers(1, 3))]
        out.append((a, _volume(rng, "casual_chat", factor), meta(rng.lognormal(5, 1), "free", str(rng.choice(vocab.webmail)),
                                                                 ids.fingerprint() if rng.random() < 0.3 else None, a.ips[0], a.country)))
    for _ in range(count("developer")):
        a = person("developer", variant="developer")
        a.user_agents = [str(rng.choice(vocab.sdks)), str(rng.choice(vocab.scripts))]
        a.ips.append(ids.datacenter_ips(1)[0][0])
        out.append((a, _volume(rng, "developer", factor), meta(rng.lognormal(5, 1), "paid", str(rng.choice(vocab.company_domains + vocab.webmail)),
                                                               ids.fingerprint(), a.ips[0], a.country)))
    for _ in range(count("coding_agent")):
        a = person("coding_agent", variant="coding_agent")
        a.user_agents = [str(rng.choice(vocab.sdks))]
        out.append((a, _volume(rng, "coding_agent", factor), meta(rng.lognormal(4.5, 1), "paid", str(rng.choice(vocab.company_domains)),
                                                                  ids.fingerprint(), a.ips[0], a.country)))
    for _ in range(count("production_integration")):
        a = person("production_integration", hard=True, variant="support_bot")
        a.ips, a.asns = ids.datacenter_ips(int(rng.integers(2, 5)))
        a.user_agents = [product_agent(str(rng.choice(vocab.sdks)), int(rng.integers(1, 200)))]
        a.system_prompt = ids.fingerprint()
        a.tier = "enterprise"
        a.extra["end_users"] = end_users(int(rng.integers(300, 3000)))
        out.append((a, _volume(rng, "production_integration", factor), meta(rng.uniform(90, 900), "enterprise",
                                                                            str(rng.choice(vocab.company_domains)), ids.fingerprint(), a.ips[0], a.country)))
    for _ in range(count("translation_product")):     # hard variant: many end users, text in many languages
        a = person("production_integration", hard=True, variant="translation_product")
        a.language = "mixed"
        a.ips, a.asns = ids.datacenter_ips(int(rng.integers(2, 5)))
        a.user_agents = [product_agent(str(rng.choice(vocab.sdks)), int(rng.integers(1, 200)))]
        a.system_prompt = ids.fingerprint() if rng.random() < 0.8 else None
        a.tier = "enterprise"
        langs = [str(x) for x in rng.choice(LANGUAGES, int(rng.integers(3, len(LANGUAGES) + 1)), replace=False)]
        a.extra.update(end_users=end_users(int(rng.integers(500, 5000))), source_languages=langs,
                       source_weights=rng.dirichlet(np.full(len(langs), 2.0)), temperature=float(rng.choice([0.0, 0.2, 0.3])),
                       max_tokens=[None, 1024, 2048][int(rng.integers(0, 3))])
        out.append((a, _volume(rng, "translation_product", factor), meta(rng.uniform(120, 1200), "enterprise",
                                                                        str(rng.choice(vocab.company_domains)), ids.fingerprint(), a.ips[0], a.country)))
    for _ in range(count("benchmark_runner")):
        a = person("benchmark_runner", hard=True, variant="benchmark_bank")
        a.ips, a.asns = ids.datacenter_ips(1)
        a.user_agents = [str(rng.choice(vocab.scripts))]
        bank_size = int(rng.integers(150, 400))
        a.extra["bank"] = [str(rng.choice(vocab.benchmark_stems)).format(a=int(rng.integers(2, 999)), b=int(rng.integers(2, 99))) + vocab.benchmark_suffix
                           for _ in range(bank_size)]
        runs = int(rng.integers(2, 5)) * days
        out.append((a, int(bank_size * runs * config.volume), meta(rng.uniform(30, 600), "paid", str(rng.choice(vocab.company_domains)),
                                                                   ids.fingerprint(), a.ips[0], a.country)))
    for _ in range(count("eval_lab")):                 # hard variant: a non-English evaluation lab re-running its fixed bank
        a = speaks(person("benchmark_runner", hard=True, variant="multilingual_eval_lab"), str(rng.choice(LANGUAGES[1:])), 0.9)
        a.ips, a.asns = ids.datacenter_ips(int(rng.integers(1, 3)))
        a.user_agents = [str(rng.choice(vocab.scripts + vocab.sdks))]
        ph = phrasing(vocab, a.language)
        bank_size = int(rng.integers(150, 500))
        stems = rng.integers(0, len(ph.bench_stems), bank_size)
        nums = rng.integers(2, 999, (bank_size, 2))
        a.extra["bank"] = [ph.bench_stems[k].format(a=int(x), b=int(y) % 97 + 2) + ph.bench_suffix for k, (x, y) in zip(stems, nums)]
        pass_at_k = rng.random() < 0.3
        a.extra["bench"] = {"temperature": 0.8 if pass_at_k else 0.0, "n": int(rng.choice([5, 10])) if pass_at_k else 1,
                            "logprobs_rate": 0.4 if rng.random() < 0.5 else 0.0, "max_tokens": int(rng.choice([1024, 2048, 4096])),
                            "completion": 600, "models": list(vocab.models[-2:]) if rng.random() < 0.6 else [vocab.models[-1]]}
        a.system_prompt = ids.fingerprint() if rng.random() < 0.4 else None
        a.tier = "paid"
        runs = int(rng.integers(2, 5)) * days
        out.append((a, int(bank_size * runs * config.volume), meta(rng.uniform(200, 1500), "paid", str(rng.choice(vocab.company_domains)),
                                                                   ids.fingerprint(), a.ips[0], a.country)))
    for _ in range(count("batch_job")):
        a = person("batch_job", hard=True, variant="nightly_classifier")
        a.ips, a.asns = ids.datacenter_ips(1)
        a.user_agents = [str(rng.choice(vocab.sdks))]
        a.system_prompt = ids.fingerprint()
        a.tier = "paid"
        out.append((a, _volume(rng, "batch_job", factor), meta(rng.uniform(60, 700), "paid", str(rng.choice(vocab.company_domains)),
                                                               ids.fingerprint(), a.ips[0], a.country)))
    for _ in range(count("label_vendor")):             # hard variant: labelled data for its own classifier, round the clock
        a = person("batch_job", hard=True, variant="label_vendor")
        speaks(a, "en" if rng.random() < 0.6 else str(rng.choice(LANGUAGES[1:])))
        a.ips, a.asns = ids.datacenter_ips(int(rng.integers(1, 3)))
        a.user_agents = [str(rng.choice(vocab.sdks + vocab.scripts))]
        a.system_prompt = ids.fingerprint()
        a.tier = str(rng.choice(["paid", "enterprise"]))
        a.extra.update(item_offset=int(rng.integers(0, 10**6)), max_tokens=int(rng.choice([16, 32, 64, 128])), logprobs=bool(rng.random() < 0.5))
        out.append((a, int(_log_uniform(rng, 2000, 20_000) * factor), meta(rng.uniform(200, 900), a.tier, str(rng.choice(vocab.company_domains)),
                                                                          ids.fingerprint(), a.ips[0], a.country)))
    for size in mix["campuses"]:
        nat, nat_asn = ids.residential_ip()
        second, _ = ids.residential_ip()
        domain = f"campus{ids.hexid(3)}.edu" if vocab.name == "default" else f"uni-{ids.hexid(4)}.ac"
        campus_language = "en" if rng.random() < 0.6 else str(rng.choice(LANGUAGES[1:]))
        campus_tz = float(rng.choice(TZS))
        for _ in range(_count(size, s, 8)):
            a = person("campus_member", hard=True, variant="campus_nat")
            a.tz = campus_tz
            a.language = campus_language if rng.random() < 0.8 else "en"
            a.ips, a.asns = ([nat, second] if rng.random() < 0.3 else [nat]), [nat_asn]
            if rng.random() < 0.3:
                a.user_agents = [str(rng.choice(vocab.sdks))]
            out.append((a, _volume(rng, "campus_member", factor), meta(rng.uniform(30, 1500), "free", domain,
                                                                       ids.fingerprint() if rng.random() < 0.5 else None, nat, a.country)))

    # -- benign groups: one company's team, a research lab, an agency, a load test ---------------
    def org_domain() -> str:
        a, b = rng.choice(len(vocab.org_names), 2, replace=False)
        return f"{vocab.org_names[a]}{vocab.org_names[b]}{vocab.org_tld}"

    def facets(a: Account, role: str, size: str, age_days: float) -> None:
        a.facets = {"role": role, "group_size": size, "account_age": "new" if age_days < 30 else "established"}

    for size in mix.get("enterprise_teams", []):
        k = min(30, _count(size, s, 5))
        domain = org_domain()
        language = "en" if rng.random() < 0.6 else str(rng.choice(LANGUAGES[1:]))
        tz, country = LANGUAGE_HOME[language] if language != "en" or rng.random() < 0.5 else (float(rng.choice(TZS)), str(rng.choice(COUNTRIES)))
        office, office_asn = ids.office_ips(int(rng.integers(1, 4)))
        cards = [ids.fingerprint(), ids.fingerprint()]
        second_card = rng.random() < 0.4                                   # a department on its own card
        sdk = str(rng.choice(vocab.sdks))
        onboarding = float(rng.uniform(1, 25)) if rng.random() < 0.35 else float(rng.uniform(40, 900))
        together = float(rng.uniform(0.4, 0.85))                           # share of the team created in the onboarding day or two
        tool = ids.fingerprint() if rng.random() < 0.65 else None
        employees = end_users(int(rng.integers(30, 600)))
        n_tool = int(rng.integers(1, 4)) if tool else 0
        activity = float(rng.lognormal(0, 0.4))
        for m in range(k):
            role = "internal_tool" if m < n_tool else str(rng.choice(["developer", "coding_agent", "chat"], p=[0.4, 0.25, 0.35]))
            a = person("enterprise_member", hard=True, variant="enterprise_team")
            a.language, a.tz, a.country = language, tz + (float(rng.choice([-1.0, 1.0, -6.0])) if rng.random() < 0.1 else 0.0), country
            a.ips, a.asns = list(office), list(office_asn)
            if rng.random() < 0.3:                                         # from home or on the VPN's other exit
                ip, asn = ids.residential_ip()
                a.ips.append(ip)
                a.asns.append(asn)
            a.tier = "enterprise"
            a.api_keys = [ids.key_id() for _ in range(int(rng.integers(1, 3)))]
            if role == "internal_tool":
                a.ips, a.asns = ids.datacenter_ips(int(rng.integers(1, 3)))      # the tool runs in the company's cloud
                a.user_agents = [product_agent(sdk, int(rng.integers(1, 50)))]
                a.system_prompt = tool
                a.extra.update(end_users=[str(u) for u in rng.choice(employees, min(len(employees), int(rng.integers(20, 600))), replace=False)],
                               temperature=float(rng.choice([0.0, 0.2, 0.5])), max_tokens=int(rng.choice([512, 1024, 2048])),
                               model=vocab.models[int(rng.integers(1, 3))])
                n = int(_volume(rng, "internal_tool", factor) * activity)
            elif role == "chat":
                a.user_agents = [str(rng.choice(vocab.browsers))]
                a.extra["day_shape"] = timing.WORK_DAY
                n = int(_volume(rng, "enterprise_chat", factor) * activity)
            else:
                a.user_agents = [sdk] + ([str(rng.choice(vocab.scripts))] if role == "developer" and rng.random() < 0.5 else [])
                if role == "developer" and tool and rng.random() < 0.4:
                    a.extra.update(tool_prompt=tool, tool_share=float(rng.uniform(0.05, 0.4)))
                n = int(_volume(rng, role, factor) * activity)
            if m < max(2, int(np.ceil(0.3 * k))) or rng.random() < together:
                age = onboarding + float(rng.uniform(0, 1.5))
            elif rng.random() < 0.3:
                age = onboarding + float(rng.uniform(5, 300))                   # the pilot users, before the team came on board
            else:
                age = float(rng.uniform(0.5, max(1.0, onboarding - 1)))          # hired later
            facets(a, role, size_bucket(k), age)
            card = cards[1] if second_card and m % 4 == 3 else cards[0]
            out.append((a, max(1, n), meta(age, "enterprise", domain, card, office[0], country)))
    for size in mix.get("research_labs", []):
        k = min(12, _count(size, s, 3))
        language = "en" if rng.random() < 0.5 else str(rng.choice(LANGUAGES[1:]))
        tz, country = LANGUAGE_HOME[language] if language != "en" or rng.random() < 0.4 else (float(rng.choice(TZS)), str(rng.choice(COUNTRIES)))
        university = rng.random() < 0.6
        domain = (f"uni{ids.hexid(3)}.edu" if vocab.name == "default" else f"hs-{ids.hexid(4)}.ac") if university else org_domain()
        cluster, cluster_asn = ids.office_ips(int(rng.integers(1, 3))) if university else ids.datacenter_ips(int(rng.integers(1, 3)))
        grant = ids.fingerprint()
        on_grant = float(rng.uniform(0.6, 1.0))
        harness = str(rng.choice(vocab.scripts + vocab.sdks))
        ph = phrasing(vocab, language)
        final = int(rng.integers(200, 1500))
        stems = rng.integers(0, len(ph.bench_stems), final)
        nums = rng.integers(2, 9999, (final, 2))
        cot = [ph.reasoning[int(j)] for j in rng.choice(len(ph.reasoning), int(rng.integers(1, 3)), replace=False)] + [ph.bench_suffix]
        bank = [ph.bench_stems[st].format(a=int(x), b=int(y) % 997 + 2) + cot[(i * 7) % len(cot)] for i, (st, (x, y)) in enumerate(zip(stems, nums))]
        start_size = int(final * rng.uniform(0.3, 0.8))
        sharded = rng.random() < 0.5
        active = [d for d in range(days) if rng.random() < rng.uniform(0.35, 0.8)] or [int(rng.integers(0, days))]
        new_lab = rng.random() < 0.3
        lab_age = float(rng.uniform(3, 30)) if new_lab else float(rng.uniform(60, 1500))
        models = [str(x) for x in rng.choice(vocab.models[1:], int(rng.integers(1, 4)), replace=False)]
        for m in range(k):
            role = str(rng.choice(["cot_eval", "pass_at_k", "calibration", "llm_judge"], p=[0.4, 0.2, 0.2, 0.2]))
            a = person("research_lab", hard=True, variant="research_lab")
            a.language, a.tz, a.country = language, tz, country
            a.ips, a.asns = list(cluster), list(cluster_asn)
            if rng.random() < 0.4:                                        # a laptop at home now and then
                ip, asn = ids.residential_ip()
                a.ips.append(ip)
                a.asns.append(asn)
            a.user_agents = [harness] + ([str(rng.choice(vocab.sdks))] if rng.random() < 0.3 else [])
            a.tier = "paid" if rng.random() < 0.7 else "enterprise"
            a.system_prompt = ids.fingerprint() if rng.random() < 0.3 else None
            run: dict[str, Any]
            if role == "cot_eval":
                run = {"temperature": float(rng.choice([0.0, 0.0, 0.6])), "n": 1, "max_tokens": int(rng.choice([4096, 8192, 16384])),
                       "completion": float(rng.uniform(1200, 3500)), "logprobs": False, "top_logprobs": 0}
            elif role == "pass_at_k":
                run = {"temperature": float(rng.choice([0.6, 0.8, 1.0])), "n": int(rng.choice([4, 5, 8, 10, 16])),
                       "max_tokens": int(rng.choice([4096, 8192])), "completion": float(rng.uniform(900, 2500)), "logprobs": False, "top_logprobs": 0}
            elif role == "calibration":
                run = {"temperature": float(rng.choice([0.0, 1.0])), "n": 1, "max_tokens": int(rng.choice([512, 1024, 4096])),
                       "completion": float(rng.uniform(150, 700)), "logprobs": True, "top_logprobs": int(rng.choice([5, 10, 20]))}
            else:       # the model as a judge of the lab's own model's answers to its bank (new answers every run)
                judge_lp = bool(rng.random() < 0.4)
                run = {"temperature": 0.0, "n": 1, "max_tokens": int(rng.choice([256, 512, 1024])), "completion": float(rng.uniform(40, 300)),
                       "logprobs": judge_lp, "top_logprobs": int(rng.choice([5, 20])) if judge_lp else 0, "judge": True}
            run["models"] = models if rng.random() < 0.7 else models[:1]
            shards = k if sharded else 1
            runs = int(rng.integers(1, 5)) * len(active)
            runs = max(1, int(round(runs * config.volume)))
            a.extra.update(bank=bank, bank_start=start_size, run=run, active_days=active, runs=runs, shard=(m % shards, shards))
            age = (lab_age + float(rng.uniform(0, 2)) if new_lab or rng.random() < 0.5
                   else (float(rng.uniform(3, 25)) if rng.random() < 0.3 else float(rng.uniform(60, 1500))))
            facets(a, role, size_bucket(k), age)
            expected = runs * (start_size + final) // 2 // shards
            out.append((a, max(1, expected), meta(age, a.tier, domain, grant if rng.random() < on_grant else ids.fingerprint(),
                                                  cluster[0], country)))
    for _ in range(count("agency")):
        a = person("agency", hard=True, variant="agency")
        language = "en" if rng.random() < 0.6 else str(rng.choice(LANGUAGES[1:]))
        speaks(a, language, 0.9)
        office, office_asn = ids.office_ips(1)
        hosting, hosting_asn = ids.datacenter_ips(int(rng.integers(1, 4)))
        a.ips, a.asns = office + hosting, office_asn + hosting_asn
        k = int(rng.integers(3, 9))
        agents = [product_agent(str(rng.choice(vocab.sdks)), int(rng.integers(1, 99))) for _ in range(int(rng.integers(2, 5)))]
        clients = []
        for c in range(k):
            app = str(rng.choice(["support", "content", "translate", "classify", "internal"], p=[0.3, 0.25, 0.15, 0.15, 0.15]))
            clients.append({"app": app, "system_prompt": ids.fingerprint() if app != "internal" or rng.random() < 0.5 else None,
                            "user_agent": agents[c % len(agents)], "language": language if rng.random() < 0.8 else str(rng.choice(LANGUAGES)),
                            "temperature": float(rng.choice([0.0, 0.2, 0.5, 0.7, 1.0])), "max_tokens": int(rng.choice([256, 512, 1024, 2048])),
                            "end_users": end_users(int(rng.integers(20, 800))) if app in ("support", "content") and rng.random() < 0.7 else None,
                            "format": "text" if rng.random() < 0.5 else None})
        a.extra.update(clients=clients, client_weights=rng.dirichlet(np.full(k, 2.0)))
        a.tier = "paid"
        a.api_keys = [ids.key_id() for _ in range(int(rng.integers(1, k + 1)))]
        age = float(rng.uniform(60, 1500)) if rng.random() < 0.85 else float(rng.uniform(5, 30))
        facets(a, "clients_3-4" if k <= 4 else "clients_5-8", "-", age)
        out.append((a, int(_log_uniform(rng, 250, 3000) * factor), meta(age, "paid", org_domain(), ids.fingerprint(), office[0], a.country)))
    for _ in range(count("load_tester")):
        a = person("load_tester", hard=True, variant="load_tester")
        if rng.random() < 0.4:
            speaks(a, str(rng.choice(LANGUAGES[1:])), 0.9)
        a.ips, a.asns = ids.datacenter_ips(int(rng.integers(1, 9)))
        a.user_agents = [str(rng.choice(vocab.load_tools))] + ([str(rng.choice(vocab.sdks))] if rng.random() < 0.3 else [])
        a.api_keys = [ids.key_id() for _ in range(int(rng.integers(1, 4)))]
        a.tier = "free" if rng.random() < 0.35 else "paid"
        rps = _log_uniform(rng, 1.0, 4.0) if a.tier == "free" else _log_uniform(rng, 2.3, 5.0)    # past the tier's per-minute cap
        hours = float(rng.uniform(0.3, 0.8))
        day = int(rng.integers(0, days))
        begin = float(np.clip(day * timing.DAY + (rng.uniform(9, 17) - a.tz) * 3600.0, 0, days * timing.DAY - hours * 3600 - 60))
        a.active_from, a.active_to = begin, begin + hours * 3600
        single = rng.random() < 0.5
        if single:
            templates = [str(rng.choice(vocab.dev_prompts))] if rng.random() < 0.5 else [
                vocab.integration_template.format(message=f"{rng.choice(vocab.customer_phrases)} {rng.choice(vocab.customer_objects)}")]
        else:
            templates = [vocab.integration_template.format(message=f"{p} {o} #{{i}}") for p, o in
                         zip(rng.choice(vocab.customer_phrases, 4), rng.choice(vocab.customer_objects, 4))][: int(rng.integers(2, 5))]
        a.system_prompt = ids.fingerprint() if rng.random() < 0.6 else None
        a.extra.update(ramp=bool(rng.random() < 0.5), templates=templates, max_tokens=int(rng.choice([16, 32, 64, 128, 256])),
                       temperature=[None, 0.0, 0.7][int(rng.integers(0, 3))], stream=bool(rng.random() < 0.4),
                       model=vocab.models[int(rng.integers(0, len(vocab.models)))])
        age = -(begin / timing.DAY) + float(rng.uniform(0.05, 3.0))       # made for the test, a few hours to days before it
        facets(a, "single_prompt" if single else "templates", "-", age)
        out.append((a, max(1, int(rps * hours * 3600 * config.volume)), meta(age, a.tier, str(rng.choice(vocab.company_domains + vocab.webmail)),
                                                                              ids.fingerprint(), a.ips[0], a.country)))

    # -- attacks ------------------------------------------------------------------------------
    for _ in range(count("bulk_extractor")):
        style = draw_style(rng, "bulk_extractor")
        per_day = _log_uniform(rng, *ATTACK_RATES["bulk_extractor"])
        a = styled(person("bulk_extractor", label="attack"), style, per_day)
        a.ips, a.asns = ids.datacenter_ips(int(rng.integers(1, 4)))
        a.user_agents = [str(rng.choice(vocab.scripts + vocab.sdks))]
        a.topic_offset = int(rng.integers(0, 100_000))
        a.tier = str(rng.choice(["free", "paid"])) if style["age"] == "fresh" else str(rng.choice(["paid", "enterprise"]))
        a.system_prompt = ids.fingerprint() if style["system_prompt"] == "yes" else None
        aged = style["age"] == "aged"
        out.append((a, int(per_day * factor), meta(aged_or(style, rng.uniform(0.5, 6)), a.tier,
                                                   str(rng.choice(vocab.webmail if aged or rng.random() < 0.7 else vocab.shady_domains)),
                                                   ids.fingerprint(), ids.residential_ip()[0] if aged else a.ips[0], a.country)))
    ring_no = 0
    for size in mix["coordinated_rings"]:
        ring_no += 1
        ring_id = f"truth-ring-{ring_no}"
        ring = draw_style(rng, "coordinated_ring")
        diverse = float(rng.choice([0.0, 0.3, 1.0], p=[0.5, 0.3, 0.2]))
        pool, pool_asn = ids.datacenter_ips(int(rng.integers(20, 80)), blocks=int(rng.integers(2, 4)))
        payments = [ids.fingerprint() for _ in range(int(rng.integers(3, 7)))]
        domain = str(rng.choice(vocab.shady_domains))
        system_prompt = ids.fingerprint()
        schedule = np.sort(rng.uniform(0, timing.DAY * days - 1500, int(6 * days)))
        template = int(rng.integers(0, 4))
        created = rng.uniform(2, 8)
        ua = str(rng.choice(vocab.scripts))
        ring_tz = LANGUAGE_HOME[ring["language"]][0] if rng.random() < 0.7 else float(rng.choice(TZS))
        k = _count(size, s, 5)
        low_and_slow = k >= 40 or rng.random() < 0.25          # a hydra: many accounts, each quiet
        rate = _log_uniform(rng, *ATTACK_RATES["low_and_slow" if low_and_slow else "coordinated_ring"])
        for m in range(k):
            style = member_style(rng, "coordinated_ring", ring, diverse)
            per_day = rate * float(rng.lognormal(0, 0.25))
            a = styled(person("coordinated_ring", label="attack", ring_id=ring_id, ring_kind="coordinated"), style, per_day)
            a.tz = ring_tz if style["language"] == ring["language"] else a.tz
            a.ips, a.asns = [pool[i] for i in rng.choice(len(pool), 6, replace=False)], pool_asn
            a.user_agents = [ua]
            a.system_prompt = (system_prompt if ring["system_prompt"] == "yes" else ids.fingerprint()) if style["system_prompt"] == "yes" else None
            a.schedule = schedule + rng.uniform(0, 30)
            a.extra["template"] = template
            a.topic_offset = m * 37
            aged = style["age"] == "aged"
            out.append((a, max(1, int(per_day * factor)), meta(
                aged_or(style, created + rng.uniform(0, 2)), "free" if not aged else str(rng.choice(["free", "paid"])),
                str(rng.choice(vocab.webmail)) if aged and rng.random() < 0.9 else domain,
                ids.fingerprint() if aged and rng.random() < 0.4 else str(rng.choice(payments)),
                ids.residential_ip()[0] if aged else pool[0], a.country)))
    for size in mix["mimicry_rings"]:
        ring_no += 1
        ring_id = f"truth-ring-{ring_no}"
        ring = draw_style(rng, "mimicry_ring")
        diverse = float(rng.choice([0.0, 0.3, 1.0], p=[0.4, 0.3, 0.3]))
        homes = [ids.residential_ip() for _ in range(int(rng.integers(25, 50)))]      # (ip, asn) each
        payments = [ids.fingerprint() for _ in range(int(rng.integers(2, 4)))]
        created = rng.uniform(3, 12)
        rate = _log_uniform(rng, *ATTACK_RATES["mimicry_ring"])
        system_prompt = ids.fingerprint()
        for m in range(_count(size, s, 5)):
            style = member_style(rng, "mimicry_ring", ring, diverse)
            per_day = rate * float(rng.lognormal(0, 0.3))
            a = styled(person("mimicry_ring", label="attack", ring_id=ring_id, ring_kind="coordinated"), style, per_day)
            chosen = [homes[i] for i in rng.choice(len(homes), 5, replace=False)]
            a.ips, a.asns = [c[0] for c in chosen], [c[1] for c in chosen]
            a.system_prompt = system_prompt if style["system_prompt"] == "yes" else None
            a.topic_offset = m * 53
            aged = style["age"] == "aged"
            out.append((a, max(1, int(per_day * factor)), meta(aged_or(style, created + rng.uniform(0, 3)), "free", str(rng.choice(vocab.webmail)),
                                                               ids.fingerprint() if aged and rng.random() < 0.4 else str(rng.choice(payments)),
                                                               ids.residential_ip()[0] if aged else chosen[0][0], a.country)))
    for size in mix["burner_groups"]:
        ring_no += 1
        ring_id = f"truth-ring-{ring_no}"
        ring = draw_style(rng, "burner")
        diverse = float(rng.choice([0.0, 0.3, 1.0], p=[0.5, 0.3, 0.2]))
        pool, pool_asn = ids.datacenter_ips(int(rng.integers(3, 6)))
        payment = ids.fingerprint()
        template = int(rng.integers(0, 4))
        ua = str(rng.choice(vocab.scripts))
        system_prompt = ids.fingerprint()
        group_tz = LANGUAGE_HOME[ring["language"]][0] if rng.random() < 0.7 else float(rng.choice(TZS))
        spans = timing.waking_intervals(0.0, timing.DAY * days - 3600, group_tz) if ring["timing"] == "diurnal" else np.empty((0, 2))
        if not len(spans):
            spans = np.array([[0.0, timing.DAY * days - 3600]])
        k = _count(size, s, 4)
        for m in range(k):          # one after another: each burns for a few hours, then the next takes over
            style = member_style(rng, "burner", ring, diverse)
            active_from = float(timing.spread_over(spans, np.array([m / k]))[0]) + rng.uniform(0, 600)
            active_to = min(active_from + float(rng.uniform(1.5, 3.5)) * 3600, timing.DAY * days - 1)
            n = int((active_to - active_from) / rng.uniform(0.8, 6.0) * config.volume)
            a = styled(person("burner", label="attack", ring_id=ring_id, ring_kind="coordinated"), style, n / config.volume)
            a.tz = group_tz
            a.ips, a.asns = pool, pool_asn
            a.user_agents = [ua]
            a.active_from, a.active_to = active_from, active_to
            a.system_prompt = system_prompt if style["system_prompt"] == "yes" else None
            a.extra["template"] = template
            a.topic_offset = m * 211
            aged = style["age"] == "aged"
            out.append((a, n, meta(aged_or(style, -(active_from / timing.DAY) + rng.uniform(0.01, 0.1)), "free",
                                   str(rng.choice(vocab.webmail)), payment, ids.residential_ip()[0] if aged else pool[0], a.country)))
    for size in mix["reseller_rings"]:
        ring_no += 1
        ring_id = f"truth-ring-{ring_no}"
        # the proxy forwards its customers' system prompts, or strips them (they are its customers' secrets);
        # drawn from a generator of its own, so the rest of a seed's population stays as it was
        strips = np.random.default_rng([config.seed, ring_no]).random() < RESELLER_STRIPS_SYSTEM_PROMPTS_P
        own_client = np.random.default_rng([config.seed, ring_no, 2])
        proxy_client = "own" if own_client.random() < RESELLER_OWN_CLIENT_P else "forwarded"
        proxy_ua = str(own_client.choice(vocab.scripts + vocab.sdks))      # the gateway's own HTTP client
        ring = dict(draw_style(rng, "reseller_ring"), language="mixed", system_prompt="stripped" if strips else "forwarded",
                    proxy_client=proxy_client)
        egress, egress_asn = ids.datacenter_ips(int(rng.integers(3, 7)))
        domain = str(rng.choice(vocab.shady_domains))
        bucket = str(rng.choice(list(DISTILL_BUCKETS)))
        share = float(rng.uniform(*DISTILL_BUCKETS[bucket]))
        customers = []
        for c in range(int(rng.integers(30, 100))):
            customers.append({"system_prompt": ids.fingerprint(), "user_agent": product_agent(str(rng.choice(vocab.sdks + vocab.scripts + vocab.browsers)), c),
                              "temperature": float(rng.choice([0.0, 0.3, 0.7, 1.0])), "max_tokens": int(rng.choice([256, 512, 1024, 4096])),
                              "distiller": bool(rng.random() < share), "offset": int(rng.integers(0, 1000)),
                              "template": int(rng.integers(0, 12)), "user_prefix": f"{ids.hexid(4)}-",
                              "language": "en" if rng.random() < 0.4 else str(rng.choice(LANGUAGES[1:])), "explicit": bool(rng.random() < 0.7)})
        if not any(c["distiller"] for c in customers):
            customers[0]["distiller"] = True
        payments = [ids.fingerprint() for _ in range(2)]
        rate = _log_uniform(rng, *ATTACK_RATES["reseller_ring"])
        ring_tz = float(rng.choice(TZS))
        k = _count(size, s, min(3, size))         # a reseller may run on one or two accounts
        for m in range(k):
            per_day = rate * float(rng.lognormal(0, 0.2))
            a = person("reseller_ring", label="attack", ring_id=ring_id, ring_kind="reseller")
            a.axes = dict(ring, per_day=per_day * config.volume, distill_share=bucket, proxy_accounts=size_bucket(k))
            a.extra["proxy_ua"] = proxy_ua
            a.language, a.tz = "mixed", ring_tz
            a.ips, a.asns = egress, egress_asn
            a.extra["customers"] = customers
            a.tier = "paid"
            out.append((a, int(per_day * factor), meta(aged_or(ring, 10 + 7 * (k - m) + rng.uniform(0, 2)), "paid", domain,
                                                       payments[m % 2], egress[0], a.country)))
    for _ in range(count("split_extractors")):      # one extractor's volume over 3-8 accounts that share one or two things
        ring_no += 1
        ring_id = f"truth-ring-{ring_no}"
        style = draw_style(rng, "bulk_extractor")
        k = int(rng.integers(3, 9))
        shared = str(rng.choice(SPLIT_SHARES))
        parts = set(shared.split("+"))
        style.update(split_accounts=size_bucket(k), split_shared=shared)
        if "client" in parts:
            style["system_prompt"] = "yes"
        total = _log_uniform(rng, 2000, 10_000)
        template = int(rng.integers(0, 4))
        own_templates = rng.permutation(8)
        client_ua, client_prompt = str(rng.choice(vocab.scripts + vocab.sdks)), ids.fingerprint()
        card, domain = ids.fingerprint(), str(rng.choice(vocab.shady_domains))
        signup = rng.uniform(1, 30)
        sweep = int(rng.integers(0, 100_000))
        for m in range(k):
            per_day = max(260.0, total / k * float(rng.lognormal(0, 0.25)))
            a = styled(person("bulk_extractor", label="attack", ring_id=ring_id, ring_kind="coordinated"), style, per_day)
            a.ips, a.asns = ids.datacenter_ips(int(rng.integers(1, 3)))
            if rng.random() < 0.3:
                homes = [ids.residential_ip() for _ in range(int(rng.integers(2, 6)))]
                a.ips, a.asns = [ip for ip, _ in homes], [asn for _, asn in homes]
            a.user_agents = [client_ua] if "client" in parts else [str(rng.choice(vocab.scripts + vocab.sdks))]
            if "client" in parts:
                a.system_prompt = client_prompt
            else:
                a.system_prompt = ids.fingerprint() if style["system_prompt"] == "yes" else None
            a.extra["template"] = template if "template" in parts else int(own_templates[m % 8])
            a.topic_offset = sweep + m * 7919 if "template" in parts else int(rng.integers(0, 100_000))
            a.tier = str(rng.choice(["free", "paid"]))
            if style["age"] == "aged":
                age = aged_or(style, 0)
            elif "signup" in parts:
                age = signup + float(rng.uniform(0, 1 / 24))
            else:
                age = float(rng.uniform(0.5, 30))
            out.append((a, max(1, int(per_day * factor)), meta(age, a.tier, domain if "domain" in parts else str(rng.choice(vocab.webmail)),
                                                               card if "payment" in parts else ids.fingerprint(),
                                                               ids.residential_ip()[0], a.country)))
    id_format: dict[str, int] = {}
    for a, n, _ in out:                             # harvesters posing as a product: the end-user ids they make up
        mode = a.axes.get("fake_end_users")         # (one format per operator: a ring's accounts run one tool)
        fmt = id_format.setdefault(a.ring_id, int(rng.integers(0, 4))) if a.ring_id else None
        if mode == "uniform":
            a.extra["fake_users"] = end_users(int(min(60_000, max(50, n * rng.uniform(0.8, 3)))), fmt)
        elif mode == "skewed":
            a.extra["fake_users"] = end_users(int(min(20_000, max(30, n * rng.uniform(0.05, 0.3)))), fmt)
    for a, traces in operator_draws(out, np.random.default_rng([config.seed, 4099]), TOOL_TRACES_P):   # one operator's tooling
        a.axes["tool_traces"] = "yes" if traces else "no"
    preamble_rng = np.random.default_rng([config.seed, 4111])
    preambles: dict[str, str | None] = {}           # one instruction block per operator (a ring's accounts share it)
    for a, _, _ in out:
        if a.label != "attack" or a.kind not in PREAMBLE_P:
            continue
        if a.ring_id is not None and a.ring_id in preambles:
            block = preambles[a.ring_id]
        else:
            block = instruction_block(preamble_rng, PREAMBLE_P[a.kind])
            if a.ring_id is not None:
                preambles[a.ring_id] = block
        a.axes["preamble"], a.extra["preamble"] = ("yes" if block else "no"), block
    for a, grades in operator_draws(out, np.random.default_rng([config.seed, 4127]), GRADES_TARGET_P):  # one operator's target
        a.axes["target"] = "grades" if grades else "answers"
    default_rng = np.random.default_rng([config.seed, 4133])
    defaults = [f"{int(x):032x}" for x in default_rng.integers(0, 2**62, DEFAULT_SYSTEM_PROMPTS)]
    for a, _, _ in out:                             # strangers' shared defaults: a system prompt alone links nobody
        if a.kind in DEFAULT_SYSTEM_PROMPT_P and a.system_prompt is None and default_rng.random() < DEFAULT_SYSTEM_PROMPT_P[a.kind]:
            a.system_prompt = defaults[int(default_rng.integers(0, len(defaults)))]
    disguise(out, np.random.default_rng([config.seed, 4139]), defaults, vocab)
    shared_exits(out, np.random.default_rng([config.seed, 4153]))
    return out


def shared_exits(out: list, rng: np.random.Generator) -> None:
    """Give the ordinary users :data:`SHARED_EXIT_P` draws an attack account's address (a VPN exit or proxy they
    share with it), half of them its HTTP client too; they become variant ``shared_exit``."""
    attackers = [a for a, _, _ in out if a.label == "attack" and a.ips]
    if not attackers:
        return
    for a, _, _ in out:
        if a.label != "benign" or a.kind not in SHARED_EXIT_P or rng.random() >= SHARED_EXIT_P[a.kind]:
            continue
        other = attackers[int(rng.integers(0, len(attackers)))]
        k = int(rng.integers(0, len(other.ips)))
        a.ips, a.asns = [*a.ips, other.ips[k]], [*a.asns, other.asns[k % len(other.asns)]]
        if rng.random() < 0.5 and other.user_agents:
            a.user_agents = [*a.user_agents, other.user_agents[0]]
        a.variant = "shared_exit"


def disguise(out: list, rng: np.random.Generator, defaults: list[str], vocab: Vocabulary) -> None:
    """Rewrite the members of the rings :data:`DISGUISED_RING_P` draws to share nothing distinctive (axis
    ``linkage``): own residential address, card (if they pay), webmail address and HTTP client, a stock system
    prompt from ``defaults`` if they send one. Template, schedule and extraction stay the ring's."""
    ids = Identities(rng, vocab)
    stock: dict[str, str] = {}
    accounts = {id(a): meta for a, _, meta in out}
    for a, disguised in operator_draws(out, rng, DISGUISED_RING_P):
        a.axes["linkage"] = "disguised" if disguised else "shared"
        if not disguised:
            continue
        ip, asn = ids.residential_ip()
        a.ips, a.asns = [ip], [asn]
        a.user_agents = [str(rng.choice(vocab.scripts + vocab.sdks))]
        if a.system_prompt is not None:
            a.system_prompt = stock.setdefault(a.ring_id, defaults[int(rng.integers(0, len(defaults)))])
        meta = accounts[id(a)]
        meta["email_domain"] = str(rng.choice(vocab.webmail))
        meta["payment_fingerprint"] = ids.fingerprint() if meta["payment_fingerprint"] else None
        meta["signup_ip"] = ids.residential_ip()[0]


def operator_draws(out: list, rng: np.random.Generator, p_by_kind: dict[str, float]):
    """``(account, yes)`` for every attack account of a kind in ``p_by_kind``: a draw with that kind's
    probability, one per operator (a ring's accounts take their first member's draw). Every eligible
    account draws, in order, so a probability changed for one kind moves no other account's draw.

    >>> rng = np.random.default_rng(0)
    >>> class A:                                    # an account: label, kind, ring_id
    ...     def __init__(self, ring): self.label, self.kind, self.ring_id = "attack", "burner", ring
    >>> out = [(A("r1"), 0, 0), (A("r1"), 0, 0), (A(None), 0, 0)]
    >>> draws = [yes for _, yes in operator_draws(out, rng, {"burner": 0.5})]
    >>> draws[0] == draws[1], len(draws)
    (True, 3)
    """
    shared: dict[str, bool] = {}
    for a, _, _ in out:
        if a.label != "attack" or a.kind not in p_by_kind:
            continue
        draw = bool(rng.random() < p_by_kind[a.kind])
        yield a, (shared.setdefault(a.ring_id, draw) if a.ring_id else draw)


def instruction_block(rng: np.random.Generator, p: float) -> str | None:
    """With probability ``p``, an operator's instruction block: :data:`PREAMBLE_SENTENCES` in an order of
    its own, repeated to 2,000-4,000 characters (else None).

    >>> block = instruction_block(np.random.default_rng(0), 1.0)
    >>> len(block) >= 2000, instruction_block(np.random.default_rng(0), 0.0)
    (True, None)
    """
    if rng.random() >= p:
        return None
    order = rng.permutation(len(PREAMBLE_SENTENCES))
    target, sentences = int(rng.integers(2000, 4000)), list[str]()
    while len(" ".join(sentences)) < target:
        sentences.append(PREAMBLE_SENTENCES[int(order[len(sentences) % len(order)])])
    return " ".join(sentences)


def _finish(frame: pl.DataFrame, config: SimulationConfig, rng: np.random.Generator, tiers: dict[str, str], vocab: Vocabulary) -> pl.DataFrame:
    """Derive status (429 past the per-minute cap, rare 5xx), tokens, latency and finish reasons."""
    n = frame.height
    start = config.start
    frame = frame.with_columns(
        (pl.lit(start) + pl.duration(microseconds=(pl.col("t") * 1e6).cast(pl.Int64))).dt.cast_time_unit("us").alias("ts"),
        pl.col("account_id").replace_strict(tiers, default="free").alias("_tier"),
    ).sort("ts")
    frame = frame.with_columns(
        pl.int_range(pl.len()).over("account_id", pl.col("ts").dt.truncate("1m")).alias("_rank_in_minute"),
        pl.col("_tier").replace_strict(RATE_LIMIT_PER_MINUTE, return_dtype=pl.Int64).alias("_cap"),
    )
    limited = frame["_rank_in_minute"] >= frame["_cap"]
    server_error = pl.Series(rng.random(n) < 0.003)
    status = pl.select(pl.when(pl.lit(limited)).then(429).when(pl.lit(server_error)).then(503).otherwise(200)).to_series()
    ok = status == 200
    max_tokens = frame["max_tokens"].cast(pl.Int64, strict=False)
    completion = frame["completion"].cast(pl.Int64)
    capped = pl.select(pl.min_horizontal(completion, max_tokens.fill_null(100_000))).to_series()
    length_cut = pl.select(max_tokens.is_not_null() & (completion >= max_tokens)).to_series()
    prompt_len = frame["prompt"].str.len_bytes().fill_null(200)      # UTF-8 bytes / 4: ~1 token a CJK character, ~0.5 a Cyrillic one
    prompt_tokens = (prompt_len / 4).cast(pl.Int64) + pl.Series(rng.integers(5, 60, n)) + frame["system_prompt_hash"].is_not_null().cast(pl.Int64) * 150
    if "_context" in frame.columns:                 # earlier turns sent along with a later one
        prompt_tokens = prompt_tokens + frame["_context"].fill_null(0).cast(pl.Int64)
    completion_tokens = pl.select(pl.when(pl.lit(ok)).then(capped).otherwise(0)).to_series()
    finish = pl.select(pl.when(~pl.lit(ok)).then(pl.lit("error")).when(pl.lit(length_cut)).then(pl.lit("length"))
                       .when(frame["tools"].cast(pl.Int64, strict=False).fill_null(0) > 0).then(pl.lit(rng.choice(["stop", "tool_calls"])))
                       .otherwise(pl.lit("stop"))).to_series()
    latency = (120 + completion_tokens.cast(pl.Float64) * pl.Series(rng.uniform(8, 25, n))).round(1)
    event_ids = _event_ids(rng.bytes(16 * n), n, vocab)
    prompt = frame["prompt"]
    trunc = pl.Series(rng.random(n) < 0.01)
    prompt = pl.select(pl.when(pl.lit(trunc) & (frame["account_id"].str.len_chars() > 0) & (pl.lit(rng.random(n)) < 0.5))
                       .then(None).otherwise(prompt)).to_series()
    return frame.with_columns(
        event_ids.alias("event_id"),
        status.alias("status"), prompt_tokens.alias("prompt_tokens"), completion_tokens.alias("completion_tokens"),
        finish.alias("finish_reason"), latency.alias("latency_ms"), prompt.alias("prompt"),
    )


def _event_ids(raw: bytes, n: int, vocab: Vocabulary) -> pl.Series:
    """Event ids from 16 random bytes each, in the vocabulary's format (a UUID-like 8-4-4-4-12
    grouping, or 24 hex digits), built column-wise.

    >>> _event_ids(bytes(range(32)), 2, VOCABULARIES["default"]).to_list()[1]
    '10111213-1415-1617-1819-1a1b1c1d1e1f'
    >>> _event_ids(bytes(range(32)), 2, VOCABULARIES["alt"]).to_list()[0]
    'req_000102030405060708090a0b'
    """
    hexes = pl.Series(np.frombuffer(raw.hex().encode(), dtype="S32")[:n]).cast(pl.Binary).cast(pl.String)
    col = pl.col("h")
    if vocab.name == "default":
        uid = pl.concat_str([col.str.slice(0, 8), col.str.slice(8, 4), col.str.slice(12, 4), col.str.slice(16, 4), col.str.slice(20, 12)], separator="-")
    else:
        uid = col.str.slice(0, 24)
    prefix, suffix = vocab.event_id.split("{uuid}")
    return pl.DataFrame({"h": hexes}).select(pl.concat_str([pl.lit(prefix), uid, pl.lit(suffix)]).alias("event_id")).to_series()


EVENT_ORDER = ["event_id", "ts", "account_id", "api_key_id", "end_user_id", "client_ip", "asn", "country", "user_agent", "endpoint",
               "model", "status", "latency_ms", "prompt_tokens", "completion_tokens", "finish_reason", "temperature", "top_p",
               "max_tokens", "n", "stream", "logprobs", "top_logprobs", "tools", "response_format", "conversation_id", "turn",
               "system_prompt_hash", "prompt"]
TYPES = {"asn": pl.Int64, "status": pl.Int64, "latency_ms": pl.Float64, "prompt_tokens": pl.Int64, "completion_tokens": pl.Int64,
         "temperature": pl.Float64, "top_p": pl.Float64, "max_tokens": pl.Int64, "n": pl.Int64, "stream": pl.Boolean,
         "logprobs": pl.Boolean, "top_logprobs": pl.Int64, "tools": pl.Int64, "turn": pl.Int64}


def _block_frame(block: dict) -> pl.DataFrame:
    n = len(block["t"])
    data = {}
    for key, value in block.items():
        if np.ndim(value) == 0 and not isinstance(value, list):
            value = np.full(n, value, dtype=object)
        arr = np.asarray(value, dtype=object) if not isinstance(value, list) else value
        if key in TYPES and not isinstance(value, list):
            data[key] = pl.Series(key, list(arr), dtype=TYPES[key], strict=False)
        elif key in ("t", "completion", "_context"):
            data[key] = pl.Series(key, np.asarray(value, dtype=np.float64))
        else:
            data[key] = pl.Series(key, list(arr) if not isinstance(arr, list) else arr, dtype=pl.String, strict=False)
    frame = pl.DataFrame(data)
    assert frame.height == n
    return frame


def _number_by_creation(population: list[tuple[Account, int, dict]], rng: np.random.Generator, vocab: Vocabulary) -> None:
    """Give account ids in order of creation (oldest first), as a sign-up system would: an id says
    when an account was made, never what kind it is."""
    order = sorted(range(len(population)), key=lambda i: -float(population[i][2]["age_days"]))
    ids = Identities(rng, vocab)
    for acct, _, _ in (population[i] for i in order):
        acct.account_id = ids.account_id()


def _truth_row(a: Account) -> dict:
    """The truth about one account: the contract's columns, then its variant and variation axes
    ("-" where an axis does not apply: benign accounts have a variant and a language, no attack axes)."""
    row = {"account_id": a.account_id, "kind": a.kind, "label": a.label, "hard_negative": a.hard_negative, "ring_id": a.ring_id,
           "ring_kind": a.ring_kind, "variant": a.variant, **{c: "-" for c in TRUTH_COLUMNS[7:]}, "language": a.language}
    ax = a.axes
    if ax:
        row.update({k: str(ax.get(k, "-")) for k in ATTACK_AXES},
                   volume=volume_bucket(ax["per_day"]), distill_share=ax.get("distill_share", "-"), reask_share=f"{ax['reask']:.2f}",
                   requests_per_day=str(int(round(ax["per_day"]))),
                   split_accounts=ax.get("split_accounts", "no" if a.kind == "bulk_extractor" else "-"), split_shared=ax.get("split_shared", "-"))
        if ax.get("reask_style") == "passes":          # the whole list run through again, or a batch of it at a time
            row["reask_style"] = "passes_of_list" if ax.get("passes_chunk", 1.0) >= 1.0 else "passes_of_batches"
    row.update(a.facets)
    return row


def simulate(config: SimulationConfig) -> SimulatedTraffic:
    """Generate a labelled population's traffic.

    >>> t = simulate(SimulationConfig(seed=1, scale=0.05))
    >>> sorted(set(t.truth["kind"])) == sorted(set(GENERATORS) - {"campus_member"} | {"campus_member"})
    True
    """
    rng = np.random.default_rng(config.seed)
    vocab = VOCABULARIES[config.vocabulary]
    population = build_population(config, rng, vocab)
    _number_by_creation(population, rng, vocab)
    ctx = Context(vocab=vocab, n_days=config.n_days, rng=rng)
    blocks = []
    for acct, n, _ in population:
        block = GENERATORS[acct.kind](acct, ctx, max(1, n))
        block.setdefault("endpoint", "/v1/chat/completions" if rng.random() < 0.7 else "/v1/messages")
        blocks.append(_block_frame(block))
    frame = pl.concat(blocks, how="diagonal_relaxed")
    for col in EVENT_ORDER:
        if col not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=TYPES.get(col, pl.String)).alias(col))
    tiers = {a.account_id: a.tier for a, _, _ in population}
    frame = frame.with_columns(pl.col("n").fill_null(1), pl.col("stream").fill_null(False))
    frame = _finish(frame, config, rng, tiers, vocab)
    for col, dtype in TYPES.items():
        frame = frame.with_columns(pl.col(col).cast(dtype, strict=False))
    events = frame.select(EVENT_ORDER)
    if config.duplicate_rate > 0:
        dup = events.sample(fraction=config.duplicate_rate, seed=config.seed)
        events = pl.concat([events, dup]).sort("ts")
    accounts = pl.DataFrame([
        {"account_id": a.account_id,
         "created_at": config.start - timedelta(days=float(m["age_days"])),
         "tier": m["tier"] if rng.random() > 0.03 else None, "email_domain": m["email_domain"],
         "payment_fingerprint": m["payment_fingerprint"], "signup_ip": m["signup_ip"], "country": m["country"]}
        for a, _, m in population
    ]).with_columns(pl.col("created_at").dt.cast_time_unit("us"))
    truth = pl.DataFrame([_truth_row(a) for a, _, _ in population],
                         schema={c: (pl.Boolean if c == "hard_negative" else pl.String) for c in TRUTH_COLUMNS})
    return SimulatedTraffic(events=events, accounts=accounts, truth=truth)
