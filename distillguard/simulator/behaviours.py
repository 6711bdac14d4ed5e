"""How each kind of account uses the API: one generator per behaviour, vectorised per account.

A generator gets the account (its identity and infrastructure), how many requests it makes,
and returns the columns of its events. Benign kinds and attack kinds are written side by side
so that what separates them is visible: behaviour, not wording.

An attack account does not carry one fixed habit: its ``axes`` (drawn in
:mod:`distillguard.simulator.population`) say how often it re-asks its own earlier prompts, the
language it phrases them in, whether it asks for the reasoning in so many words or only leaves
room for long answers, its timing, whether it requests log-probabilities or several completions,
and whether it sends a system prompt; whether it dresses its harvest as a product serving many
end users (``fake_end_users``), wraps each prompt in a made-up conversation (``conversation_wrapping``),
sends tool definitions with every request to harvest agentic traces (``tool_traces``), opens every
prompt with a long instruction block of its own (``preamble``), harvests grades of candidate answers
(reward-model data) instead of answers (``target``),
or asks everything at temperature 0 (``greedy``). Benign kinds have hard ``variant`` s of their own;
the newer ones (an enterprise team, a research lab, an agency, a load test) also carry ``facets``
(the account's role in its group, the group's size, how new the account is).

Multi-turn requests carry the tokens of their earlier turns (``_context``, added to the prompt
tokens), benign chats and agents as much as harvesters posing as chats.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from distillguard.simulator import timing
from distillguard.simulator.grading import grading_phrasing
from distillguard.simulator.vocabulary import LANGUAGE_NAMES, Phrasing, Vocabulary, phrasing

#: A missing value for ``np.where``'s third argument (an object array: numpy's stubs read a plain
#: None there as "no third argument").
NONE = np.array(None, dtype=object)


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
    variant: str = "-"                 # benign: which variant of its kind (e.g. a multilingual evaluation lab)
    language: str = "en"               # the phrasing set its prompts are written in
    axes: dict = field(default_factory=dict)   # attack variation axes (see population.draw_style)
    facets: dict = field(default_factory=dict)  # benign hard variants: role, group_size, account_age


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


def _lognormal_int(rng, n, median, sigma, low=1, high=100_000) -> np.ndarray:
    return np.clip(rng.lognormal(np.log(median), sigma, n), low, high).astype(np.int64)


def conversation_ids(acct: Account, conv: np.ndarray) -> np.ndarray:
    """Conversation ids in one of several client-chosen formats, picked per account (not per kind)."""
    digest = hashlib.blake2b(acct.account_id.encode(), digest_size=8).hexdigest()
    style = int(digest, 16) % 4
    uniq, inverse = np.unique(conv, return_inverse=True)
    if style == 0:
        names = [f"{acct.account_id}-{c}" for c in uniq]
    elif style == 1:
        names = [f"conv_{digest[:10]}{int(c):05d}" for c in uniq]
    elif style == 2:
        names = [f"thread-{digest[4:12]}-{int(c)}" for c in uniq]
    else:
        names = [hashlib.blake2b(f"{digest}{int(c)}".encode(), digest_size=16).hexdigest() for c in uniq]
    return np.asarray(names, dtype=object)[inverse]


def _turns(t: np.ndarray, gap_s: float, cap: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Conversations split where the gap exceeds ``gap_s``; each request's turn within its conversation.

    >>> _turns(np.array([0.0, 1.0, 2.0, 100.0, 101.0]), 10.0, cap=2)[1].tolist()
    [1, 2, 2, 1, 2]
    """
    conv = np.cumsum(np.r_[1, np.diff(t) > gap_s])
    return conv, _positions(conv, cap)


def _positions(conv: np.ndarray, cap: int | None = None) -> np.ndarray:
    """1-based position of each element in its run of equal, consecutive ``conv`` values."""
    n = len(conv)
    first = np.r_[True, conv[1:] != conv[:-1]] if n else np.zeros(0, dtype=bool)
    start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    turn = (np.arange(n) - start + 1).astype(np.int64)
    return turn if cap is None else np.minimum(turn, cap)


def _history_tokens(rng: np.random.Generator, turn: np.ndarray, per_turn: float, base: np.ndarray | float = 0.0) -> np.ndarray:
    """Tokens of the earlier turns a chat client sends again with each message (history grows per turn)."""
    return (np.asarray(base) + (turn - 1) * _lognormal_int(rng, len(turn), per_turn, 0.4)).astype(np.int64)


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
    t = timing.sessions(rng, n, ctx.n_days, acct.tz, mean_gap_s=70.0, per_session=4.0, day_shape=acct.extra.get("day_shape", timing.HUMAN_DAY))
    extra = rng.integers(0, 10_000, len(t))
    if acct.language == "en":
        opener, thing = _pick(rng, v.casual_openers, len(t)), _pick(rng, v.casual_things, len(t))
        prompts = [f"{o} {th}? (context: {e % 97} {v.subjects[e % len(v.subjects)]})" if e % 3 == 0 else f"{o} {th}"
                   for o, th, e in zip(opener, thing, extra)]
    else:       # people asking in their own language, sometimes pasting a line of text along
        ph = phrasing(v, acct.language)
        ask, text = _pick(rng, ph.casual, len(t)), _pick(rng, ph.sentences, len(t))
        prompts = [f"{a} {s}" if e % 5 < 2 else (f"{a} ({e % 97})" if e % 5 == 2 else a) for a, s, e in zip(ask, text, extra)]
    conv, turn = _turns(t, 900)
    return columns(acct, ctx, t, prompts, conversation_id=conversation_ids(acct, conv), turn=turn, _context=_history_tokens(rng, turn, 320),
                   temperature=_pick(rng, [None, 0.7, 1.0], len(t)), max_tokens=_pick(rng, [None, 1024], len(t)),
                   completion=_lognormal_int(rng, len(t), 250, 0.6), model=_pick(rng, v.models, len(t), p=[0.1, 0.4, 0.4, 0.1]))


def developer(acct: Account, ctx: Context, n: int) -> dict:
    rng, v = ctx.rng, ctx.vocab
    t = timing.sessions(rng, n, ctx.n_days, acct.tz, mean_gap_s=25.0, per_session=25.0, day_shape=timing.WORK_DAY)
    own = list(_pick(rng, v.dev_prompts, 4))
    prompts = [own[i % 4] if rng.random() < 0.6 else f"{p} (attempt {i % 7})" for i, p in enumerate(_pick(rng, v.dev_prompts, len(t)))]
    json_mode = rng.random(len(t)) < 0.3
    return columns(acct, ctx, t, prompts, response_format=np.where(json_mode, "json_object", NONE).astype(object),
                   tools=np.where(rng.random(len(t)) < 0.3, rng.integers(1, 6, len(t)), 0), temperature=0.2,
                   completion=_lognormal_int(rng, len(t), 180, 0.8), model=_pick(rng, v.models, len(t), p=[0.3, 0.4, 0.2, 0.1]))


def coding_agent(acct: Account, ctx: Context, n: int) -> dict:
    rng, v = ctx.rng, ctx.vocab
    t = timing.sessions(rng, n, ctx.n_days, acct.tz, mean_gap_s=9.0, per_session=60.0, day_shape=timing.WORK_DAY)
    conv, turn = _turns(t, 600)
    prompts = [f"{p} [step {k}]" for p, k in zip(_pick(rng, v.agent_prompts, len(t)), turn)]
    repo = _lognormal_int(rng, int(conv[-1]) + 1, 6000, 0.8, high=60_000)[conv]       # files and instructions the agent loads per task
    return columns(acct, ctx, t, prompts, conversation_id=conversation_ids(acct, conv), turn=turn, _context=_history_tokens(rng, turn, 900, repo),
                   tools=rng.integers(5, 31, len(t)), temperature=0.0, completion=_lognormal_int(rng, len(t), 400, 0.7),
                   model=_pick(rng, v.models, len(t), p=[0.0, 0.2, 0.5, 0.3]), max_tokens=8192)


def production_integration(acct: Account, ctx: Context, n: int) -> dict:
    rng, v = ctx.rng, ctx.vocab
    t = timing.round_the_clock(rng, n, ctx.n_days, swell=0.6, tz_hours=acct.tz)
    if acct.variant == "translation_product":
        return _translation(acct, ctx, t)
    phrase, obj = _pick(rng, v.customer_phrases, len(t)), _pick(rng, v.customer_objects, len(t))
    ids = rng.integers(0, 100_000, len(t))
    prompts = [v.integration_template.format(message=f"{p} {o} #{i}") for p, o, i in zip(phrase, obj, ids)]
    users = acct.extra["end_users"]
    return columns(acct, ctx, t, prompts, end_user_id=_pick(rng, users, len(t)), temperature=0.3, max_tokens=300,
                   response_format=np.where(rng.random(len(t)) < 0.5, "json_object", "text").astype(object),
                   completion=_lognormal_int(rng, len(t), 90, 0.4, high=300), model=v.models[1])


def _translation(acct: Account, ctx: Context, t: np.ndarray) -> dict:
    """A translation product: its many end users paste text in many languages; one fixed instruction."""
    rng, v = ctx.rng, ctx.vocab
    langs = acct.extra["source_languages"]
    src = _pick(rng, langs, len(t), p=acct.extra["source_weights"])
    pairs = rng.integers(0, 10_000, (len(t), 3))
    texts, targets = [], []
    for lang, (a, b, c) in zip(src, pairs):
        sentences = phrasing(v, lang).sentences
        first = a % len(sentences)
        text = sentences[first] if c % 3 else sentences[first] + " " + sentences[(first + 1 + b % (len(sentences) - 1)) % len(sentences)]
        texts.append(text if c % 4 else f"{text} ({c % 500})")
        target = "en" if lang != "en" and c % 5 else str(langs[(a + b) % len(langs)])
        targets.append(LANGUAGE_NAMES[target if target != lang else ("fr" if lang == "en" else "en")])
    prompts = [v.translation_template.format(target=g, text=x) for g, x in zip(targets, texts)]
    completion = np.clip((np.array([len(x.encode()) for x in texts]) / 3.0 * rng.uniform(0.8, 1.4, len(t))).astype(np.int64), 5, None)
    return columns(acct, ctx, t, prompts, end_user_id=_pick(rng, acct.extra["end_users"], len(t)), temperature=acct.extra["temperature"],
                   max_tokens=acct.extra["max_tokens"], response_format="text", completion=completion, model=v.models[1])


def benchmark_runner(acct: Account, ctx: Context, n: int) -> dict:
    """An evaluation run: one fixed question bank, re-run in the same order (runs per day, same bank
    every day), deterministic, or pass@k with several samples at a fixed temperature."""
    rng, v = ctx.rng, ctx.vocab
    bank, params = acct.extra["bank"], acct.extra.get("bench", {})
    runs = max(2, int(round(n / len(bank))))
    starts = np.sort(rng.uniform(0, ctx.span - 4 * 3600, runs))
    t = np.concatenate([s + np.cumsum(rng.uniform(0.5, 2.5, len(bank))) for s in starts])
    prompts = [q for _ in range(runs) for q in bank]
    models = params.get("models", v.models[-2:])
    model = np.repeat(np.asarray(models, dtype=object)[np.arange(runs) % len(models)], len(bank)) if params else v.models[-1 - int(rng.integers(0, 2))]
    lp_rate = params.get("logprobs_rate", 0.6)
    max_tokens = params.get("max_tokens", 1024)
    return columns(acct, ctx, t, prompts, temperature=params.get("temperature", 0.0), max_tokens=max_tokens, n=params.get("n", 1),
                   logprobs=rng.random(len(t)) < lp_rate, top_logprobs=np.where(rng.random(len(t)) < lp_rate / 2, 5, 0),
                   completion=_lognormal_int(rng, len(t), params.get("completion", 350), 0.5, high=max_tokens), model=model)


def label_vendor(acct: Account, ctx: Context, n: int) -> dict:
    """A vendor generating labelled data for its own classifier: a steady, scripted, high-volume stream
    of always-new items through one fixed JSON instruction, with short answers under a low cap."""
    rng, v = ctx.rng, ctx.vocab
    t = timing.metronome(rng, n, float(rng.uniform(0, 600)), ctx.span - 60, jitter=float(rng.uniform(0.05, 0.3)))
    k = acct.extra["item_offset"] + np.arange(len(t))
    about = _pick(rng, v.label_items, len(t))
    if acct.language == "en":
        phrase, obj = _pick(rng, v.customer_phrases, len(t)), _pick(rng, v.customer_objects, len(t))
        items = [f"{p} {o}; mentions {a}. #{i}" for p, o, a, i in zip(phrase, obj, about, k)]
    else:
        sent = _pick(rng, phrasing(v, acct.language).sentences, len(t))
        items = [f"{s} [{a}] #{i}" for s, a, i in zip(sent, about, k)]
    prompts = [v.label_template.format(item=x) for x in items]
    max_tokens = acct.extra["max_tokens"]
    lp = acct.extra["logprobs"]
    return columns(acct, ctx, t, prompts, temperature=0.0, max_tokens=max_tokens, response_format="json_object",
                   logprobs=np.full(len(t), lp), top_logprobs=5 if lp else 0,
                   completion=_lognormal_int(rng, len(t), min(25, max_tokens // 2), 0.3, high=max_tokens), model=v.models[int(rng.integers(0, 2))])


def batch_job(acct: Account, ctx: Context, n: int) -> dict:
    rng, v = ctx.rng, ctx.vocab
    if acct.variant == "label_vendor":
        return label_vendor(acct, ctx, n)
    nights = [((d * timing.DAY) + (2.0 - acct.tz) * 3600.0) % ctx.span for d in range(ctx.n_days)]
    t = timing.windows(rng, n, np.array(nights), length_s=float(rng.uniform(3600, 7200)), jitter=0.5)
    phrase, obj = _pick(rng, v.customer_phrases, len(t)), _pick(rng, v.customer_objects, len(t))
    prompts = [v.batch_template.format(item=f"{p} {o} ref {k}") for k, (p, o) in enumerate(zip(phrase, obj))]
    return columns(acct, ctx, t, prompts, temperature=0.0, max_tokens=64, response_format="json_object",
                   completion=_lognormal_int(rng, len(t), 20, 0.3, high=64), model=v.models[0], endpoint="/v1/batches")


# -- benign groups and heavy users that look like attackers in one way or another ---------------

def enterprise_member(acct: Account, ctx: Context, n: int) -> dict:
    """One employee's account in a company team: a developer, a coding agent, a chat user (all in
    business hours of the office's time zone), or the company's internal tool (one system prompt,
    many employees as end users). Developers sometimes try the internal tool's prompt."""
    role = acct.facets["role"]
    if role == "internal_tool":
        return internal_tool(acct, ctx, n)
    out = {"developer": developer, "coding_agent": coding_agent, "chat": casual_chat}[role](acct, ctx, n)
    share = acct.extra.get("tool_share", 0.0)
    if share:
        m = len(out["t"])
        out["system_prompt_hash"] = np.where(ctx.rng.random(m) < share, acct.extra["tool_prompt"], NONE).astype(object)
    return out


def internal_tool(acct: Account, ctx: Context, n: int) -> dict:
    """A company's internal assistant (policies, tickets, documents): employees ask through it in the
    office's language during working hours; one fixed system prompt; employee ids as end users."""
    rng, v = ctx.rng, ctx.vocab
    t = timing.sessions(rng, n, ctx.n_days, acct.tz, mean_gap_s=40.0, per_session=6.0, day_shape=timing.WORK_DAY)
    ph = phrasing(v, acct.language)
    text, ask = _pick(rng, ph.sentences, len(t)), _pick(rng, ph.casual if acct.language != "en" else v.app_prompts, len(t))
    ref = rng.integers(100, 99_999, len(t))
    kind = rng.integers(0, 3, len(t))
    prompts = [f"{x} [DOC-{r}]" if k == 0 else f"{a}" if k == 1 else f"{x} {a} (#{r % 997})" for x, a, r, k in zip(text, ask, ref, kind)]
    users = acct.extra["end_users"]
    return columns(acct, ctx, t, prompts, end_user_id=_pick(rng, users, len(t)), temperature=acct.extra.get("temperature", 0.3),
                   max_tokens=acct.extra.get("max_tokens", 1024), completion=_lognormal_int(rng, len(t), 260, 0.6, high=1024),
                   model=acct.extra.get("model", v.models[1]))


def research_lab(acct: Account, ctx: Context, n: int) -> dict:
    """A research group member's evaluation runs on the benchmark the lab is building: chain-of-thought
    items in the lab's language, the item set growing over the window (a run later in the window
    has more items), bursts of runs on some days and idle days between; by role greedy long answers
    (``cot_eval``), several samples per item (``pass_at_k``), log-probabilities (``calibration``), or the
    model as a judge of the lab's own model's answers to the bank (``llm_judge``: every run grades new
    answers, so its prompts are new each run; worded as reward-model harvesters word theirs).
    Members share the bank (each runs it whole, or its own shard)."""
    rng, x = ctx.rng, acct.extra
    bank, start_size, cfg = x["bank"], x["bank_start"], x["run"]
    days = np.asarray(x["active_days"])
    runs = max(1, int(x["runs"]))
    hour = rng.uniform(8.5, 21.0, runs)
    starts = np.sort(np.clip(rng.choice(days, runs) * timing.DAY + (hour - acct.tz) * 3600.0, 0, max(1.0, ctx.span - 3 * 3600)))
    shard, shards = x.get("shard", (0, 1))
    times, prompts, models = [], [], []
    for r, s0 in enumerate(starts):
        size = int(start_size + (len(bank) - start_size) * s0 / ctx.span)
        items = np.arange(size)
        items = items[items % shards == shard]
        if items.size == 0:
            continue
        gaps = rng.uniform(0.15, 2.0, items.size) if rng.random() < 0.7 else rng.exponential(0.6, items.size)
        times.append(s0 + np.cumsum(gaps))
        prompts += [_judged(acct, ctx, bank[i], int(i)) for i in items] if cfg.get("judge") else [bank[i] for i in items]
        models.append(np.full(items.size, cfg["models"][r % len(cfg["models"])], dtype=object))
    t = np.concatenate(times)
    order = np.argsort(t, kind="stable")
    t = np.clip(t[order], 0, ctx.span - 1)
    prompts = [prompts[i] for i in order]
    m = len(t)
    lp = cfg["logprobs"]
    return columns(acct, ctx, t, prompts, temperature=cfg["temperature"], n=cfg["n"], max_tokens=cfg["max_tokens"],
                   logprobs=np.full(m, lp) if lp else None, top_logprobs=cfg["top_logprobs"] if lp else None,
                   completion=_lognormal_int(rng, m, cfg["completion"], 0.5, high=cfg["max_tokens"]),
                   model=np.concatenate(models)[order], stream=False)


def _judged(acct: Account, ctx: Context, item: str, k: int) -> str:
    """A judging request for one bank item: the lab's model's answer (new every run) to be graded."""
    rng, language = ctx.rng, acct.language
    gp, ph = grading_phrasing(ctx.vocab.name, language), phrasing(ctx.vocab, language)
    sep = "" if language in ("zh", "ja") else " "
    topic = str(ph.subjects[int(rng.integers(0, len(ph.subjects)))])
    answer = sep.join(gp.candidates[int(j)].format(topic=topic) for j in rng.integers(0, len(gp.candidates), int(rng.integers(3, 9))))
    return gp.pointwise[(k + int(acct.extra.get("judge_template", 0))) % 2].format(question=item, answer=answer, k=k)


def agency(acct: Account, ctx: Context, n: int) -> dict:
    """A dev agency's account fronting a few stable client apps: each app its own system prompt,
    client string, kind of request, language, sampling settings and end users (or none)."""
    rng, v = ctx.rng, ctx.vocab
    t = timing.sessions(rng, n, ctx.n_days, acct.tz, mean_gap_s=20.0, per_session=25.0, day_shape=timing.WORK_DAY)
    clients = acct.extra["clients"]
    m = len(t)
    who = rng.choice(len(clients), m, p=acct.extra["client_weights"])
    prompts = np.empty(m, dtype=object)
    cols = {k: np.empty(m, dtype=object) for k in ("system_prompt_hash", "user_agent", "temperature", "end_user_id", "response_format")}
    max_tokens = np.zeros(m, dtype=np.int64)
    completion = np.zeros(m, dtype=np.int64)
    for c, cl in enumerate(clients):
        idx = np.flatnonzero(who == c)
        k = idx.size
        if not k:
            continue
        ph = phrasing(v, cl["language"])
        ref = rng.integers(1, 99_999, k)
        app = cl["app"]
        if app == "support":
            if cl["language"] == "en":
                p = [f"{a} {b} #{r}" for a, b, r in zip(_pick(rng, v.customer_phrases, k), _pick(rng, v.customer_objects, k), ref)]
            else:
                p = [f"{a} ({r})" for a, r in zip(_pick(rng, ph.sentences, k), ref)]
            med = 110
        elif app == "content":
            p = [f"{a} ({r % 50})" for a, r in zip(_pick(rng, ph.casual if cl["language"] != "en" else v.app_prompts, k), ref)]
            med = 450
        elif app == "translate":
            target = "English" if cl["language"] != "en" else "French"
            p = [v.translation_template.format(target=target, text=x) for x in _pick(rng, ph.sentences, k)]
            med = 60
        elif app == "classify":
            p = [v.batch_template.format(item=f"{x} ref {r}") for x, r in zip(_pick(rng, ph.sentences, k), ref)]
            med = 20
        else:                                           # the agency's own developers, testing
            p = [f"{x} ({r % 9})" if r % 3 else x for x, r in zip(_pick(rng, v.dev_prompts, k), ref)]
            med = 200
        prompts[idx] = p
        completion[idx] = _lognormal_int(rng, k, med, 0.5, high=cl["max_tokens"])
        max_tokens[idx] = cl["max_tokens"]
        cols["system_prompt_hash"][idx] = cl["system_prompt"]
        cols["user_agent"][idx] = cl["user_agent"]
        cols["temperature"][idx] = cl["temperature"]
        cols["response_format"][idx] = "json_object" if app == "classify" else cl.get("format")
        cols["end_user_id"][idx] = _pick(rng, cl["end_users"], k) if cl["end_users"] else None
    out = columns(acct, ctx, t, list(prompts), max_tokens=max_tokens, completion=completion, model=_pick(rng, v.models[:3], m),
                  temperature=cols["temperature"], end_user_id=cols["end_user_id"], response_format=cols["response_format"])
    out["system_prompt_hash"], out["user_agent"] = cols["system_prompt_hash"], cols["user_agent"]
    return out


def load_tester(acct: Account, ctx: Context, n: int) -> dict:
    """An integration's pre-launch load test: a few hours at a very high, scripted rate (flat or in
    rising steps), one fixed prompt or a few templates with a counter, short answers; well past the
    tier's per-minute limit, so many answers are 429s."""
    rng, x = ctx.rng, acct.extra
    lo, hi = acct.active_from, acct.active_to
    if x["ramp"]:
        steps = int(rng.integers(3, 6))
        level = np.arange(1, steps + 1, dtype=float)
        per = np.maximum(1, (n * level / level.sum()).astype(int))
        edges = np.linspace(lo, hi, steps + 1)
        t = np.concatenate([timing.metronome(rng, k, a, b, jitter=0.1) for k, a, b in zip(per, edges[:-1], edges[1:])])
    else:
        t = timing.metronome(rng, n, lo, hi, jitter=float(rng.uniform(0.02, 0.4)))
    t = np.clip(t, 0, ctx.span - 1)
    m = len(t)
    templates = x["templates"]
    k = np.arange(m)
    if len(templates) == 1:
        prompts = [templates[0]] * m
    else:
        which = rng.integers(0, len(templates), m)
        prompts = [templates[w].format(i=i) for w, i in zip(which, k)]
    cap = x["max_tokens"]
    return columns(acct, ctx, t, prompts, max_tokens=cap, temperature=x["temperature"], stream=x["stream"],
                   completion=_lognormal_int(rng, m, max(4, cap // 3), 0.4, high=cap), model=x["model"])


# -- attacks ------------------------------------------------------------------------------------

def _attack_times(acct: Account, ctx: Context, n: int, start: float, end: float) -> np.ndarray:
    """A script's request times by the account's timing axis: a flat metronome, jittered gaps, or
    only the waking hours of its time zone."""
    rng, style = ctx.rng, acct.axes.get("timing", "flat")
    if style == "jittered":
        return timing.jittered(rng, n, start, end, shape=float(rng.uniform(0.5, 2.5)))
    if style == "diurnal":
        return timing.waking(rng, n, start, end, acct.tz)
    return timing.metronome(rng, n, start, end, jitter=float(rng.uniform(0.02, 0.15)))


def _sweep_prompts(rng, ph: Phrasing, n: int, offset: int, reasoning_rate: float, template: int | None = None) -> list[str]:
    """A sweep over the phrasing set's topic slots, one template, reasoning asked for at ``reasoning_rate``."""
    topics = [(s, a) for s in ph.subjects for a in ph.aspects]
    tmpl = ph.templates[(int(rng.integers(0, len(ph.templates))) if template is None else template) % len(ph.templates)]
    idx = (offset + np.arange(n)) % len(topics)
    k = offset + np.arange(n)
    reason = rng.random(n) < reasoning_rate
    suffix = _pick(rng, ph.reasoning, n)
    fmt = _pick(rng, ph.formats, n)
    return [tmpl.format(topic=topics[i][0], aspect=topics[i][1], k=kk) + (s if r else "") + f
            for i, kk, r, s, f in zip(idx, k, reason, suffix, fmt)]


def _grading_prompts(acct: Account, ctx: Context, n: int) -> list[str]:
    """A reward-model harvest: each request asks for a grade of a candidate answer to one question of
    the account's sweep, a quarter of them for a preference between two answers, in the account's
    language and two house templates of each form (:mod:`distillguard.simulator.grading`)."""
    rng, language = ctx.rng, acct.axes.get("language", "en")
    ph, gp = phrasing(ctx.vocab, language), grading_phrasing(ctx.vocab.name, language)
    questions = _sweep_prompts(rng, ph, n, acct.topic_offset, 0.0, acct.extra.get("template"))
    pointwise = [gp.pointwise[i] for i in rng.choice(len(gp.pointwise), 2, replace=False)]
    pairwise = [gp.pairwise[i] for i in rng.choice(len(gp.pairwise), 2, replace=False)]
    sep = "" if language in ("zh", "ja") else " "

    def candidate() -> str:                          # a policy model's answer: a few sentences on the topic
        picks = rng.integers(0, len(gp.candidates), int(rng.integers(4, 13)))
        topic = str(ph.subjects[int(rng.integers(0, len(ph.subjects)))])
        return sep.join(gp.candidates[i].format(topic=topic) for i in picks)

    pair, which = rng.random(n) < 0.25, rng.integers(0, 2, n)
    return [(pairwise[w].format(question=q, answer=candidate(), answer_b=candidate(), k=acct.topic_offset + i) if p
             else pointwise[w].format(question=q, answer=candidate(), k=acct.topic_offset + i))
            for i, (q, p, w) in enumerate(zip(questions, pair, which))]


def _attack_prompts(acct: Account, ctx: Context, n: int, explicit_rate: tuple[float, float] = (0.6, 1.0)) -> list[str]:
    if acct.axes.get("target") == "grades":
        return _grading_prompts(acct, ctx, n)
    ph = phrasing(ctx.vocab, acct.axes.get("language", "en"))
    rate = float(ctx.rng.uniform(*explicit_rate)) if acct.axes.get("reasoning", "explicit") == "explicit" else 0.0
    return _sweep_prompts(ctx.rng, ph, n, acct.topic_offset, rate, acct.extra.get("template"))


def reask(rng: np.random.Generator, prompts: list, rate: float, passes: float = 0.0) -> tuple[list, np.ndarray, int]:
    """Replace a share ``rate`` of requests by one of the account's earlier prompts: mostly right
    after it (best-of-n by repetition), otherwise any earlier one (retries, a second pass). With
    ``passes`` (0-1], the first ``1 - rate`` of the prompts are asked in chunks of that share of them,
    each chunk run through again and again before the next (k samples a prompt by running a batch of
    the list k times; 1: the whole list, then the whole list again). ``rng`` is drawn from as without
    passes, so the draws after stay as they were. Returns the prompts, the mask of re-asked requests and
    how many requests re-ask without passes (what the caller draws temperatures for, passes or not).

    >>> p, again, _ = reask(np.random.default_rng(0), [f"q{i}" for i in range(1000)], 0.4)
    >>> bool(0.35 < again.mean() < 0.45), len(set(p)) == 1000 - int(again.sum())
    (True, True)
    >>> p, again, _ = reask(np.random.default_rng(0), [f"q{i}" for i in range(10)], 0.5, passes=1.0)
    >>> p, again.tolist()
    (['q0', 'q1', 'q2', 'q3', 'q4', 'q0', 'q1', 'q2', 'q3', 'q4'], [False, False, False, False, False, True, True, True, True, True])
    >>> reask(np.random.default_rng(0), [f"q{i}" for i in range(12)], 0.5, passes=0.5)[0]
    ['q0', 'q1', 'q2', 'q0', 'q1', 'q2', 'q3', 'q4', 'q5', 'q3', 'q4', 'q5']
    """
    n = len(prompts)
    mask = np.zeros(n, dtype=bool)
    if rate <= 0 or n < 2:
        return list(prompts), mask, 0
    mask = rng.random(n) < rate
    mask[0] = False
    idx = np.flatnonzero(mask)
    recent = rng.random(idx.size) < 0.6
    src = np.arange(n)
    src[idx] = np.where(recent, np.maximum(idx - rng.integers(1, 4, idx.size), 0), (rng.random(idx.size) * idx).astype(np.int64))
    for _ in range(64):                                # follow re-asks of re-asks to the first asking
        nxt = src[src]
        if np.array_equal(nxt, src):
            break
        src = nxt
    drawn = int(mask.sum())
    if passes:
        distinct = max(1, int(round(n * (1.0 - rate))))
        chunk = max(1, int(round(distinct * passes)))
        src = np.concatenate([np.resize(np.arange(start, min(start + chunk, distinct)), int(round(min(chunk, distinct - start) * n / distinct)))
                              for start in range(0, distinct, chunk)])
        src = np.resize(src, n)
        first = np.zeros(n, dtype=bool)
        first[np.unique(src, return_index=True)[1]] = True
        mask = ~first
    return [prompts[i] for i in src], mask, drawn


def _passes(axes: dict) -> float:
    """The ``passes`` :func:`reask` takes for an account's axes: the share of its list run through at a time, or 0."""
    return float(axes.get("passes_chunk", 1.0)) if axes.get("reask_style") == "passes" else 0.0


def _resampled(rng: np.random.Generator, temperature: np.ndarray, again: np.ndarray, drawn: int, passes: float) -> np.ndarray:
    """``temperature`` (per request) with the re-asked requests (``again``) sampled at 0.7-1.0, best-of-n; with
    ``passes``, every request at one such setting. ``drawn`` (:func:`reask`'s third value) temperatures are drawn
    from ``rng`` either way, so the draws after stay as they were."""
    warm = np.round(rng.uniform(0.7, 1.0, drawn), 2)
    if passes:
        temperature[:] = round(float(warm[0]) if drawn else 0.8, 1)
    else:
        temperature[again] = warm
    return temperature


def _harvest_fields(rng, n: int, acct: Account) -> dict:
    """Answer length, cap and sampling parameters by the account's reasoning and sampling axes."""
    ax = acct.axes
    if ax.get("target") == "grades":                     # a grade with a short justification: answers shorter than the prompt
        max_tokens = int(rng.choice([256, 512, 1024]))
        completion = _lognormal_int(rng, n, float(rng.uniform(40, 300)), 0.6, high=max_tokens)
    elif ax.get("reasoning", "explicit") == "implicit":    # no phrase: a high cap and long answers do the asking
        max_tokens = int(rng.choice([8192, 16384, 32000]))
        completion = _lognormal_int(rng, n, float(rng.uniform(2500, 6000)), 0.5, high=max_tokens)
    else:
        max_tokens = int(rng.choice([2048, 4096, 4096, 8192]))
        completion = _lognormal_int(rng, n, 1400, 0.5, high=max_tokens)
    sampling = ax.get("sampling", "none")
    fields: dict = {"max_tokens": max_tokens, "completion": completion}
    if sampling in ("logprobs", "both"):
        lp = rng.random(n) < float(rng.uniform(0.5, 1.0))
        fields.update(logprobs=lp, top_logprobs=np.where(lp, int(rng.choice([5, 10, 20])), 0))
    if ax.get("greedy") == "yes":                        # deterministic: temperature 0 on every request, never n > 1
        fields["temperature"] = 0.0
    elif sampling in ("multi", "both"):
        fields["n"] = np.where(rng.random(n) < float(rng.uniform(0.3, 1.0)), int(rng.choice([2, 3, 4, 5, 8])), 1)
        fields["temperature"] = float(rng.choice([0.7, 0.8, 1.0]))
    else:
        fields["temperature"] = rng.choice(np.array([None, 0.0, 0.3, 0.7, 1.0], dtype=object))
    return fields


def _attack_columns(acct: Account, ctx: Context, t: np.ndarray, prompts: list, temperatures: list | None = None, **extra) -> dict:
    """Harvest fields and re-asks on top of the prompts; ``temperatures``: per-request choices instead
    of one setting (a web client's mix)."""
    rng, ax = ctx.rng, acct.axes
    greedy = ax.get("greedy") == "yes"
    fields = _harvest_fields(rng, len(t), acct)
    if temperatures is not None and "n" not in fields and not greedy:
        fields["temperature"] = _pick(rng, temperatures, len(t))
    passes = _passes(ax)
    prompts, again, drawn = reask(rng, prompts, ax.get("reask", 0.0), passes=passes)
    if (again.any() or drawn) and not greedy:          # best-of-n: the same prompt again, sampled at 0.7-1.0
        temp = (np.array(fields["temperature"], dtype=object) if isinstance(fields["temperature"], np.ndarray)
                else np.full(len(t), fields["temperature"], dtype=object))
        fields["temperature"] = _resampled(rng, temp, again, drawn, passes)
    fields.update(extra)
    block = acct.extra.get("preamble")
    if block:                                          # the operator's instruction block before every item
        prompts = [f"{block}\n\n{p}" if p is not None else p for p in prompts]
    wrapping = ax.get("conversation_wrapping", "no")
    if wrapping in ("fake_history", "threaded"):
        prompts, conversation = _wrap_in_conversations(acct, ctx, prompts, wrapping)
        fields.update(conversation)
    if ax.get("fake_end_users", "no") in ("uniform", "skewed"):
        fields["end_user_id"] = _fake_end_users(acct, rng, len(t), ax["fake_end_users"])
    if ax.get("tool_traces") == "yes":
        fields["tools"] = _tool_definitions(acct, len(t))
    return columns(acct, ctx, t, prompts, **fields)


def _tool_definitions(acct: Account, n: int) -> np.ndarray:
    """Tool definitions sent with each request by a harvester of agentic traces: the operator's tool set
    (a few to a dozen tools), sometimes trimmed to the task. Its own generator, seeded by the account,
    so the rest of the traffic keeps its draws."""
    rng = np.random.default_rng(zlib.crc32(acct.account_id.encode()))
    size = int(rng.integers(3, 13))
    return np.where(rng.random(n) < 0.8, size, rng.integers(1, size + 1, n))


def _wrap_in_conversations(acct: Account, ctx: Context, prompts: list, style: str) -> tuple[list, dict]:
    """Harvest prompts dressed as later turns of chats: ``fake_history`` gives every prompt a
    conversation of its own with made-up earlier turns (turn 2-8, their tokens sent along);
    ``threaded`` chains consecutive prompts as the turns of conversations of 3-12 messages. Some
    prompts get a chat-like lead-in in the account's language, chosen per prompt text (a re-ask of
    a prompt is wrapped the same way)."""
    rng, n = ctx.rng, len(prompts)
    ph = phrasing(ctx.vocab, acct.axes.get("language", "en"))
    sep = "" if ph.language in ("zh", "ja") else " "
    rate = acct.extra.setdefault("followup_rate", float(rng.uniform(0.2, 0.8)))
    out = []
    for p in prompts:
        h = zlib.crc32(p.encode()) if p is not None else 0
        lead = ph.followups[h % len(ph.followups)] if (h >> 8) % 1000 < rate * 1000 else None
        out.append(f"{lead}{sep}{p[0].lower()}{p[1:]}" if lead and p and ph.language in ("en", "es", "de", "fr", "ru") else
                   f"{lead}{sep}{p}" if lead and p else p)
    if style == "fake_history":
        conv = np.arange(n)
        turn = rng.integers(2, 9, n)
    else:
        sizes = rng.integers(3, 13, n // 3 + 2)
        conv = np.repeat(np.arange(sizes.size), sizes)[:n]
        turn = _positions(conv)
    return out, {"conversation_id": conversation_ids(acct, conv), "turn": turn, "_context": _history_tokens(rng, turn, 1100)}


def _fake_end_users(acct: Account, rng: np.random.Generator, n: int, style: str) -> np.ndarray:
    """End-user ids a harvester invents to pass as a product: ``uniform`` draws each request's id at
    random from a pool about as large as its traffic (most ids seen once or twice); ``skewed`` from a
    smaller pool with a few heavy users, as a real product's users are."""
    pool = np.asarray(acct.extra["fake_users"], dtype=object)
    if style == "uniform":
        return pool[rng.integers(0, len(pool), n)]
    weights = 1.0 / np.arange(1, len(pool) + 1) ** float(rng.uniform(0.8, 1.2))
    return pool[rng.choice(len(pool), n, p=weights / weights.sum())]


def bulk_extractor(acct: Account, ctx: Context, n: int) -> dict:
    rng, v = ctx.rng, ctx.vocab
    t = _attack_times(acct, ctx, n, float(rng.uniform(0, 3600)), ctx.span - 60)
    return _attack_columns(acct, ctx, t, _attack_prompts(acct, ctx, len(t)), model=v.models[-1])


def coordinated_member(acct: Account, ctx: Context, n: int) -> dict:
    """A ring member: the ring's shared job windows (flat), requests scattered over them (jittered),
    or a person's waking day (diurnal)."""
    rng, v = ctx.rng, ctx.vocab
    style, schedule = acct.axes.get("timing", "flat"), acct.schedule
    if schedule is None:
        raise ValueError(f"ring member {acct.account_id} has no ring schedule")
    if style == "flat":
        t = timing.windows(rng, n, schedule, length_s=1200.0, jitter=0.3)
    elif style == "jittered":
        w = rng.integers(0, len(schedule), max(1, n))
        t = np.sort(np.clip(schedule[w] + rng.uniform(0, 2400, w.size), 0, ctx.span - 1))
    else:
        t = timing.waking(rng, n, 0.0, ctx.span - 1, acct.tz)
    return _attack_columns(acct, ctx, t, _attack_prompts(acct, ctx, len(t), (0.7, 1.0)), model=v.models[-1])


def mimicry_member(acct: Account, ctx: Context, n: int) -> dict:
    rng, v = ctx.rng, ctx.vocab
    style = acct.axes.get("timing", "diurnal")
    if style == "diurnal":
        t = timing.sessions(rng, n, ctx.n_days, acct.tz, mean_gap_s=90.0, per_session=5.0, day_shape=timing.AWAKE_DAY)
    else:
        t = _attack_times(acct, ctx, n, 0.0, ctx.span - 60)
    ph = phrasing(v, acct.axes.get("language", "en"))
    base = _attack_prompts(acct, ctx, len(t), (0.5, 0.9))
    opener = _pick(rng, ph.openers, len(t))
    sep = "" if ph.language in ("zh", "ja") else " "
    prompts = [f"{o}{sep}{p[0].lower()}{p[1:]}" for o, p in zip(opener, base)]
    conv, turn = _turns(t, 900, cap=3)
    return _attack_columns(acct, ctx, t, prompts, temperatures=[None, 0.7, 1.0], model=v.models[-1], turn=turn,
                           conversation_id=conversation_ids(acct, conv))


def burner(acct: Account, ctx: Context, n: int) -> dict:
    v = ctx.vocab
    t = _attack_times(acct, ctx, n, acct.active_from, acct.active_to)
    return _attack_columns(acct, ctx, t, _attack_prompts(acct, ctx, len(t), (0.75, 1.0)), model=v.models[-1])


def reseller(acct: Account, ctx: Context, n: int) -> dict:
    """A proxy fronting many downstream customers, each with its own app, client and style; the
    distillers among them write in their own languages, and re-ask by the reseller's axis."""
    rng, v = ctx.rng, ctx.vocab
    if acct.axes.get("timing") == "diurnal":
        t = timing.waking(rng, n, 0.0, ctx.span - 1, acct.tz)
    else:
        t = timing.round_the_clock(rng, n, ctx.n_days, swell=0.3)
    customers = acct.extra["customers"]
    who = rng.integers(0, len(customers), len(t))
    noise, user_no = rng.integers(0, 1000, len(t)), rng.integers(0, 200, len(t))
    spread = rng.standard_normal(len(t))
    prompts, sys_hash, ua, temp, max_tok, users = [], [], [], [], [], []
    completion = np.empty(len(t), dtype=np.int64)
    distilling = np.zeros(len(t), dtype=bool)
    sampling = acct.axes.get("sampling", "none")
    stripped = acct.axes.get("system_prompt") == "stripped"      # the proxy forwards no system prompt
    own_client = acct.axes.get("proxy_client") == "own"          # ... and calls with its own client, not its customers'
    for i, c in enumerate(who):
        cust = customers[c]
        if cust["distiller"]:
            ph = phrasing(v, cust["language"])
            j = (cust["offset"] + i) % (len(ph.subjects) * len(ph.aspects))
            suffix = ph.reasoning[cust["template"] % len(ph.reasoning)] if cust["explicit"] else ""
            prompts.append(ph.templates[cust["template"] % len(ph.templates)].format(
                topic=ph.subjects[j // len(ph.aspects)], aspect=ph.aspects[j % len(ph.aspects)], k=i) + suffix)
            completion[i] = int(np.exp(np.log(1300 if cust["explicit"] else 3000) + 0.5 * spread[i]))
            distilling[i] = True
        else:
            prompts.append(f"{v.app_prompts[(cust['offset'] + i) % len(v.app_prompts)]} ({noise[i]})")
            completion[i] = int(np.exp(np.log(200) + 0.6 * spread[i]))
        sys_hash.append(None if stripped else cust["system_prompt"])
        ua.append(acct.extra["proxy_ua"] if own_client else cust["user_agent"])
        temp.append(cust["temperature"])
        max_tok.append(cust["max_tokens"] if not cust["distiller"] or cust["explicit"] else 16384)
        users.append(f"{cust['user_prefix']}{user_no[i]}")
    idx = np.flatnonzero(distilling)
    passes = _passes(acct.axes)
    again_prompts, again, drawn = reask(rng, [prompts[i] for i in idx], acct.axes.get("reask", 0.0), passes=passes)
    temp_arr = np.array(temp, dtype=object)
    for j, i in enumerate(idx.tolist()):
        prompts[i] = again_prompts[j]
    if acct.axes.get("greedy") == "yes":                 # the distilling customers ask everything at temperature 0
        temp_arr[idx] = 0.0
    else:
        temp_arr[idx] = _resampled(rng, temp_arr[idx], again, drawn, passes)
    logprobs = np.full(len(t), None, dtype=object)          # not sent, unless a distilling customer asks
    n_col = np.ones(len(t), dtype=np.int64)
    if sampling in ("logprobs", "both"):
        logprobs[idx] = rng.random(idx.size) < 0.7
    if sampling in ("multi", "both"):
        n_col[idx] = np.where(rng.random(idx.size) < 0.6, 4, 1)
    max_arr = np.array(max_tok, dtype=np.int64)
    out = columns(acct, ctx, t, prompts, model=_pick(rng, v.models[1:], len(t)), temperature=temp_arr,
                  max_tokens=max_arr, completion=np.minimum(completion, max_arr), logprobs=logprobs, n=n_col,
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
    "enterprise_member": enterprise_member,
    "research_lab": research_lab,
    "agency": agency,
    "load_tester": load_tester,
    "bulk_extractor": bulk_extractor,
    "coordinated_ring": coordinated_member,
    "mimicry_ring": mimicry_member,
    "burner": burner,
    "reseller_ring": reseller,
}
