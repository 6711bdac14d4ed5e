"""How each kind of account uses the API: one generator per behaviour, vectorised per account.

A generator gets the account (its identity and infrastructure), how many requests it makes,
and returns the columns of its events. Benign kinds and attack kinds are written side by side
so that what separates them is visible: behaviour, not wording.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from distillguard.simulator import timing
from distillguard.simulator.vocabulary import Vocabulary


@dataclass
class Account:
    account_id: str
    kind: str
    label: str
    hard_negative: bool
    tz: float
    ips: list[str]
    asns: list[int]
    country: str
    user_agents: list[str]
    api_keys: list[str]
    tier: str
    ring_id: str | None = None
    ring_kind: str | None = None
    system_prompt: str | None = None
    topic_offset: int = 0
    schedule: np.ndarray | None = None
    active_from: float = 0.0
    active_to: float = 0.0
    extra: dict = field(default_factory=dict)


@dataclass
class Context:
    vocab: Vocabulary
    n_days: int
    rng: np.random.Generator

    @property
    def span(self) -> float:
        return self.n_days * timing.DAY


def _pick(rng: np.random.Generator, options, n: int, p=None) -> np.ndarray:
    return np.asarray(options, dtype=object)[rng.choice(len(options), n, p=p)]


def _topics(v: Vocabulary) -> list[tuple[str, str]]:
    return [(s, a) for s in v.subjects for a in v.aspects]


def _lognormal_int(rng, n, median, sigma, low=1, high=100_000) -> np.ndarray:
    return np.clip(rng.lognormal(np.log(median), sigma, n), low, high).astype(np.int64)


def columns(acct: Account, ctx: Context, t: np.ndarray, prompts: list, **fields) -> dict:
    """The event columns for one account: scalars are broadcast, arrays kept."""
    rng, n = ctx.rng, len(t)
    ip_idx = rng.integers(0, len(acct.ips), n)
    out = {
        "t": t,
        "account_id": np.full(n, acct.account_id, dtype=object),
        "api_key_id": _pick(rng, acct.api_keys, n),
        "client_ip": np.asarray(acct.ips, dtype=object)[ip_idx],
        "asn": np.asarray(acct.asns, dtype=np.int64)[ip_idx % len(acct.asns)],
        "country": np.full(n, acct.country, dtype=object),
        "user_agent": _pick(rng, acct.user_agents, n),
        "prompt": prompts,
        "system_prompt_hash": np.full(n, acct.system_prompt, dtype=object),
    }
    for key, value in fields.items():
        out[key] = value if isinstance(value, np.ndarray) else np.full(n, value, dtype=object if isinstance(value, str) or value is None else None)
    return out


# -- benign -------------------------------------------------------------------------------------

def casual_chat(acct: Account, ctx: Context, n: int) -> dict:
    rng, v = ctx.rng, ctx.vocab
    t = timing.sessions(rng, n, ctx.n_days, acct.tz, mean_gap_s=70.0, per_session=4.0)
    opener, thing = _pick(rng, v.casual_openers, len(t)), _pick(rng, v.casual_things, len(t))
    extra = rng.integers(0, 10_000, len(t))
    prompts = [f"{o} {th}? (context: {e % 97} {v.subjects[e % len(v.subjects)]})" if e % 3 == 0 else f"{o} {th}" for o, th, e in zip(opener, thing, extra)]
    conv = np.cumsum(np.r_[1, np.diff(t) > 900])
    turn = np.ones(len(t), dtype=np.int64)
    for i in range(1, len(t)):
        turn[i] = turn[i - 1] + 1 if conv[i] == conv[i - 1] else 1
    return columns(acct, ctx, t, prompts, conversation_id=np.array([f"{acct.account_id}-c{c}" for c in conv], dtype=object), turn=turn,
                   temperature=_pick(rng, [None, 0.7, 1.0], len(t)), max_tokens=_pick(rng, [None, 1024], len(t)),
                   completion=_lognormal_int(rng, len(t), 250, 0.6), model=_pick(rng, v.models, len(t), p=[0.1, 0.4, 0.4, 0.1]))


def developer(acct: Account, ctx: Context, n: int) -> dict:
    rng, v = ctx.rng, ctx.vocab
    t = timing.sessions(rng, n, ctx.n_days, acct.tz, mean_gap_s=25.0, per_session=25.0, day_shape=timing.WORK_DAY)
    own = list(_pick(rng, v.dev_prompts, 4))
    prompts = [own[i % 4] if rng.random() < 0.6 else f"{p} (attempt {i % 7})" for i, p in enumerate(_pick(rng, v.dev_prompts, len(t)))]
    json_mode = rng.random(len(t)) < 0.3
    return columns(acct, ctx, t, prompts, response_format=np.where(json_mode, "json_object", None).astype(object),
                   tools=np.where(rng.random(len(t)) < 0.3, rng.integers(1, 6, len(t)), 0), temperature=0.2,
                   completion=_lognormal_int(rng, len(t), 180, 0.8), model=_pick(rng, v.models, len(t), p=[0.3, 0.4, 0.2, 0.1]))


def coding_agent(acct: Account, ctx: Context, n: int) -> dict:
    rng, v = ctx.rng, ctx.vocab
    t = timing.sessions(rng, n, ctx.n_days, acct.tz, mean_gap_s=9.0, per_session=60.0, day_shape=timing.WORK_DAY)
    conv = np.cumsum(np.r_[1, np.diff(t) > 600])
    turn = np.ones(len(t), dtype=np.int64)
    for i in range(1, len(t)):
        turn[i] = turn[i - 1] + 1 if conv[i] == conv[i - 1] else 1
    prompts = [f"{p} [step {k}]" for p, k in zip(_pick(rng, v.agent_prompts, len(t)), turn)]
    return columns(acct, ctx, t, prompts, conversation_id=np.array([f"{acct.account_id}-s{c}" for c in conv], dtype=object), turn=turn,
                   tools=rng.integers(5, 31, len(t)), temperature=0.0, completion=_lognormal_int(rng, len(t), 400, 0.7),
                   model=_pick(rng, v.models, len(t), p=[0.0, 0.2, 0.5, 0.3]), max_tokens=8192)


def production_integration(acct: Account, ctx: Context, n: int) -> dict:
    rng, v = ctx.rng, ctx.vocab
    t = timing.round_the_clock(rng, n, ctx.n_days, swell=0.6, tz_hours=acct.tz)
    phrase, obj = _pick(rng, v.customer_phrases, len(t)), _pick(rng, v.customer_objects, len(t))
    ids = rng.integers(0, 100_000, len(t))
    prompts = [v.integration_template.format(message=f"{p} {o} #{i}") for p, o, i in zip(phrase, obj, ids)]
    users = acct.extra["end_users"]
    return columns(acct, ctx, t, prompts, end_user_id=_pick(rng, users, len(t)), temperature=0.3, max_tokens=300,
                   response_format=np.where(rng.random(len(t)) < 0.5, "json_object", "text").astype(object),
                   completion=_lognormal_int(rng, len(t), 90, 0.4, high=300), model=v.models[1])


def benchmark_runner(acct: Account, ctx: Context, n: int) -> dict:
    rng, v = ctx.rng, ctx.vocab
    bank = acct.extra["bank"]
    runs = max(2, int(round(n / len(bank))))
    starts = np.sort(rng.uniform(0, ctx.span - 4 * 3600, runs))
    t = np.concatenate([s + np.cumsum(rng.uniform(0.5, 2.5, len(bank))) for s in starts])
    prompts = [q + v.benchmark_suffix for _ in range(runs) for q in bank]
    return columns(acct, ctx, t, prompts, temperature=0.0, max_tokens=1024, logprobs=rng.random(len(t)) < 0.6,
                   top_logprobs=np.where(rng.random(len(t)) < 0.3, 5, 0), completion=_lognormal_int(rng, len(t), 350, 0.5, high=1024),
                   model=v.models[-1 - int(rng.integers(0, 2))])


def batch_job(acct: Account, ctx: Context, n: int) -> dict:
    rng, v = ctx.rng, ctx.vocab
    nights = [((d * timing.DAY) + (2.0 - acct.tz) * 3600.0) % ctx.span for d in range(ctx.n_days)]
    t = timing.windows(rng, n, np.array(nights), length_s=float(rng.uniform(3600, 7200)), jitter=0.5)
    phrase, obj = _pick(rng, v.customer_phrases, len(t)), _pick(rng, v.customer_objects, len(t))
    prompts = [v.batch_template.format(item=f"{p} {o} ref {k}") for k, (p, o) in enumerate(zip(phrase, obj))]
    return columns(acct, ctx, t, prompts, temperature=0.0, max_tokens=64, response_format="json_object",
                   completion=_lognormal_int(rng, len(t), 20, 0.3, high=64), model=v.models[0], endpoint="/v1/batches")


# -- attacks ------------------------------------------------------------------------------------

def _sweep_prompts(rng, v: Vocabulary, n: int, offset: int, reasoning_rate: float, templates=None) -> list[str]:
    topics = _topics(v)
    templates = templates or v.extraction_templates
    tmpl = templates[int(rng.integers(0, len(templates)))]
    idx = (offset + np.arange(n)) % len(topics)
    k = offset + np.arange(n)
    reason = rng.random(n) < reasoning_rate
    suffix = _pick(rng, v.reasoning_suffixes, n)
    fmt = _pick(rng, v.format_suffixes, n)
    return [tmpl.format(topic=topics[i][0], aspect=topics[i][1], k=kk) + (s if r else "") + f
            for i, kk, r, s, f in zip(idx, k, reason, suffix, fmt)]


def _harvest_fields(rng, n: int, logprob_rate: float, multi_rate: float, temperature: float) -> dict:
    completion = _lognormal_int(rng, n, 1400, 0.5, high=4096)
    return {"temperature": temperature, "max_tokens": 4096, "completion": completion,
            "logprobs": rng.random(n) < logprob_rate, "top_logprobs": np.where(rng.random(n) < logprob_rate, 20, 0),
            "n": np.where(rng.random(n) < multi_rate, 4, 1)}


def bulk_extractor(acct: Account, ctx: Context, n: int) -> dict:
    rng, v = ctx.rng, ctx.vocab
    t = timing.metronome(rng, n, float(rng.uniform(0, 3600)), ctx.span - 60, jitter=0.1)
    prompts = _sweep_prompts(rng, v, len(t), acct.topic_offset, reasoning_rate=float(rng.uniform(0.75, 0.95)))
    return columns(acct, ctx, t, prompts, model=v.models[-1], **_harvest_fields(rng, len(t), rng.uniform(0.2, 0.6), rng.uniform(0.0, 0.3), 0.7))


def coordinated_member(acct: Account, ctx: Context, n: int) -> dict:
    rng, v = ctx.rng, ctx.vocab
    t = timing.windows(rng, n, acct.schedule, length_s=1200.0, jitter=0.3)
    prompts = _sweep_prompts(rng, v, len(t), acct.topic_offset, reasoning_rate=0.85, templates=acct.extra["templates"])
    return columns(acct, ctx, t, prompts, model=v.models[-1], **_harvest_fields(rng, len(t), 0.3, 0.1, 0.8))


def mimicry_member(acct: Account, ctx: Context, n: int) -> dict:
    rng, v = ctx.rng, ctx.vocab
    t = timing.sessions(rng, n, ctx.n_days, acct.tz, mean_gap_s=90.0, per_session=5.0)
    base = _sweep_prompts(rng, v, len(t), acct.topic_offset, reasoning_rate=0.7)
    opener = _pick(rng, v.paraphrase_openers, len(t))
    prompts = [f"{o} {p[0].lower()}{p[1:]}" for o, p in zip(opener, base)]
    conv = np.cumsum(np.r_[1, np.diff(t) > 900])
    turn = np.ones(len(t), dtype=np.int64)
    for i in range(1, len(t)):
        turn[i] = min(3, turn[i - 1] + 1) if conv[i] == conv[i - 1] else 1
    fields = _harvest_fields(rng, len(t), 0.1, 0.0, 1.0)
    fields["temperature"] = _pick(rng, [None, 0.7, 1.0], len(t))
    return columns(acct, ctx, t, prompts, model=v.models[-1], turn=turn,
                   conversation_id=np.array([f"{acct.account_id}-m{c}" for c in conv], dtype=object), **fields)


def burner(acct: Account, ctx: Context, n: int) -> dict:
    rng, v = ctx.rng, ctx.vocab
    t = timing.metronome(rng, n, acct.active_from, acct.active_to, jitter=0.3)
    prompts = _sweep_prompts(rng, v, len(t), acct.topic_offset, reasoning_rate=0.9, templates=acct.extra["templates"])
    return columns(acct, ctx, t, prompts, model=v.models[-1], **_harvest_fields(rng, len(t), 0.5, 0.2, 0.7))


def reseller(acct: Account, ctx: Context, n: int) -> dict:
    """A proxy fronting many downstream customers, each with its own app, client and style."""
    rng, v = ctx.rng, ctx.vocab
    t = timing.round_the_clock(rng, n, ctx.n_days, swell=0.3)
    customers = acct.extra["customers"]
    who = rng.integers(0, len(customers), len(t))
    prompts, sys_hash, ua, temp, max_tok, users = [], [], [], [], [], []
    completion = np.empty(len(t), dtype=np.int64)
    logprobs = np.zeros(len(t), dtype=bool)
    topics = _topics(v)
    for i, c in enumerate(who):
        cust = customers[c]
        if cust["distiller"]:
            tp = topics[(cust["offset"] + i) % len(topics)]
            prompts.append(v.extraction_templates[cust["template"]].format(topic=tp[0], aspect=tp[1], k=i) + v.reasoning_suffixes[cust["template"] % len(v.reasoning_suffixes)])
            completion[i] = int(rng.lognormal(np.log(1300), 0.5))
            logprobs[i] = rng.random() < 0.4
        else:
            prompts.append(f"{v.app_prompts[(cust['offset'] + i) % len(v.app_prompts)]} ({rng.integers(0, 1000)})")
            completion[i] = int(rng.lognormal(np.log(200), 0.6))
        sys_hash.append(cust["system_prompt"])
        ua.append(cust["user_agent"])
        temp.append(cust["temperature"])
        max_tok.append(cust["max_tokens"])
        users.append(f"{cust['user_prefix']}{rng.integers(0, 200)}")
    out = columns(acct, ctx, t, prompts, model=_pick(rng, v.models[1:], len(t)), temperature=np.array(temp, dtype=object),
                  max_tokens=np.array(max_tok, dtype=object), completion=np.minimum(completion, 4096), logprobs=logprobs,
                  end_user_id=np.array(users, dtype=object))
    out["system_prompt_hash"] = np.array(sys_hash, dtype=object)
    out["user_agent"] = np.array(ua, dtype=object)
    return out


GENERATORS: dict[str, Callable[[Account, Context, int], dict]] = {
    "casual_chat": casual_chat,
    "campus_member": casual_chat,
    "developer": developer,
    "coding_agent": coding_agent,
    "production_integration": production_integration,
    "benchmark_runner": benchmark_runner,
    "batch_job": batch_job,
    "bulk_extractor": bulk_extractor,
    "coordinated_ring": coordinated_member,
    "mimicry_ring": mimicry_member,
    "burner": burner,
    "reseller_ring": reseller,
}
