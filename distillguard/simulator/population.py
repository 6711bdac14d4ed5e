"""Who is on the API: population mixes, identities, shared infrastructure and ground truth."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np
import polars as pl

from distillguard.simulator import timing
from distillguard.simulator.behaviours import GENERATORS, Account, Context
from distillguard.simulator.vocabulary import VOCABULARIES, Vocabulary

UTC = timezone.utc

#: Accounts per kind at scale 1 (rings: list of sizes).
MIXES: dict[str, dict] = {
    "default": {"casual_chat": 300, "developer": 80, "coding_agent": 30, "production_integration": 15, "benchmark_runner": 8,
                "batch_job": 8, "campuses": [30, 30], "bulk_extractor": 6, "coordinated_rings": [45, 35], "mimicry_rings": [20],
                "burner_groups": [6, 6], "reseller_rings": [4, 4]},
    "ring_heavy": {"casual_chat": 300, "developer": 80, "coding_agent": 30, "production_integration": 15, "benchmark_runner": 8,
                   "batch_job": 8, "campuses": [30, 30], "bulk_extractor": 6, "coordinated_rings": [150, 60, 40, 25],
                   "mimicry_rings": [20, 15], "burner_groups": [8, 6, 5], "reseller_rings": [5, 4, 3]},
    "hard_negative_heavy": {"casual_chat": 300, "developer": 80, "coding_agent": 30, "production_integration": 45,
                            "benchmark_runner": 24, "batch_job": 24, "campuses": [40, 30, 25, 20], "bulk_extractor": 6,
                            "coordinated_rings": [40, 30], "mimicry_rings": [20], "burner_groups": [6, 6], "reseller_rings": [4, 4]},
}

#: (median requests per day, lognormal sigma, low, high) per kind.
VOLUMES = {
    "casual_chat": (15, 0.8, 2, 150), "campus_member": (20, 0.8, 2, 200), "developer": (150, 0.7, 30, 800),
    "coding_agent": (500, 0.6, 150, 2000), "production_integration": (3500, 0.5, 1500, 10000), "batch_job": (2500, 0.4, 1000, 5000),
    "bulk_extractor": (12000, 0.5, 5000, 30000), "coordinated_ring": (250, 0.4, 100, 600), "mimicry_ring": (120, 0.4, 60, 250),
    "reseller_ring": (5000, 0.4, 2000, 10000),
}
RATE_LIMIT_PER_MINUTE = {"free": 30, "paid": 120, "enterprise": 600}
ATTACK_KINDS = {"bulk_extractor", "coordinated_ring", "mimicry_ring", "burner", "reseller_ring"}
HARD_NEGATIVES = {"production_integration", "benchmark_runner", "batch_job", "campus_member"}


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
        return "".join(self.rng.choice(list("0123456789abcdef"), k))

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

    def fingerprint(self) -> str:
        return hashlib.sha256(self.hexid(24).encode()).hexdigest()[:32]


def _count(c: float, scale: float, minimum: int = 1) -> int:
    return max(minimum, int(round(c * scale)))


def _volume(rng, kind: str, factor: float) -> int:
    median, sigma, low, high = VOLUMES[kind]
    return int(np.clip(rng.lognormal(np.log(median), sigma), low, high) * factor)


def build_population(config: SimulationConfig, rng: np.random.Generator, vocab: Vocabulary) -> list[tuple[Account, int, dict]]:
    """Every account with its request count and metadata (created_at offset in days, tier, e-mail, payment...)."""
    ids = Identities(rng, vocab)
    mix = MIXES[config.mix]
    s, days = config.scale, config.n_days
    factor = config.volume * days
    out: list[tuple[Account, int, dict]] = []

    def person(kind: str, label: str = "benign", hard: bool = False, **kw) -> Account:
        ip, asn = ids.residential_ip()
        return Account(ids.account_id(), kind, label, hard, tz=float(rng.choice([-8, -5, -3, 0, 1, 2, 5.5, 8, 9])), ips=[ip], asns=[asn],
                       country=str(rng.choice(["US", "GB", "DE", "BR", "IN", "JP", "FR", "CA"])),
                       user_agents=[str(rng.choice(vocab.browsers))], api_keys=[ids.key_id()], tier="free", **kw)

    def meta(age_days: float, tier: str, domain: str | None, payment: str | None, signup_ip: str | None, country: str) -> dict:
        return {"age_days": age_days, "tier": tier, "email_domain": domain, "payment_fingerprint": payment, "signup_ip": signup_ip, "country": country}

    for _ in range(_count(mix["casual_chat"], s)):
        a = person("casual_chat")
        a.user_agents = [str(rng.choice(vocab.browsers)), str(rng.choice(vocab.sdks))][: int(rng.integers(1, 3))]
        out.append((a, _volume(rng, "casual_chat", factor), meta(rng.lognormal(5, 1), "free", str(rng.choice(vocab.webmail)),
                                                                 ids.fingerprint() if rng.random() < 0.3 else None, a.ips[0], a.country)))
    for _ in range(_count(mix["developer"], s)):
        a = person("developer")
        a.user_agents = [str(rng.choice(vocab.sdks)), str(rng.choice(vocab.scripts))]
        a.ips.append(ids.datacenter_ips(1)[0][0])
        out.append((a, _volume(rng, "developer", factor), meta(rng.lognormal(5, 1), "paid", str(rng.choice(vocab.company_domains + vocab.webmail)),
                                                               ids.fingerprint(), a.ips[0], a.country)))
    for _ in range(_count(mix["coding_agent"], s)):
        a = person("coding_agent")
        a.user_agents = [str(rng.choice(vocab.sdks))]
        out.append((a, _volume(rng, "coding_agent", factor), meta(rng.lognormal(4.5, 1), "paid", str(rng.choice(vocab.company_domains)),
                                                                  ids.fingerprint(), a.ips[0], a.country)))
    for _ in range(_count(mix["production_integration"], s)):
        a = person("production_integration", hard=True)
        a.ips, a.asns = ids.datacenter_ips(int(rng.integers(2, 5)))
        a.user_agents = [str(rng.choice(vocab.sdks))]
        a.system_prompt = ids.fingerprint()
        a.tier = "enterprise"
        a.extra["end_users"] = [f"u-{ids.hexid(8)}" for _ in range(int(rng.integers(300, 3000)))]
        out.append((a, _volume(rng, "production_integration", factor), meta(rng.uniform(90, 900), "enterprise",
                                                                            str(rng.choice(vocab.company_domains)), ids.fingerprint(), a.ips[0], a.country)))
    for _ in range(_count(mix["benchmark_runner"], s)):
        a = person("benchmark_runner", hard=True)
        a.ips, a.asns = ids.datacenter_ips(1)
        a.user_agents = [str(rng.choice(vocab.scripts))]
        bank_size = int(rng.integers(150, 400))
        a.extra["bank"] = [str(rng.choice(vocab.benchmark_stems)).format(a=int(rng.integers(2, 999)), b=int(rng.integers(2, 99))) for _ in range(bank_size)]
        runs = int(rng.integers(2, 5)) * days
        out.append((a, int(bank_size * runs * config.volume), meta(rng.uniform(30, 600), "paid", str(rng.choice(vocab.company_domains)),
                                                                   ids.fingerprint(), a.ips[0], a.country)))
    for _ in range(_count(mix["batch_job"], s)):
        a = person("batch_job", hard=True)
        a.ips, a.asns = ids.datacenter_ips(1)
        a.user_agents = [str(rng.choice(vocab.sdks))]
        a.system_prompt = ids.fingerprint()
        a.tier = "paid"
        out.append((a, _volume(rng, "batch_job", factor), meta(rng.uniform(60, 700), "paid", str(rng.choice(vocab.company_domains)),
                                                               ids.fingerprint(), a.ips[0], a.country)))
    for size in mix["campuses"]:
        nat, nat_asn = ids.residential_ip()
        second, _ = ids.residential_ip()
        domain = f"campus{ids.hexid(3)}.edu" if vocab.name == "default" else f"uni-{ids.hexid(4)}.ac"
        for _ in range(_count(size, s, 8)):
            a = person("campus_member", hard=True)
            a.ips, a.asns = ([nat, second] if rng.random() < 0.3 else [nat]), [nat_asn]
            if rng.random() < 0.3:
                a.kind = "campus_member"
                a.user_agents = [str(rng.choice(vocab.sdks))]
            out.append((a, _volume(rng, "campus_member", factor), meta(rng.uniform(30, 1500), "free", domain,
                                                                       ids.fingerprint() if rng.random() < 0.5 else None, nat, a.country)))
    topic_space = len(vocab.subjects) * len(vocab.aspects)
    for _ in range(_count(mix["bulk_extractor"], s)):
        a = person("bulk_extractor", label="attack")
        a.ips, a.asns = ids.datacenter_ips(int(rng.integers(1, 4)))
        a.user_agents = [str(rng.choice(vocab.scripts))]
        a.topic_offset = int(rng.integers(0, topic_space))
        a.tier = str(rng.choice(["free", "paid"]))
        out.append((a, _volume(rng, "bulk_extractor", factor), meta(rng.uniform(0.5, 6), a.tier, str(rng.choice(vocab.webmail)),
                                                                    ids.fingerprint(), a.ips[0], a.country)))
    ring_no = 0
    for size in mix["coordinated_rings"]:
        ring_no += 1
        ring_id = f"truth-ring-{ring_no}"
        pool, pool_asn = ids.datacenter_ips(int(rng.integers(20, 80)), blocks=int(rng.integers(2, 4)))
        payments = [ids.fingerprint() for _ in range(int(rng.integers(3, 7)))]
        domain = str(rng.choice(vocab.shady_domains))
        system_prompt = ids.fingerprint()
        schedule = np.sort(rng.uniform(0, timing.DAY * days - 1500, int(6 * days)))
        templates = tuple(rng.choice(vocab.extraction_templates, 2, replace=False))
        created = rng.uniform(2, 8)
        ua = str(rng.choice(vocab.scripts))
        for m in range(_count(size, s, 5)):
            a = person("coordinated_ring", label="attack", ring_id=ring_id, ring_kind="coordinated")
            a.ips, a.asns = [pool[i] for i in rng.choice(len(pool), 6, replace=False)], pool_asn
            a.user_agents = [ua]
            a.system_prompt = system_prompt
            a.schedule = schedule + rng.uniform(0, 30)
            a.extra["templates"] = templates
            a.topic_offset = m * 37
            signup, _ = ids.datacenter_ips(1)
            out.append((a, _volume(rng, "coordinated_ring", factor), meta(created + rng.uniform(0, 2), "free", domain,
                                                                          str(rng.choice(payments)), pool[0], a.country)))
    for size in mix["mimicry_rings"]:
        ring_no += 1
        ring_id = f"truth-ring-{ring_no}"
        pool = [ids.residential_ip() for _ in range(int(rng.integers(25, 50)))]
        payments = [ids.fingerprint() for _ in range(int(rng.integers(2, 4)))]
        created = rng.uniform(3, 12)
        for m in range(_count(size, s, 5)):
            a = person("mimicry_ring", label="attack", ring_id=ring_id, ring_kind="coordinated")
            chosen = [pool[i] for i in rng.choice(len(pool), 5, replace=False)]
            a.ips, a.asns = [c[0] for c in chosen], [c[1] for c in chosen]
            a.topic_offset = m * 53
            out.append((a, _volume(rng, "mimicry_ring", factor), meta(created + rng.uniform(0, 3), "free", str(rng.choice(vocab.webmail)),
                                                                      str(rng.choice(payments)), chosen[0][0], a.country)))
    for size in mix["burner_groups"]:
        ring_no += 1
        ring_id = f"truth-ring-{ring_no}"
        pool, pool_asn = ids.datacenter_ips(int(rng.integers(3, 6)))
        payment = ids.fingerprint()
        templates = tuple(rng.choice(vocab.extraction_templates, 1))
        ua = str(rng.choice(vocab.scripts))
        k = _count(size, s, 4)
        slot = (timing.DAY * days - 3600) / k
        for m in range(k):
            a = person("burner", label="attack", ring_id=ring_id, ring_kind="coordinated")
            a.ips, a.asns = pool, pool_asn
            a.user_agents = [ua]
            a.active_from = m * slot + rng.uniform(0, 600)
            hours = float(rng.uniform(1.5, 3.5))
            a.active_to = min(a.active_from + hours * 3600, timing.DAY * days - 1)
            a.extra["templates"] = templates
            a.topic_offset = m * 211
            n = int((a.active_to - a.active_from) / rng.uniform(1.2, 1.8) * config.volume)
            out.append((a, n, meta(a.active_from / timing.DAY + rng.uniform(0.01, 0.2), "free", str(rng.choice(vocab.webmail)),
                                   payment, pool[0], a.country)))
            out[-1][2]["age_days"] = -(a.active_from / timing.DAY) + rng.uniform(0.01, 0.1)
    for size in mix["reseller_rings"]:
        ring_no += 1
        ring_id = f"truth-ring-{ring_no}"
        egress, egress_asn = ids.datacenter_ips(int(rng.integers(3, 7)))
        domain = str(rng.choice(vocab.shady_domains))
        customers = []
        for c in range(int(rng.integers(30, 100))):
            customers.append({"system_prompt": ids.fingerprint(), "user_agent": str(rng.choice(vocab.sdks + vocab.scripts + vocab.browsers)) + f" app/{c}",
                              "temperature": float(rng.choice([0.0, 0.3, 0.7, 1.0])), "max_tokens": int(rng.choice([256, 512, 1024, 4096])),
                              "distiller": bool(rng.random() < 0.2), "offset": int(rng.integers(0, 1000)),
                              "template": int(rng.integers(0, len(vocab.extraction_templates))), "user_prefix": f"{ids.hexid(4)}-"})
        payments = [ids.fingerprint() for _ in range(2)]
        k = _count(size, s, 3)
        for m in range(k):
            a = person("reseller_ring", label="attack", ring_id=ring_id, ring_kind="reseller")
            a.ips, a.asns = egress, egress_asn
            a.extra["customers"] = customers
            a.tier = "paid"
            out.append((a, _volume(rng, "reseller_ring", factor), meta(10 + 7 * (k - m) + rng.uniform(0, 2), "paid", domain,
                                                                       payments[m % 2], egress[0], a.country)))
    return out


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
    prompt_len = frame["prompt"].str.len_chars().fill_null(200)
    prompt_tokens = (prompt_len / 4).cast(pl.Int64) + pl.Series(rng.integers(5, 60, n)) + frame["system_prompt_hash"].is_not_null().cast(pl.Int64) * 150
    completion_tokens = pl.select(pl.when(pl.lit(ok)).then(capped).otherwise(0)).to_series()
    finish = pl.select(pl.when(~pl.lit(ok)).then(pl.lit("error")).when(pl.lit(length_cut)).then(pl.lit("length"))
                       .when(frame["tools"].cast(pl.Int64, strict=False).fill_null(0) > 0).then(pl.lit(rng.choice(["stop", "tool_calls"]))).otherwise(pl.lit("stop"))).to_series()
    latency = (120 + completion_tokens.cast(pl.Float64) * pl.Series(rng.uniform(8, 25, n))).round(1)
    uid = [str(uuid.UUID(int=int(x))) for x in rng.integers(0, 2**63, n, dtype=np.int64).astype(object) * (2**65) + rng.integers(0, 2**63, n, dtype=np.int64).astype(object)]
    event_ids = [vocab.event_id.format(uuid=u if vocab.name == "default" else u.replace("-", "")[:24]) for u in uid]
    prompt = frame["prompt"]
    trunc = pl.Series(rng.random(n) < 0.01)
    prompt = pl.select(pl.when(pl.lit(trunc) & (frame["account_id"].str.len_chars() > 0) & (pl.lit(rng.random(n)) < 0.5)).then(None).otherwise(prompt)).to_series()
    return frame.with_columns(
        pl.Series("event_id", event_ids),
        status.alias("status"), prompt_tokens.alias("prompt_tokens"), completion_tokens.alias("completion_tokens"),
        finish.alias("finish_reason"), latency.alias("latency_ms"), prompt.alias("prompt"),
    )


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
        elif key in ("t", "completion"):
            data[key] = pl.Series(key, np.asarray(value, dtype=np.float64))
        else:
            data[key] = pl.Series(key, list(arr) if not isinstance(arr, list) else arr, dtype=pl.String, strict=False)
    frame = pl.DataFrame(data)
    assert frame.height == n
    return frame


def simulate(config: SimulationConfig) -> SimulatedTraffic:
    """Generate a labelled population's traffic.

    >>> t = simulate(SimulationConfig(seed=1, scale=0.05))
    >>> sorted(set(t.truth["kind"])) == sorted(set(GENERATORS) - {"campus_member"} | {"campus_member"})
    True
    """
    rng = np.random.default_rng(config.seed)
    vocab = VOCABULARIES[config.vocabulary]
    population = build_population(config, rng, vocab)
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
    truth = pl.DataFrame([
        {"account_id": a.account_id, "kind": a.kind, "label": a.label, "hard_negative": a.hard_negative,
         "ring_id": a.ring_id, "ring_kind": a.ring_kind}
        for a, _, _ in population
    ], schema={"account_id": pl.String, "kind": pl.String, "label": pl.String, "hard_negative": pl.Boolean, "ring_id": pl.String, "ring_kind": pl.String})
    return SimulatedTraffic(events=events, accounts=accounts, truth=truth)
