"""The detection policy: evidence, not gates; rings without prior suspicion; one policy for batch and stream."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import polars as pl
import pytest

from distillguard.config import Settings
from distillguard.features import account_features
from distillguard.features.text import FIXED_FORMAT, REASONING, RUBRIC, normalised_prompt, template_features
from distillguard.models.policy import FAMILIES, DetectionPolicy, PolicySettings, beyond_a_bank
from distillguard.models.reasons import account_reasons
from distillguard.models.rings import (
    RingSettings,
    cofiring_links,
    cohort_links,
    creation_links,
    deployment_cohort_links,
    frame_links,
    link_groups,
    link_values,
    participants,
    ring_evidence,
    suspect_links,
    sync_links,
    template_cohort_links,
)
from distillguard.stream.scoring import StreamScorer

T0 = datetime(2026, 11, 2, tzinfo=timezone.utc)

HARVESTER = {
    "account_id": "h", "n_requests": 9000, "requests_per_active_hour": 400.0, "requests_per_day": 9000.0,
    "reasoning_share": 0.9, "rubric_share": 0.0, "fixed_format_share": 0.2, "long_answer_share": 0.8,
    "completion_tokens_median": 1300.0, "completion_prompt_ratio": 20.0, "length_cut_share": 0.1,
    "logprobs_share": 0.4, "multi_sample_share": 0.0, "hot_reask_share": 0.3, "cold_reask_share": 0.0,
    "prompt_growth": 0.7, "distinct_prompts": 6000, "slot_diversity": 0.5, "top_skeleton_share": 0.4,
    "interarrival_cv": 0.2, "hour_entropy": 0.95, "account_age_days": 2.0, "rate_limited_share": 0.05,
    "n_prefixes": 3, "n_system_prompts": 0, "n_client_styles": 1, "n_user_agents": 1, "n_end_users": 0,
    "mean_turn": 1.0, "tool_share": 0.0, "anomaly": 0.6,
}
#: Each habit an attacker can drop, as the feature values of an attacker that dropped it.
DROPPED_HABITS = {
    "reasoning words": {"reasoning_share": 0.0},
    "long answers": {"long_answer_share": 0.0, "completion_tokens_median": 300.0, "completion_prompt_ratio": 3.0},
    "sampling": {"logprobs_share": 0.0, "hot_reask_share": 0.0},
    "never re-asking (re-asks half)": {"hot_reask_share": 0.5, "prompt_growth": 0.45},
    "fresh account (aged)": {"account_age_days": 600.0},
    "scripted timing": {"interarrival_cv": 1.5, "hour_entropy": 0.6},
    "volume": {"requests_per_day": 800.0, "requests_per_active_hour": 60.0, "n_requests": 1600, "distinct_prompts": 1200},
    "rate-limit pressure": {"rate_limited_share": 0.0},
    "proxy pool": {"n_prefixes": 1},
    "unusual shape": {"anomaly": 0.0},
}


def score_of(row: dict, **kw) -> float:
    return DetectionPolicy(**kw).score(pl.DataFrame([row]))["score"][0]


@pytest.mark.parametrize("habit", list(DROPPED_HABITS))
def test_dropping_any_one_habit_lowers_the_score_but_the_harvester_is_still_flagged(habit):
    full = score_of(HARVESTER)
    dropped = score_of({**HARVESTER, **DROPPED_HABITS[habit]})
    assert dropped <= full + 1e-9
    assert dropped >= 1.0, f"dropping {habit} alone clears the harvester ({dropped:.2f})"


def test_no_single_family_flags_and_none_zeroes():
    policy = DetectionPolicy()
    evidence = policy.score(pl.DataFrame([HARVESTER]))
    weights = policy.settings.weights
    assert max(weights.values()) < policy.settings.flag_points          # no family alone reaches the bar
    for family in FAMILIES:
        ablated = DetectionPolicy(ablate=[family]).score(pl.DataFrame([HARVESTER]))
        assert ablated[f"ev_{family}"][0] == 0.0
        assert ablated["score"][0] > 0.5 * evidence["score"][0]


def test_counter_evidence_lowers_but_never_clears_a_strong_harvester():
    benchmark_like = {**HARVESTER, "cold_reask_share": 0.9, "prompt_growth": 0.0, "mean_turn": 4.0, "n_end_users": 5000}
    assert score_of(benchmark_like) < score_of(HARVESTER)
    assert score_of(benchmark_like) > 0.3


def test_a_bank_sampled_again_at_several_temperatures_is_a_harvest_and_one_re_run_at_fixed_settings_is_not():
    # both ask every prompt of a 1,500-item chain-of-thought bank three times, in passes (the set stops growing)
    passes = {**HARVESTER, "hot_reask_share": 0.66, "prompt_growth": 0.05, "distinct_prompts": 1500, "logprobs_share": 0.0,
              "multi_sample_share": 0.0, "account_age_days": 400.0, "rate_limited_share": 0.0, "anomaly": 0.3}
    harvest = {**passes, "temperature_distinct": 12}          # best-of-n for diverse answers: a new temperature each pass
    evaluation = {**passes, "temperature_distinct": 1}        # pass@k the way an evaluation runs it: one fixed setting
    scored = DetectionPolicy().score(pl.DataFrame([harvest, evaluation]))
    assert scored["ev_rerun"][0] == 0.0 and scored["ev_rerun"][1] > 0.9
    assert scored["ev_sampling"][0] > scored["ev_sampling"][1]
    assert scored["score"][0] >= 1.0
    assert scored["score"][1] < scored["score"][0] - 0.3


def test_a_list_larger_than_any_benchmark_run_through_twice_at_one_setting_is_a_harvest_not_a_bank_re_run():
    # the pass@k evaluation above, at one fixed setting; the same passes over 27,000 prompts are a harvest's (k samples a
    # prompt by running the list through again), however fixed the setting
    evaluation = {**HARVESTER, "hot_reask_share": 0.5, "prompt_growth": 0.05, "distinct_prompts": 1500, "temperature_distinct": 1,
                  "logprobs_share": 0.0, "multi_sample_share": 0.0, "account_age_days": 400.0, "rate_limited_share": 0.0, "anomaly": 0.3}
    second_pass = {**evaluation, "distinct_prompts": 27000}
    scored = DetectionPolicy().score(pl.DataFrame([evaluation, second_pass]))
    as_a_bank = DetectionPolicy(PolicySettings(harvest_bank_log10=(9.0, 10.0))).score(pl.DataFrame([second_pass]))
    assert scored["ev_rerun"][0] > 0.5 and scored["ev_rerun"][1] == 0.0
    assert scored["ev_sampling"][1] > scored["ev_sampling"][0]
    assert scored["score"][1] > as_a_bank["score"][0] + 0.3 and scored["score"][1] >= 1.0


def test_thousands_of_long_answers_a_day_are_volume_as_tens_of_thousands_of_short_ones_are():
    # aged, no reasoning words, no sampling, waking hours, no rate limits: volume of answers is what is left
    quiet = {**HARVESTER, "reasoning_share": 0.04, "logprobs_share": 0.0, "hot_reask_share": 0.0, "account_age_days": 700.0,
             "interarrival_cv": 1.2, "hour_entropy": 0.7, "rate_limited_share": 0.0, "anomaly": 0.0, "n_prefixes": 1,
             "requests_per_day": 7500.0, "requests_per_active_hour": 150.0, "n_requests": 22000, "prompt_growth": 0.8,
             "fixed_format_share": 0.6}
    long_answers = {**quiet, "completion_tokens_median": 2600.0, "long_answer_share": 0.9}
    short_answers = {**quiet, "completion_tokens_median": 150.0, "long_answer_share": 0.0, "completion_prompt_ratio": 1.0}
    scored = DetectionPolicy().score(pl.DataFrame([long_answers, short_answers]))
    requests_only = DetectionPolicy(PolicySettings(answer_tokens_per_day_log10=(20.0, 21.0))).score(pl.DataFrame([long_answers]))
    assert scored["ev_scale"][0] > 0.95 > 0.7 > scored["ev_scale"][1]
    assert scored["score"][0] >= 1.0 > max(scored["score"][1], requests_only["score"][0])


def test_made_up_end_users_do_not_excuse_a_harvest_in_three_purpose_families_but_a_product_keeps_its_users():
    # an aged harvester sending an invented end-user id with each request (the ids cost nothing)
    posing = {**HARVESTER, "account_age_days": 700.0, "n_end_users": 1500, "rate_limited_share": 0.0, "anomaly": 0.0,
              "interarrival_cv": 1.2, "hour_entropy": 0.7, "n_prefixes": 1, "requests_per_day": 1200.0, "requests_per_active_hour": 80.0,
              "logprobs_share": 0.0, "completion_tokens_median": 700.0, "long_answer_share": 0.45}
    # a translation product: a template swept over texts, answers as long as the texts, one setting, many users
    translation = {**posing, "reasoning_share": 0.0, "fixed_format_share": 0.0, "hot_reask_share": 0.0, "long_answer_share": 0.05,
                   "completion_tokens_median": 300.0, "completion_prompt_ratio": 1.0}
    scored = DetectionPolicy().score(pl.DataFrame([posing, translation]))
    believed = DetectionPolicy(PolicySettings(harvest_product_discount=0.0)).score(pl.DataFrame([posing]))
    assert scored["ev_product"][1] == pytest.approx(believed["ev_product"][0]) and believed["ev_product"][0] > 0.9   # users kept
    assert scored["ev_product"][0] <= 0.5 * believed["ev_product"][0] + 1e-9
    assert scored["score"][0] >= 1.0 > believed["score"][0]
    assert scored["score"][1] < 1.0


def test_a_production_integration_and_a_benchmark_bank_stay_under_the_bar():
    integration = {**HARVESTER, "reasoning_share": 0.0, "long_answer_share": 0.0, "completion_tokens_median": 90.0,
                   "completion_prompt_ratio": 0.5, "logprobs_share": 0.0, "hot_reask_share": 0.0, "fixed_format_share": 0.6,
                   "account_age_days": 400.0, "rate_limited_share": 0.0, "n_end_users": 2000, "requests_per_day": 3500.0,
                   "requests_per_active_hour": 150.0, "n_prefixes": 1, "interarrival_cv": 1.0}
    benchmark = {**HARVESTER, "reasoning_share": 1.0, "completion_tokens_median": 350.0, "long_answer_share": 0.05,
                 "completion_prompt_ratio": 3.0, "logprobs_share": 0.6, "hot_reask_share": 0.0, "cold_reask_share": 0.6,
                 "prompt_growth": 0.0, "distinct_prompts": 300, "account_age_days": 300.0, "rate_limited_share": 0.0,
                 "requests_per_day": 900.0, "requests_per_active_hour": 300.0, "n_prefixes": 1, "interarrival_cv": 3.0,
                 "hour_entropy": 0.3, "anomaly": 0.4}
    assert score_of(integration) < 1.0
    assert score_of(benchmark) < 1.0


def test_threaded_prompts_at_a_metronome_are_no_conversation_but_people_at_their_pace_are():
    """A harvester threads its prompts into conversations (later turns seen earlier, a minute apart) and
    sends them at evenly spaced gaps round the clock; people converse at the same pace but not evenly."""
    threaded = {**HARVESTER, "logprobs_share": 0.0, "hot_reask_share": 0.0, "account_age_days": 300.0, "rate_limited_share": 0.0,
                "n_prefixes": 1, "anomaly": 0.0, "requests_per_day": 1200.0, "requests_per_active_hour": 50.0,
                "mean_turn": 4.7, "continued_turn_share": 1.0, "turn_gap_median_s": 70.0, "interarrival_cv": 0.03}
    people = {**threaded, "interarrival_cv": 1.4}
    scored = DetectionPolicy().score(pl.DataFrame([threaded, people]))
    assert scored["ev_conversation"][1] == pytest.approx(1.0)
    assert scored["ev_conversation"][0] < 0.5
    assert scored["score"][0] >= 1.0 > scored["score"][1] - 0.3


@pytest.mark.parametrize("prompt,lexicon", [
    ("Explain how tides work, step by step.", REASONING), ("请一步一步地推导这个公式", REASONING),
    ("この問題を段階的に解いて、理由を説明してください", REASONING), ("이 문제를 단계별로 풀어 주세요", REASONING),
    ("Реши задачу пошагово и обоснуй ответ", REASONING), ("Resuelve el problema paso a paso", REASONING),
    ("Löse die Aufgabe Schritt für Schritt", REASONING), ("Résous ce problème étape par étape", REASONING),
    ("Return only a JSON object with the keys a and b", FIXED_FORMAT), ("以JSON格式输出", FIXED_FORMAT),
    ("Which response is better, A or B?", RUBRIC), ("Bewerte die Antwort auf einer Skala von 1 bis 10", RUBRIC),
    ("Please act as an impartial judge and evaluate the quality of the response. Output your final verdict", RUBRIC),
    ("Rate the following completion from 1 to 5 for helpfulness and harmlessness.", RUBRIC),
    ("Is the student's answer correct? Compare it with the reference answer.", RUBRIC),
    ("Avalie a resposta abaixo e atribua uma nota", RUBRIC), ("Valuta la risposta su una scala da 1 a 10", RUBRIC),
    ("下面两个回答哪个更好？请打分", RUBRIC), ("Оцените ответ по шкале от 1 до 10", RUBRIC),
])
def test_lexicons_speak_several_languages(prompt, lexicon):
    assert pl.DataFrame({"p": [prompt]}).select(lexicon.matches(pl.col("p"))).item()


def test_ordinary_questions_match_no_lexicon():
    ordinary = ["what's the weather like in Lisbon", "东京有什么好吃的", "Wie spät ist es in Berlin?", "merci beaucoup !",
                "What is the exchange rate of the euro today?", "My answer to her letter was short.", "Qual é a capital do Brasil?"]
    frame = pl.DataFrame({"p": ordinary})
    for lexicon in (REASONING, FIXED_FORMAT, RUBRIC):
        assert not frame.select(lexicon.matches(pl.col("p")).any()).item()


def _ring_population(n_members: int, n_benign: int) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Ring members each under the bar, sharing a proxy pool and cards; benign accounts with their own IPs,
    thirty of them behind one campus NAT."""
    links, scored, events = [], [], []
    for i in range(n_members):
        a = f"ring{i:03d}"
        links += [(a, f"ip:203.0.113.{i % 7}"), (a, f"ip:203.0.113.{(i + 3) % 7}"), (a, f"pay:card{i % 3}")]
        scored.append({"account_id": a, "score": 0.45, "points_purpose": 1.5, "ev_downstream": 0.0, "n_requests": 40,
                       "first_seen": T0, "last_seen": T0 + timedelta(hours=5), "created_at_account": T0 - timedelta(days=6, hours=i % 24)})
        events += [(a, T0 + timedelta(minutes=10 * k, seconds=i), f"explain item {i}-{k} step by step") for k in range(40)]
    for i in range(n_benign):
        a = f"user{i:04d}"
        ip = "ip:198.51.100.1" if i < 30 else f"ip:192.0.2.{i}"
        links += [(a, ip), (a, f"signup:{ip[3:]}/24")]
        scored.append({"account_id": a, "score": 0.05, "points_purpose": 0.0, "ev_downstream": 0.0, "n_requests": 15,
                       "first_seen": T0, "last_seen": T0 + timedelta(hours=8), "created_at_account": T0 - timedelta(days=100 + 7 * i)})
        events += [(a, T0 + timedelta(minutes=37 * k + i), f"question {k} of user {i}") for k in range(15)]
    return (pl.DataFrame(links, schema=["account_id", "value"], orient="row"), pl.DataFrame(scored),
            pl.DataFrame(events, schema=["account_id", "ts", "prompt"], orient="row"))


def test_a_ring_of_members_each_under_the_bar_is_found_and_a_campus_nat_is_not():
    links, scored, events = _ring_population(n_members=24, n_benign=120)
    settings = RingSettings()
    membership = link_groups(links, settings)
    evidence = ring_evidence(membership, links, scored, events, settings)
    rings = evidence.filter(pl.col("points") >= settings.flag_points)
    assert rings.height == 1
    members = set(membership.join(rings.select("group"), on="group")["account_id"].to_list())
    assert members == {f"ring{i:03d}" for i in range(24)}
    assert (scored.filter(pl.col("account_id").is_in(list(members)))["score"] < 1.0).all()    # none would be flagged alone
    campus = membership.filter(pl.col("account_id") == "user0000")
    if campus.height:                                     # the campus may form a group, but it is no ring
        assert campus["group"][0] not in rings["group"].to_list()


def test_a_team_sharing_card_office_onboarding_and_tool_is_no_ring_unless_its_members_harvest():
    """Acting together is capped: a company's accounts share everything a ring shares, and all act at once
    in office hours, but only members who take what a distiller takes make it a ring."""
    links, scored, events = [], [], []
    for i in range(12):
        a = f"team{i:02d}"
        links += [(a, "ip:203.0.113.9"), (a, "pay:corporate-card"), (a, "mail:example-corp.test"), (a, "sys:internal-tool")]
        scored.append({"account_id": a, "score": 0.02, "score_ignoring_volume": 0.02, "points_purpose": 0.4, "ev_downstream": 0.0,
                       "n_requests": 600, "first_seen": T0, "last_seen": T0 + timedelta(hours=8),
                       "created_at_account": T0 - timedelta(days=3, minutes=i)})        # onboarded together
        events += [(a, T0 + timedelta(minutes=k), f"{a} question {k}") for k in range(600)]   # every member busy every minute
    links += [(f"other{i}", f"ip:192.0.2.{i}") for i in range(200)]
    scored += [{"account_id": f"other{i}", "score": 0.0, "score_ignoring_volume": 0.0, "points_purpose": 0.0, "ev_downstream": 0.0,
                "n_requests": 5, "first_seen": T0, "last_seen": T0, "created_at_account": T0 - timedelta(days=90)} for i in range(200)]
    links_frame = pl.DataFrame(links, schema=["account_id", "value"], orient="row")
    events_frame = pl.DataFrame(events, schema=["account_id", "ts", "prompt"], orient="row")
    settings = RingSettings()

    def ring_points(team_scored: list[dict]) -> float:
        membership = link_groups(links_frame, settings)
        evidence = ring_evidence(membership, links_frame, pl.DataFrame(team_scored), events_frame, settings)
        return evidence.filter(pl.col("n_accounts") == 12)["points"][0]

    together_only = ring_points(scored)
    assert together_only < settings.flag_points
    harvesting = [{**r, "score_ignoring_volume": 0.7, "points_purpose": 1.8} if r["account_id"].startswith("team") else r for r in scored]
    assert ring_points(harvesting) >= settings.flag_points > together_only


def test_accounts_made_together_on_one_network_are_no_ring_unless_they_also_act_together():
    """Twelve accounts made within three hours at a hackathon, all on the venue's network, each a somewhat
    unusual user (fresh, re-asking, growing prompt sets: own score 0.75, purpose 1.3) asking its own questions at
    its own times: what they own together (a creation day, a network) is no ring. The same accounts firing in the
    same minutes, one scheduler's, are."""
    members = [f"hack{i:02d}" for i in range(12)]
    links = pl.DataFrame([(a, v) for a in members for v in ("ip:203.0.113.0/24", "signup:203.0.113.0/24")]
                         + [(f"other{i}", f"ip:192.0.2.{i}") for i in range(200)], schema=["account_id", "value"], orient="row")
    scored = pl.DataFrame([{"account_id": a, "score": 0.75, "score_ignoring_volume": 0.75, "points_purpose": 1.3, "ev_downstream": 0.0,
                            "n_requests": 120, "first_seen": T0, "last_seen": T0 + timedelta(hours=30),
                            "created_at_account": T0 - timedelta(hours=3 * i / 12)} for i, a in enumerate(members)])
    membership = pl.DataFrame({"account_id": members, "group": ["g"] * 12})

    def points(minute_of, settings: RingSettings = RingSettings()) -> float:
        events = pl.DataFrame([(a, T0 + timedelta(minutes=minute_of(i, k)), f"{a} asks {k}") for i, a in enumerate(members) for k in range(120)],
                              schema=["account_id", "ts", "prompt"], orient="row")
        return ring_evidence(membership, links, scored, events, settings)["points"][0]

    def own_times(i: int, k: int) -> int:
        return 15 * k + 7 * i

    assert points(own_times) < RingSettings().flag_points <= points(lambda i, k: 15 * k)       # each at its own minutes; all at once
    assert points(own_times, RingSettings(owned_alone_cap=9.0)) >= RingSettings().flag_points  # owning together taken as acting


def test_members_that_shard_one_templated_sweep_harvest_together_though_each_covers_little():
    """Twenty accounts made together on one card and network, each asking thirty prompts of one template
    with new slot values: no member covers a space alone (their own coverage is nil), together they
    sweep six hundred. The sweep is their purpose; the same group re-running one bank of thirty prompts
    is not a sweep, and a group that shares no template shards nothing."""
    def group(prompt, template: bool) -> dict:
        links, scored, events = [], [], []
        for i in range(20):
            a = f"shard{i:02d}"
            links += [(a, "ip:203.0.113.7"), (a, "pay:card-1")] + ([(a, "tmpl:grade the answer to <slot>")] if template else [])
            scored.append({"account_id": a, "score": 0.1, "score_ignoring_volume": 0.15, "points_purpose": 0.6, "ev_coverage": 0.05,
                           "prompt_growth": 0.0, "ev_downstream": 0.0, "n_requests": 30, "first_seen": T0, "last_seen": T0 + timedelta(hours=20),
                           "created_at_account": T0 - timedelta(days=300 * (i + 1))})      # no staged creation
            events += [(a, T0 + timedelta(minutes=40 * k + i), prompt(i, k)) for k in range(30)]
        links += [(f"other{i}", f"ip:192.0.2.{i}") for i in range(200)]
        links_frame = pl.DataFrame(links, schema=["account_id", "value"], orient="row")
        settings = RingSettings()
        membership = link_groups(links_frame, settings)
        evidence = ring_evidence(membership, links_frame, pl.DataFrame(scored), pl.DataFrame(events, schema=["account_id", "ts", "prompt"], orient="row"),
                                 settings)
        return evidence.filter(pl.col("n_accounts") == 20).row(0, named=True)

    sweep = group(lambda i, k: f"Grade the answer to question {30 * i + k}", template=True)
    assert sweep["rev_sharded_sweep"] > 0.9 and sweep["ring_purpose"] > sweep["mean_purpose"] + 0.7
    assert sweep["points"] >= RingSettings().flag_points
    bank = group(lambda i, k: f"Grade the answer to question {k}", template=True)       # every member the same thirty
    assert bank["rev_sharded_sweep"] == 0.0 and bank["points"] < RingSettings().flag_points
    untemplated = group(lambda i, k: f"Grade the answer to question {30 * i + k}", template=False)
    assert untemplated["rev_sharded_sweep"] == 0.0 and untemplated["ring_purpose"] == untemplated["mean_purpose"]


def test_a_lab_whose_members_each_run_one_sitting_is_judged_as_an_evaluation_not_a_ring():
    """Six accounts of one lab on its card and network, each nearly flagged alone for what it asks (reasoning,
    long answers), each window one sitting of modest size, as an evaluation run is: the group acts together
    but what it does is evaluate. The same group whose members work over the whole window is a ring."""
    def points(sitting: float) -> float:
        links = [(f"lab{i}", v) for i in range(6) for v in ("ip:198.51.100.20", "pay:grant-card")]
        links += [(f"other{i}", f"ip:192.0.2.{i}") for i in range(200)]
        scored = [{"account_id": f"lab{i}", "score": 0.9, "score_ignoring_volume": 0.9, "points_purpose": 2.2, "ev_one_sitting": sitting,
                   "ev_downstream": 0.0, "n_requests": 400, "first_seen": T0, "last_seen": T0 + timedelta(hours=3),
                   "created_at_account": T0 - timedelta(days=400 + 60 * i)} for i in range(6)]
        events = [(f"lab{i}", T0 + timedelta(seconds=20 * k), f"lab {i} item {k}") for i in range(6) for k in range(400)]
        links_frame = pl.DataFrame(links, schema=["account_id", "value"], orient="row")
        settings = RingSettings()
        evidence = ring_evidence(link_groups(links_frame, settings), links_frame, pl.DataFrame(scored),
                                 pl.DataFrame(events, schema=["account_id", "ts", "prompt"], orient="row"), settings)
        return evidence.filter(pl.col("n_accounts") == 6)["points"][0]

    assert points(1.0) < RingSettings().flag_points <= points(0.3)


def test_a_default_system_prompt_that_strangers_send_links_nobody_a_distinctive_one_does():
    """Forty chat users of one front end send its default system prompt, on a webmail domain most accounts use, pairs of
    them behind one residential address: no group (before, the prompt joined them all, and through them any
    ring one of them shared an address with). Four accounts of one operator that share a system prompt of
    their own and a prompt template are a group; so are four suspicious accounts whose shared system prompt
    is not rare enough to join them alone, through their deployment cohort."""
    def links_for(operator_prompt: str, n_operator_prompt_holders: int) -> pl.DataFrame:
        links = [(f"chat{i:02d}", v) for i in range(40) for v in ("sys:front-end-default", f"ip:198.51.100.{i // 2}", "mail:webmail.test")]
        links += [(f"op{i}", v) for i in range(4) for v in (f"sys:{operator_prompt}", "tmpl:rate the answer to <slot>", f"ip:192.0.2.{i}")]
        links += [(f"user{i}", f"sys:{operator_prompt}") for i in range(n_operator_prompt_holders - 4)]
        links += [(f"other{i}", v) for i in range(200) for v in (f"ip:203.0.113.{i}", "mail:webmail.test")]   # everyone's webmail
        return pl.DataFrame(links, schema=["account_id", "value"], orient="row")

    settings = RingSettings()
    distinctive = link_groups(links_for("collector-v2", 4), settings)
    assert sorted(distinctive["account_id"].to_list()) == ["op0", "op1", "op2", "op3"]
    common = links_for("you are a data assistant", 40)
    assert link_groups(common, settings).height == 0
    scored = pl.DataFrame({"account_id": [f"op{i}" for i in range(4)] + [f"chat{i:02d}" for i in range(40)],
                           "score_ignoring_volume": [0.9] * 4 + [0.1] * 40})
    cohorts = link_groups(pl.concat([common, deployment_cohort_links(common, scored, settings)]), settings)
    assert sorted(cohorts["account_id"].to_list()) == ["op0", "op1", "op2", "op3"]


def _link_groups_among_others(links: list[tuple[str, str]], n_others: int = 300) -> list[list[str]]:
    """The groups :func:`link_groups` makes of ``links`` among ``n_others`` unrelated accounts, sorted."""
    links = links + [(f"other{i}", f"ip:192.0.2.{i % 250}/{i}") for i in range(n_others)]
    membership = link_groups(pl.DataFrame(links, schema=["account_id", "value"], orient="row"), RingSettings())
    return sorted(sorted(g) for g in membership.group_by("group").agg("account_id")["account_id"].to_list())


def test_ordinary_users_on_an_operations_vpn_exit_and_client_are_not_its_members():
    """Six extractors go out through their own proxy address and a VPN exit with one HTTP client; twenty ordinary
    users of that VPN run the same client. Network and client are two facts, so without the accounts' own scores
    all 26 are one group. Ordinary accounts (own score about 0) are bystanders whose networks and clients link
    nobody, and a network they use is a public egress that joins nobody on its own; a quiet member that pays
    with the operation's card stays; a user who scores a little (0.3) and shares the proxy address and the client
    is linked, judged with the group, and left out of its ring. A passer-by (0.3) that shares a home
    address with two members and a mail domain with two others attaches to no group: only an account suspicious
    alone does."""
    operation = [f"op{i}" for i in range(6)]
    vpn_users = [f"vpn{i:02d}" for i in range(20)]
    links = [(a, v) for a in operation + vpn_users + ["quiet", "curious"] for v in ("ip:203.0.113.0/24", "ua:python-httpx/0.27")]
    links += [(a, "ip:198.51.100.50") for a in operation + ["curious"]]
    links += [(a, "pay:card-op") for a in operation[:3] + ["quiet"]]
    links += [(a, f"pay:card-{a}") for a in operation[3:] + vpn_users + ["curious"]]
    links += [(a, "ip:198.51.100.7") for a in ("op0", "op1", "walker")] + [(a, "mail:tiny-domain.example") for a in ("op4", "op5", "walker")]
    others = [f"other{i}" for i in range(300)]
    scored = pl.DataFrame({"account_id": operation + vpn_users + ["quiet", "curious", "walker"] + others,
                           "score_ignoring_volume": [1.1] * 6 + [0.05] * 20 + [0.1, 0.3, 0.3] + [0.0] * 300})
    frame = pl.DataFrame(links + [(o, f"ip:192.0.2.{i % 250}/{i}") for i, o in enumerate(others)], schema=["account_id", "value"], orient="row")

    def groups(membership: pl.DataFrame) -> list[list[str]]:
        return sorted(sorted(g) for g in membership.group_by("group").agg("account_id")["account_id"].to_list())

    assert groups(link_groups(frame, RingSettings())) == [sorted(operation + vpn_users + ["quiet", "curious", "walker"])]
    linked = link_groups(frame, RingSettings(), scored=scored)
    assert groups(linked) == [sorted(operation + ["quiet", "curious"])]
    assert groups(link_groups(frame, RingSettings(attach_min_score=0.0), scored=scored)) == [sorted(operation + ["quiet", "curious", "walker"])]
    assert groups(participants(linked, frame, scored, RingSettings())) == [sorted(operation + ["quiet"])]


def test_two_operations_on_one_public_vpn_exit_with_one_client_stay_apart():
    """Two operations, each paying with its own card, go out through one commercial VPN exit and run one HTTP
    library; ten ordinary users go out through that exit too. The exit is a public egress (bystanders use it),
    so exit and client together do not make the two one operation."""
    ops = {"a": [f"a{i}" for i in range(3)], "b": [f"b{i}" for i in range(3)]}
    links = [(m, f"pay:card-{op}") for op, members in ops.items() for m in members]
    links += [(m, v) for m in ops["a"] + ops["b"] for v in ("ip:203.0.113.0/24", "ua:python-httpx/0.27")]
    links += [(f"vpn{i}", "ip:203.0.113.0/24") for i in range(10)]
    others = [f"other{i}" for i in range(300)]
    frame = pl.DataFrame(links + [(o, f"ip:192.0.2.{i % 250}/{i}") for i, o in enumerate(others)], schema=["account_id", "value"], orient="row")
    scored = pl.DataFrame({"account_id": ops["a"] + ops["b"] + [f"vpn{i}" for i in range(10)] + others,
                           "score_ignoring_volume": [1.0] * 6 + [0.0] * 10 + [0.0] * 300})

    def groups(settings: RingSettings) -> list[list[str]]:
        membership = link_groups(frame, settings, scored=scored)
        return sorted(sorted(g) for g in membership.group_by("group").agg("account_id")["account_id"].to_list())

    assert groups(RingSettings()) == [ops["a"], ops["b"]]
    assert groups(RingSettings(public_bystander_share=2.0)) == [sorted(ops["a"] + ops["b"])]   # the exit taken as theirs


def test_two_operations_renting_one_proxy_pool_each_with_its_own_template_stay_apart():
    """Two operations, each on its own card, rotate through the same rented proxy addresses; each operation's
    members repeat their own template's rare frames, and no member of one repeats the other's. Without the
    templates the pool merges them (one operation's card groups rotate through one pool); with them, two."""
    ops = {"a": [f"a{i}" for i in range(4)], "b": [f"b{i}" for i in range(4)]}
    links = [(m, f"pay:card-{op}") for op, members in ops.items() for m in members]
    links += [(m, f"ip:198.51.100.{k}") for m in ops["a"] + ops["b"] for k in (1, 2, 3)]
    framed = [(m, f"frames:{op}0~{m}") for op, members in ops.items() for m in members[1:]]
    framed += [(f"{op}0", f"frames:{op}0~{m}") for op, members in ops.items() for m in members[1:]]
    assert _link_groups_among_others(links) == [sorted(ops["a"] + ops["b"])]
    assert _link_groups_among_others(links + framed) == [ops["a"], ops["b"]]


def test_card_groups_of_one_hydra_filling_one_template_apart_on_their_own_mail_domain_are_one_group():
    """A hydra of twelve extractors pays with three cards (three groups of four), each account on an address of its
    own; members of every card group repeat one template's rare frames with members of the others, and all were
    signed up from one mail domain few others use. One template filled together plus a second fact: one group. The
    same card groups without the mail domain stay three (a public template is no second fact), and so they do
    on a webmail domain that many others use too, or when they act like nobody's extractor."""
    members = [f"h{i:02d}" for i in range(12)]
    links = [(m, f"pay:card-{i % 3}") for i, m in enumerate(members)]
    links += [(m, f"ip:198.51.100.{i}") for i, m in enumerate(members)]
    framed = [(x, f"frames:{a}~{b}") for i, a in enumerate(members) for b in members[i + 1:] if (i + members.index(b)) % 2 for x in (a, b)]
    mail = [(m, "mail:orbit.example") for m in members]
    others = [f"other{i}" for i in range(300)]
    background = [(o, f"ip:192.0.2.{i % 250}/{i}") for i, o in enumerate(others)]

    def groups(links: list[tuple[str, str]], score: float) -> list[list[str]]:
        scored = pl.DataFrame({"account_id": members + others, "score_ignoring_volume": [score] * 12 + [0.0] * 300})
        membership = link_groups(pl.DataFrame(links + background, schema=["account_id", "value"], orient="row"), RingSettings(), scored=scored)
        return sorted(sorted(g) for g in membership.group_by("group").agg("account_id")["account_id"].to_list())

    cards = [[m for i, m in enumerate(members) if i % 3 == k] for k in range(3)]
    assert groups(links + framed + mail, 1.2) == [members]
    assert groups(links + framed, 1.2) == cards
    assert groups(links + framed + mail, 0.3) == cards
    webmail = [(m, "mail:webmail.example") for m in members + others[:40]]
    assert groups(links + framed + webmail, 1.2) == cards


def test_one_address_two_operations_happen_to_share_does_not_merge_them():
    """Two operations, each on its own card and proxy pool with its own template; one member of each goes out
    through the same residential address once rented to both. The address is one coincidence: two groups."""
    links = []
    for op in ("a", "b"):
        for i in range(6):
            links += [(f"{op}{i}", f"pay:card-{op}"), (f"{op}{i}", f"ip:203.0.113.{ord(op)}{i % 3}"), (f"{op}{i}", f"tmpl:template of {op} <slot>")]
    links += [("a0", "ip:198.51.100.77"), ("b0", "ip:198.51.100.77")]
    assert _link_groups_among_others(links) == [[f"a{i}" for i in range(6)], [f"b{i}" for i in range(6)]]


def test_two_operations_that_a_stock_prompt_and_a_disposable_domain_join_are_two_groups():
    """Two operations of eight accounts, each paying with its own card and rotating its own pool; two members of
    each send one stock system prompt and signed up on one disposable mail domain, two facts together. Those few
    links join the two into one component; within each operation its members are linked many times over, so the
    group splits where they meet. One operation whose two cards' groups its pool joins broadly stays one."""
    links = []
    for op in ("a", "b"):
        for i in range(8):
            links += [(f"{op}{i}", f"pay:card-{op}")] + [(f"{op}{i}", f"ip:203.0.113.{ord(op)}{(i + k) % 4}") for k in (0, 1)]
    links += [(m, v) for m in ("a0", "a1", "b0", "b1") for v in ("sys:you are a helpful assistant", "mail:throwaway.example")]
    assert _link_groups_among_others(links) == [[f"a{i}" for i in range(8)], [f"b{i}" for i in range(8)]]
    one = [(f"m{i:02d}", f"pay:card-{i % 2}") for i in range(16)] + [(f"m{i:02d}", f"ip:203.0.113.{(i + k) % 4}") for i in range(16) for k in (0, 1)]
    assert _link_groups_among_others(one) == [sorted(f"m{i:02d}" for i in range(16))]


def test_a_disposable_domain_one_member_of_another_group_used_does_not_merge_groups_on_one_template():
    """Two groups of extractors fill one public template (frames across) and one signed up all its members on a
    disposable domain that one member of the other also used: a bridge, not the second fact of one operation. The
    same domain held by a few members on each side (an operation's own, as its card groups sign up from it) merges."""
    members = {op: [f"{op}{i}" for i in range(10)] for op in "ab"}
    links = [(m, f"pay:card-{op}") for op, ms in members.items() for m in ms]
    links += [(m, f"ip:198.51.100.{k}") for k, m in enumerate(members["a"] + members["b"])]
    everyone = members["a"] + members["b"]
    framed = [(x, f"frames:{a}~{b}") for i, a in enumerate(everyone) for b in everyone[i + 1:] if (i + everyone.index(b)) % 3 == 0 for x in (a, b)]
    others = [f"other{i}" for i in range(300)]
    background = [(o, f"ip:192.0.2.{i % 250}/{i}") for i, o in enumerate(others)]
    scored = pl.DataFrame({"account_id": everyone + others, "score_ignoring_volume": [1.2] * 20 + [0.0] * 300})

    def groups(mail: list[tuple[str, str]]) -> list[list[str]]:
        frame = pl.DataFrame(links + framed + mail + background, schema=["account_id", "value"], orient="row")
        membership = link_groups(frame, RingSettings(), scored=scored)
        return sorted(sorted(g) for g in membership.group_by("group").agg("account_id")["account_id"].to_list())

    bridge = [(m, "mail:tempbox.example") for m in members["a"] + members["b"][:1]]
    assert groups(bridge) == [members["a"], members["b"]]
    own = [(m, "mail:tempbox.example") for m in members["a"][:3] + members["b"][:3]]
    assert groups(own) == [everyone]


def test_card_groups_of_one_operation_that_rotate_one_proxy_pool_are_one_group():
    """Eighteen accounts on three cards, every one of them rotating through one pool of addresses: the pool is
    shared broadly by each card's group, so the three are one operation."""
    links = [(f"m{i:02d}", f"pay:card-{i % 3}") for i in range(18)]
    links += [(f"m{i:02d}", f"ip:203.0.113.{(i + k) % 9}") for i in range(18) for k in (0, 4)]
    assert _link_groups_among_others(links) == [sorted(f"m{i:02d}" for i in range(18))]


def test_two_resellers_whose_customers_send_the_same_system_prompts_stay_two_groups():
    """Two proxies, each four accounts on its own card and egress, forward their customers' system prompts;
    the customers use both proxies, so the two share six system prompts broadly. Customers' prompts say who
    the customers are, not who runs the proxies: two groups."""
    links = []
    for op in ("p", "q"):
        for i in range(4):
            links += [(f"{op}{i}", f"pay:card-{op}"), (f"{op}{i}", f"ip:203.0.113.{ord(op)}")]
            links += [(f"{op}{i}", f"sys:customer-{k}") for k in range(6) if (i + k) % 2 == 0]
    assert _link_groups_among_others(links) == [[f"p{i}" for i in range(4)], [f"q{i}" for i in range(4)]]


def test_a_member_sharing_an_address_with_one_member_and_a_system_prompt_with_others_joins_its_ring():
    """Eight members on one card; a ninth on a card of its own goes out through one member's address and sends
    the system prompt two other members send: two facts shared with the ring taken together (with no single
    member), so it is a member. An account that shares only the address is not."""
    links = [(f"m{i}", v) for i in range(8) for v in ("pay:card-1", f"ip:203.0.113.{i}")]
    links += [("m5", "sys:collector-v2"), ("m6", "sys:collector-v2")]
    links += [("ninth", "pay:card-2"), ("ninth", "ip:203.0.113.3"), ("ninth", "sys:collector-v2")]
    links += [("stranger", "ip:203.0.113.4")]
    assert _link_groups_among_others(links) == [sorted([f"m{i}" for i in range(8)] + ["ninth"])]


def test_an_operation_sharing_only_its_own_client_and_mail_domain_is_a_group_but_tools_two_share_bridge_nothing():
    """Forty accounts share nothing strong, only a user agent and a mail domain nobody else uses: two weak
    values whose holders coincide are one operator. Two operations on their own cards and pools that both
    use one disposable domain and one HTTP library stay two groups: weak values place no account that a
    stronger link already places."""
    hydra = [(f"h{i:02d}", v) for i in range(40) for v in ("ua:collector/0.3.1 (custom)", "mail:own-domain.test")]
    hydra += [(f"h{i:02d}", f"ip:198.51.100.{i}") for i in range(40)]
    assert _link_groups_among_others(hydra) == [sorted(f"h{i:02d}" for i in range(40))]
    two = []
    for op in ("a", "b"):
        for i in range(8):
            two += [(f"{op}{i}", f"pay:card-{op}"), (f"{op}{i}", "mail:disposable.test"), (f"{op}{i}", "ua:aiohttp/3.10")]
    assert _link_groups_among_others(two) == [[f"a{i}" for i in range(8)], [f"b{i}" for i in range(8)]]


def test_aged_accounts_that_share_only_a_rare_template_are_a_group_when_they_act_like_extractors():
    """Fifteen accounts bought aged, each on its own card and address, ask in one template few accounts use: the
    suspicious ones are one cohort and a group; the same template on accounts that act like nobody's extractor
    links nobody (teams and strangers reuse templates)."""
    def groups(suspicion: float) -> list[list[str]]:
        scored = pl.DataFrame({"account_id": [f"h{i:02d}" for i in range(15)], "score_ignoring_volume": [suspicion] * 15,
                               "top_skeleton_share": [0.4] * 15, "dominant_skeleton": ["define it with examples and misconceptions"] * 15})
        links = [(f"h{i:02d}", v) for i in range(15) for v in (f"pay:card-h{i}", f"ip:203.0.113.{i}", "tmpl:define it with examples and misconceptions")]
        links += template_cohort_links(pl.concat([scored, pl.DataFrame({"account_id": [f"other{i}" for i in range(300)]})],
                                                 how="diagonal"), RingSettings()).rows()
        return _link_groups_among_others(links)

    assert groups(0.9) == [[f"h{i:02d}" for i in range(15)]]
    assert groups(0.3) == []


def test_suspicious_accounts_on_a_stock_system_prompt_are_gathered_without_bridging_through_a_proxy():
    """Twenty accounts, each on its own card and address, act like extractors and send one stock system prompt
    that two hundred chat users send too: the suspicious senders are one loose cohort and a group; the chat
    users stay out. A proxy account that forwards that prompt among its customers' many does not join them,
    and a ring of its own (one card) keeps its shape. (The three hundred other accounts of the population send
    no system prompt: a twentieth of the population is suspicious, a tenth of the prompt's senders.)"""
    scored = pl.DataFrame({"account_id": [f"h{i:02d}" for i in range(20)] + [f"chat{i}" for i in range(200)] + ["proxy"]
                           + [f"other{i}" for i in range(300)],
                           "score_ignoring_volume": [1.0] * 20 + [0.1] * 200 + [1.3] + [0.0] * 300})
    links = [(f"h{i:02d}", v) for i in range(20) for v in (f"pay:card-h{i}", f"ip:203.0.113.{i}", "sys:you-are-a-helpful-assistant")]
    links += [(f"chat{i}", "sys:you-are-a-helpful-assistant") for i in range(200)]
    links += [("proxy", v) for v in ("sys:you-are-a-helpful-assistant", "sys:customer-1", "sys:customer-2", "pay:card-r")]
    links += [(f"r{i}", v) for i in range(3) for v in ("pay:card-r", "ip:198.51.100.9")]
    frame = pl.DataFrame(links, schema=["account_id", "value"], orient="row")
    links += suspect_links(frame, scored, RingSettings()).rows()
    assert _link_groups_among_others(links) == [[f"h{i:02d}" for i in range(20)], ["proxy", "r0", "r1", "r2"]]


def test_accounts_one_scheduler_drives_are_a_group_but_burners_working_the_same_afternoon_are_not():
    """Twelve suspicious accounts, each on its own card and address, fire within the same minute six times a day
    for three days and ask in one template: one scheduler, a group. Twelve burners that each work through the
    same afternoon without pause share minutes only by chance: no group."""
    def groups(times) -> list[list[str]]:
        rows = [(f"s{i:02d}", T0 + timedelta(seconds=t)) for i in range(12) for t in times(i)]
        events = pl.DataFrame(rows, schema=["account_id", "ts"], orient="row")
        scored = pl.DataFrame({"account_id": [f"s{i:02d}" for i in range(12)], "score_ignoring_volume": [1.0] * 12})
        links = [(f"s{i:02d}", v) for i in range(12) for v in (f"pay:card-{i}", f"ip:203.0.113.{i}", "tmpl:explain <slot> to a <slot>")]
        return _link_groups_among_others(links + sync_links(events, scored, RingSettings()).rows())

    scheduled = lambda i: [day * 86400 + slot * 14400 + i for day in range(3) for slot in range(6)]   # noqa: E731
    afternoon = lambda i: [12 * 3600 + 180 * k + 60 * (i % 3) for k in range(80)]                 # noqa: E731
    assert groups(scheduled) == [[f"s{i:02d}" for i in range(12)]]
    assert groups(afternoon) == []


def test_suspicious_accounts_made_within_hours_on_one_distinctive_system_prompt_are_a_group():
    """Twelve accounts on their own cards, addresses and webmail, made within an hour, each acting like an
    extractor, send one system prompt nobody else sends: the hour they were made corroborates the prompt.
    The same prompt on twelve accounts made weeks apart links nobody (one fact)."""
    def groups(spread_hours: float) -> list[list[str]]:
        scored = pl.DataFrame({"account_id": [f"s{i:02d}" for i in range(12)], "score_ignoring_volume": [1.1] * 12,
                               "first_seen": [T0 + timedelta(days=5)] * 12,
                               "account_age_days": [5 - spread_hours * i / 11 / 24 for i in range(12)]})
        links = [(f"s{i:02d}", v) for i in range(12) for v in ("sys:operator-prompt", f"pay:card-s{i}", f"ip:203.0.113.{i}")]
        links += creation_links(scored, RingSettings()).rows()
        return _link_groups_among_others(links)

    assert groups(1.0) == [[f"s{i:02d}" for i in range(12)]]
    assert groups(24 * 21) == []


def test_a_ring_whose_prompts_were_not_logged_is_still_found_and_not_taken_for_a_bank_re_run():
    """Gateways may leave prompts out: no prompt says nothing about re-running a bank."""
    links, scored, events = _ring_population(n_members=24, n_benign=120)
    unlogged = events.with_columns(pl.lit(None, dtype=pl.String).alias("prompt"))
    settings = RingSettings()
    membership = link_groups(links, settings)
    evidence = ring_evidence(membership, links, scored, unlogged, settings)
    ring = evidence.filter(pl.col("n_accounts") == 24)
    assert ring["joint_novelty"][0] is None and ring["rev_bank_reuse"][0] == 0.0
    assert ring["points"][0] >= settings.flag_points


def _events(n: int, account: str, gap_s: float, prompt) -> pl.DataFrame:
    return pl.DataFrame({
        "event_id": [f"{account}-{i}" for i in range(n)], "ts": [T0 + timedelta(seconds=gap_s * i) for i in range(n)],
        "account_id": [account] * n, "api_key_id": ["k"] * n, "client_ip": ["198.51.100.7"] * n,
        "endpoint": ["/v1/chat/completions"] * n, "model": ["m"] * n, "status": [200] * n,
        "prompt_tokens": [40] * n, "completion_tokens": [1500] * n, "max_tokens": [4096] * n, "temperature": [0.8] * n,
        "logprobs": [account == "x"] * n,
        "prompt": [prompt(i) for i in range(n)],
    })


def test_a_request_for_reasoning_after_a_long_document_is_read():
    """What a prompt asks can follow the material it applies to: the lexicons read a long prompt's
    end as well as its start; the middle of a 9,000-character document is not read."""
    document = "The committee met on Tuesday and reviewed the budget lines one by one. " * 120     # 8,640 characters
    prompts = [document + " Think step by step and show your reasoning before the final answer.",
               "Think step by step. " + document, document[:4500] + " think step by step " + document[4500:], document]
    asks = pl.DataFrame({"prompt": prompts}).select(REASONING.matches(pl.col("prompt"))).to_series().to_list()
    assert asks == [True, True, False, False]


def test_answers_many_times_the_question_count_as_depth_behind_a_shared_instruction_block():
    """1,200-token answers to prompts of 650 tokens of instructions sent every time plus a 20-60-token
    question are answers many times what was asked (the whole prompt says 1.8x); the same answers after
    long documents of 1,500-4,000 tokens that differ every time are not. Token counts alone, no wording."""
    preamble = _events(400, "preamble", 30.0, lambda i: f"Question {i}").with_columns(
        pl.Series("prompt_tokens", [650 + 20 + (i * 13) % 41 for i in range(400)]), pl.lit(1200).alias("completion_tokens"))
    documents = _events(400, "documents", 30.0, lambda i: f"Document {i}").with_columns(
        pl.Series("prompt_tokens", [1500 + (i * 977) % 2501 for i in range(400)]), pl.lit(1200).alias("completion_tokens"))
    judged = DetectionPolicy().score(account_features(pl.concat([preamble, documents]))).sort("account_id").rows_by_key("account_id", named=True)
    shared, varied = judged["preamble"][0], judged["documents"][0]
    assert shared["completion_prompt_ratio"] < 2.0 and shared["answer_question_ratio"] > 15.0
    assert shared["ev_answer_depth"] > 0.9 and varied["ev_answer_depth"] < 0.1
    assert any("part of its prompts that varies" in r for r in account_reasons(shared, PolicySettings()))
    assert not any("part of its prompts that varies" in r for r in account_reasons(varied, PolicySettings()))


def test_long_answers_to_prompts_that_all_carry_a_history_are_depth_not_unknown():
    """Every request is a later turn (a history pasted into each prompt): answer/prompt cannot be read,
    which is no evidence of short answers; 1,200-token answers still count for part of the depth.
    Short answers do not, nor long answers to long documents that open each conversation."""
    wrapped = _events(400, "wrapped", 30.0, lambda i: f"Question {i}").with_columns(
        pl.lit(5).alias("turn"), pl.format("conv-{}", pl.col("event_id")).alias("conversation_id"),
        pl.Series("prompt_tokens", [3000 + (i * 37) % 2000 for i in range(400)]), pl.lit(1200).alias("completion_tokens"))
    chat = wrapped.with_columns(pl.lit("chat").alias("account_id"), pl.col("event_id").str.replace("wrapped", "chat"),
                                pl.lit(300).alias("completion_tokens"))
    documents = wrapped.with_columns(pl.lit("documents").alias("account_id"), pl.col("event_id").str.replace("wrapped", "documents"),
                                     pl.lit(1).alias("turn"))
    judged = DetectionPolicy().score(account_features(pl.concat([wrapped, chat, documents]))).sort("account_id").rows_by_key("account_id", named=True)
    assert judged["wrapped"][0]["completion_prompt_ratio"] is None
    assert judged["wrapped"][0]["ev_answer_depth"] == pytest.approx(PolicySettings().unknown_ratio_part)
    assert judged["chat"][0]["ev_answer_depth"] == 0.0 and judged["documents"][0]["ev_answer_depth"] < 0.1


def test_a_gateway_that_logs_half_the_prompts_changes_neither_verdict():
    """A bank re-run three times at temperature 0 and a harvest of new prompts, every prompt logged or a
    random half of them (the contract lets a gateway leave prompts out): the re-asks the gateway hid
    must not turn the bank into a growing harvest, nor halve what the prompts are seen to ask."""
    bank = _events(600, "bank", 4.0, lambda i: f"Item {i % 200}: solve it and justify each step").with_columns(pl.lit(0.0).alias("temperature"))
    harvest = _events(600, "harvest", 4.0, lambda i: f"Derive result {i} and justify each step")
    every = pl.concat([bank, harvest])
    half = every.with_columns(pl.when(pl.col("event_id").hash(seed=1) % 2 == 0).then(None).otherwise(pl.col("prompt")).alias("prompt"))
    policy = DetectionPolicy()
    full, halved = (policy.score(account_features(events)).sort("account_id") for events in (every, half))
    assert 0.4 < halved["prompt_logged_share"][0] < 0.6
    assert halved["reasoning_share"].to_list() == pytest.approx(full["reasoning_share"].to_list())
    assert halved["ev_rerun"][0] == pytest.approx(full["ev_rerun"][0], abs=0.1) and full["ev_rerun"][0] > 0.9
    assert halved["score"][0] == pytest.approx(full["score"][0], abs=0.1) and full["score"][0] < 1.0      # the bank
    assert halved["score"][1] >= 1.0 and full["score"][1] >= 1.0                                          # the harvest


def test_batch_and_stream_judge_a_window_with_the_same_policy():
    """The stream's judgement of a window is batch's policy over the same features (no online model yet)."""
    events = pl.concat([
        _events(300, "x", 4.0, lambda i: f"Derive result {i} and justify each step"),
        _events(40, "y", 80.0, lambda i: f"hello {i % 3}"),
    ]).with_columns(pl.col("ts").dt.cast_time_unit("us"))
    settings = Settings()
    scorer = StreamScorer(settings)
    scorer.windows.add(events.with_columns(pl.lit(0).alias("_p")).drop("_p"), 0)
    stream = scorer.score_frame(["x", "y"]).sort("account_id")
    batch = DetectionPolicy(settings.policy).score(account_features(events, window_hours=scorer.window_hours)).sort("account_id")
    assert stream["score"].to_list() == pytest.approx(batch["score"].to_list())
    assert stream["score"][0] >= 1.0 > stream["score"][1]


def _cohort_population(*, member_score: float, spread: timedelta, domain: str = "quickmail-box.test") -> pl.DataFrame:
    """Five extractors of one operator: a private mail domain, created ``spread`` apart, nothing else shared;
    200 other accounts on webmail and company domains."""
    rows = [{"account_id": f"split{i}", "email_domain": domain, "score_ignoring_volume": member_score,
             "first_seen": T0, "account_age_days": (timedelta(days=12) - i * spread).total_seconds() / 86400.0} for i in range(5)]
    rows += [{"account_id": f"user{i:03d}", "email_domain": ["gmail.com", "outlook.com", f"corp{i % 40}.test"][i % 3],
              "score_ignoring_volume": 1.2 if i < 60 else 0.1, "first_seen": T0, "account_age_days": 12.0 - (i % 5) * 0.01}
             for i in range(200)]
    return pl.DataFrame(rows)


def _groups(accounts: pl.DataFrame) -> list[list[str]]:
    mail = accounts.select("account_id", pl.format("mail:{}", "email_domain").alias("value"))
    links = pl.concat([mail, cohort_links(accounts)])
    return sorted(sorted(g) for g in link_groups(links).group_by("group").agg("account_id")["account_id"].to_list())


def test_extractors_split_over_a_signup_cohort_of_a_rare_domain_are_linked_and_nothing_else_is():
    # the split accounts form one group; suspicious webmail or company users created in the same hours do not
    assert _groups(_cohort_population(member_score=1.1, spread=timedelta(minutes=20))) == [[f"split{i}" for i in range(5)]]
    assert _groups(_cohort_population(member_score=0.2, spread=timedelta(minutes=20))) == []     # not suspicious
    assert _groups(_cohort_population(member_score=1.1, spread=timedelta(days=3))) == []         # created over two weeks


def _proxied_events(addresses) -> pl.DataFrame:
    """Six accounts of one operator, 400 requests each, every request through the next address of its pool;
    40 ordinary accounts on their own addresses."""
    rows = [{"account_id": f"member{m}", "client_ip": addresses(i), "user_agent": "extractor/1.0"} for m in range(6) for i in range(400)]
    rows += [{"account_id": f"user{u:02d}", "client_ip": f"192.0.2.{u}", "user_agent": "extractor/1.0"} for u in range(40) for _ in range(50)]
    return pl.DataFrame(rows).with_columns(pl.lit(None, dtype=pl.String).alias("system_prompt_hash"))


def test_a_proxy_pool_rotating_through_two_networks_links_its_accounts_but_addresses_across_the_internet_do_not():
    """A pool of 80 addresses in two /24s, rotated every request: no address carries 5% of a member's
    traffic, its two networks carry half each, so the members are linked (with the mail domain they share);
    a pool spread over 80 networks links nothing, and neither does the user agent everyone sends."""
    features = pl.DataFrame({"account_id": [f"member{m}" for m in range(6)] + [f"user{u:02d}" for u in range(40)],
                             "email_domain": ["mailbox-7.test"] * 6 + [f"corp{u}.test" for u in range(40)]})
    two_networks = _proxied_events(lambda i: f"203.0.{113 + i % 2}.{(i // 2) % 40 + 10}")
    spread = _proxied_events(lambda i: f"100.{64 + i % 80}.7.9")
    groups = [sorted(g) for g in link_groups(link_values(two_networks, features)).group_by("group").agg("account_id")["account_id"].to_list()]
    assert groups == [[f"member{m}" for m in range(6)]]
    assert link_groups(link_values(spread, features)).height == 0


def test_aged_extractors_of_one_operator_are_linked_by_a_rare_domain_and_one_template_but_neither_alone_links():
    """Accounts bought aged (created months apart) share no creation window; a rare domain and the same
    prompt template between suspicious accounts still make one operator. The template alone (many
    suspicious webmail users follow it) or the domain alone (templates differ) links nothing."""
    template = {"dominant_skeleton": "rewrite the passage about # for a # audience", "top_skeleton_share": 0.8}
    aged = _cohort_population(member_score=1.1, spread=timedelta(days=40)).with_columns(
        pl.lit(template["dominant_skeleton"]).alias("dominant_skeleton"), pl.lit(template["top_skeleton_share"]).alias("top_skeleton_share"))
    assert _groups(aged) == [[f"split{i}" for i in range(5)]]
    own_templates = aged.with_columns(pl.format("task {} about # in # steps", pl.col("account_id")).alias("dominant_skeleton"))
    assert _groups(own_templates) == []
    assert _groups(aged.with_columns(pl.lit(0.2).alias("score_ignoring_volume"))) == []
    on_webmail = aged.with_columns(pl.when(pl.col("account_id").str.starts_with("split")).then(pl.lit("gmail.com"))
                                   .otherwise(pl.col("email_domain")).alias("email_domain"))
    assert _groups(on_webmail) == []


def test_an_evaluation_run_once_in_one_sitting_is_weighed_against_but_a_burner_or_a_sustained_harvest_is_not():
    """An established account runs a chain-of-thought benchmark once: 450 new prompts with long answers
    in one hour of a day's window. Every purpose family speaks, as for a harvest; what differs is that
    the whole window is one sitting of modest size. A fresh, rate-limited account doing the same (a
    burner), the same account working through the day, or one sitting of 5,000 requests is not excused,
    and an hour-long stream window (all one sitting) cannot tell."""
    sitting = {**HARVESTER, "n_requests": 450, "requests_per_day": 450.0, "requests_per_active_hour": 450.0, "distinct_prompts": 440,
               "prompt_growth": 1.0, "hot_reask_share": 0.0, "logprobs_share": 0.0, "reasoning_share": 1.0, "completion_tokens_median": 2000.0,
               "account_age_days": 400.0, "rate_limited_share": 0.0, "n_prefixes": 1, "interarrival_cv": 0.5, "hour_entropy": 0.0,
               "anomaly": 0.3, "active_hours": 1, "day_coverage": 1 / 24}
    burner = {**sitting, "account_age_days": 0.2, "rate_limited_share": 0.2}
    sustained = {**sitting, "active_hours": 14, "day_coverage": 14 / 24, "hour_entropy": 0.8}
    large = {**sitting, "n_requests": 5000, "requests_per_day": 5000.0, "requests_per_active_hour": 5000.0}
    stream_window = {**sitting, "day_coverage": 1.0}
    scored = DetectionPolicy().score(pl.DataFrame([sitting, burner, sustained, large, stream_window]))
    assert scored["ev_one_sitting"].to_list() == pytest.approx([1.0, 0.0, 0.0, 0.0, 0.0])
    made_that_day, limited = (DetectionPolicy().score(pl.DataFrame([{**sitting, **change}]))["ev_one_sitting"][0]
                              for change in ({"account_age_days": 0.2}, {"rate_limited_share": 0.2}))
    assert made_that_day == limited == 0.0
    assert scored["score"][0] < 1.0
    assert min(scored["score"][1:].to_list()) >= 1.0
    reasons = account_reasons(scored.row(0, named=True))
    assert any("one sitting (450 requests, active in 1 clock hour(s))" in r for r in reasons), reasons


def test_members_taking_disjoint_shards_of_one_sweep_harvest_together_but_a_busy_team_does_not():
    """Four aged accounts on one card, firing together, each with a weak purpose of its own (no reasoning
    words, no sampling): what they take together, thousands of distinct prompts without overlap, is
    harvesting when their prompts are a distiller's; a team asking as many distinct questions is not."""
    links, scored, events = [], [], []
    for i in range(4):
        a = f"shard{i}"
        links += [(a, "pay:card-7"), (a, f"ip:203.0.113.{i}"), (a, "mail:inbox.example")]
        scored.append({"account_id": a, "score": 0.25, "score_ignoring_volume": 0.25, "points_purpose": 1.0, "ev_downstream": 0.0,
                       "n_requests": 900, "first_seen": T0, "last_seen": T0 + timedelta(hours=45),
                       "created_at_account": T0 - timedelta(days=300 + 90 * i)})             # aged, bought at different times
        events += [(a, T0 + timedelta(minutes=3 * k), f"Topic {i * 900 + k}: write the full worked answer") for k in range(900)]
    links += [(f"other{i}", f"ip:192.0.2.{i}") for i in range(200)]
    scored += [{"account_id": f"other{i}", "score": 0.0, "score_ignoring_volume": 0.0, "points_purpose": 0.0, "ev_downstream": 0.0,
                "n_requests": 5, "first_seen": T0, "last_seen": T0, "created_at_account": T0 - timedelta(days=90)} for i in range(200)]
    links_frame, events_frame = (pl.DataFrame(links, schema=["account_id", "value"], orient="row"),
                                 pl.DataFrame(events, schema=["account_id", "ts", "prompt"], orient="row"))

    def evidence(members_purpose: float, settings: RingSettings) -> dict:
        frame = pl.DataFrame(scored).with_columns(
            pl.when(pl.col("account_id").str.starts_with("shard")).then(members_purpose).otherwise(pl.col("points_purpose")).alias("points_purpose"))
        return ring_evidence(link_groups(links_frame, settings), links_frame, frame, events_frame, settings).row(0, named=True)

    settings, without = RingSettings(), RingSettings(weights={**RingSettings().weights, "joint_harvest": 0.0})
    harvest = evidence(1.0, settings)
    assert harvest["rev_joint_coverage"] > 0.9 and harvest["n_accounts"] == 4
    assert harvest["points"] >= settings.flag_points > evidence(1.0, without)["points"]
    team = evidence(0.4, settings)                       # the same sharing and as many distinct prompts, taken for its own work
    assert team["rev_joint_harvest"] == 0.0 and team["points"] < settings.flag_points


def test_tool_definitions_on_one_shot_requests_are_no_agent_at_work_but_an_agent_loop_is():
    """Harvesting agentic traces: every request sends tool definitions, each task a fresh request. Tools
    cost nothing to send, so they excuse nothing until the agent loops (its tools' results come back as
    later turns of conversations seen earlier)."""
    aged = {**HARVESTER, "account_age_days": 500.0, "rate_limited_share": 0.0, "logprobs_share": 0.0, "hot_reask_share": 0.0,
            "n_prefixes": 1, "anomaly": 0.2, "requests_per_day": 2500.0, "requests_per_active_hour": 120.0, "interarrival_cv": 0.9}
    with_tools = {**aged, "tool_share": 1.0}
    agent = {**with_tools, "mean_turn": 40.0, "continued_turn_share": 1.0, "turn_gap_median_s": 6.0}
    scored = DetectionPolicy().score(pl.DataFrame([aged, with_tools, agent]))
    assert scored["ev_conversation"].to_list() == pytest.approx([0.0, 0.0, 1.0])
    assert scored["score"][1] == pytest.approx(scored["score"][0]) and scored["score"][1] >= 1.0


def test_a_long_shared_preamble_or_a_gateway_cut_does_not_make_a_harvest_one_prompt_asked_again():
    """Every prompt opens with the same 2,100 characters of instructions before the item that varies, or a
    gateway logged only the first 2,000 characters (the contract allows it): still a growing harvest,
    not one prompt re-asked; a bank with the same preamble, re-run three times, is still re-asked."""
    preamble = "You are producing training material. Follow every rule below exactly. " * 30     # 2,100 characters
    item_tokens = [500 + (i * 7) % 601 for i in range(600)]
    full = _events(600, "harvest", 4.0, lambda i: f"{preamble} Item {i}: derive the result and justify each step").with_columns(
        pl.Series("prompt_tokens", item_tokens))
    cut = full.with_columns(pl.col("prompt").str.slice(0, 2000), pl.col("account_id").str.replace("harvest", "cut"),
                            pl.col("event_id").str.replace("harvest", "cut"))
    bank = _events(600, "bank", 4.0, lambda i: f"{preamble} Item {i % 200}: derive the result and justify each step").with_columns(
        pl.Series("prompt_tokens", [item_tokens[i % 200] for i in range(600)]))
    features = account_features(pl.concat([full, cut, bank])).sort("account_id").select(
        "account_id", "distinct_prompts", "prompt_growth", "cold_reask_share", "hot_reask_share").rows_by_key("account_id", named=True)
    for harvest in ("cut", "harvest"):
        assert features[harvest][0]["distinct_prompts"] == 600 and features[harvest][0]["prompt_growth"] > 0.9, harvest
    assert features["bank"][0]["distinct_prompts"] == 200
    assert features["bank"][0]["cold_reask_share"] + features["bank"][0]["hot_reask_share"] > 0.6


def test_accounts_sharding_one_template_by_topic_are_gathered_by_its_frames_but_strangers_and_ordinary_users_are_not():
    """Six suspicious accounts, each on its own card and address, ask in one template whose topic slot each fills
    from its own shard: no two share a skeleton (each account's topic words are part of its own), yet their prompts
    repeat the same runs of words, and they are one group. The same template on accounts that act like nobody's
    extractor, or suspicious accounts each with a template of its own, link nobody."""
    shards = ["thermodynamics", "the printing press", "ocean currents", "plate tectonics", "game theory", "compound interest"]

    def prompts(account: str, topic: str, template: str) -> list[tuple[str, str]]:
        return [(account, template.format(topic=topic, aspect=aspect, i=i))
                for i, aspect in enumerate(["history", "mechanism", "limits", "examples", "misconceptions", "uses", "maths", "debates", "future", "origins"])]

    ring = "Explain the {aspect} of {topic} in depth. Item {i}. Answer in JSON with the keys reasoning and answer."
    rows = [p for k, topic in enumerate(shards) for p in prompts(f"r{k}", topic, ring)]
    rows += [p for k, topic in enumerate(shards[:3]) for p in prompts(f"ordinary{k}", topic, ring)]
    own = ["Quick question {i}: what about the {aspect} of {topic}?", "For my class, summarise the {aspect} of {topic} ({i}).",
           "List three facts on {topic}, {aspect} first; number {i}."]
    rows += [p for k, template in enumerate(own) for p in prompts(f"own{k}", shards[k], template)]
    sample = pl.DataFrame(rows, schema=["account_id", "text"], orient="row").with_columns(normalised_prompt(pl.col("text")).alias("text"))
    features = template_features(sample)
    assert features.filter(pl.col("account_id").str.starts_with("r"))["dominant_skeleton"].n_unique() == len(shards)
    scored = (features.with_columns(pl.when(pl.col("account_id").str.starts_with("ordinary")).then(0.1).otherwise(0.9).alias("score_ignoring_volume"))
              .join(pl.DataFrame({"account_id": [f"other{i}" for i in range(300)]}), on="account_id", how="full", coalesce=True)
              .with_columns(pl.col("prompt_frames").fill_null(pl.lit([], dtype=pl.List(pl.UInt64))), pl.col("score_ignoring_volume").fill_null(0.0)))
    links = [(a, v) for a in scored["account_id"] if not a.startswith("other") for v in (f"pay:card-{a}", f"ip:203.0.113.{len(a)}/{a}")]
    assert _link_groups_among_others(links + frame_links(scored, RingSettings()).rows()) == [[f"r{k}" for k in range(len(shards))]]


def test_strangers_on_one_template_are_no_ring_but_the_same_accounts_fired_together_by_one_scheduler_are():
    """Three companies' batch jobs built on one library's template, each on its own card and network, each at its
    own times or each busy every minute: together they cover thousands of distinct prompts, but that is only the
    sum of three busy accounts, and what they share is a template, which strangers share too: no ring. The same
    accounts fired in the same minutes by one scheduler act at once, and then what they take together counts."""
    members = [f"job{i}" for i in range(3)]
    links = pl.DataFrame([(a, v) for a in members for v in (f"pay:card-{a}", f"ip:198.51.100.{len(a)}/{a}", "tmpl:summarise the record as json")],
                         schema=["account_id", "value"], orient="row")
    scored = pl.DataFrame([{"account_id": a, "score": 0.5, "score_ignoring_volume": 0.5, "points_purpose": 1.2, "ev_downstream": 0.0,
                            "n_requests": 1440, "prompt_growth": 1.0, "ev_coverage": 1.0, "first_seen": T0, "last_seen": T0 + timedelta(hours=72),
                            "created_at_account": T0 - timedelta(days=200 * (i + 1))} for i, a in enumerate(members)])
    membership = pl.DataFrame({"account_id": members, "group": ["g"] * 3})

    def points(minute_of) -> float:
        events = pl.DataFrame([(a, T0 + timedelta(minutes=minute_of(i, k)), f"{a} record {k}") for i, a in enumerate(members) for k in range(1440)],
                              schema=["account_id", "ts", "prompt"], orient="row")
        return ring_evidence(membership, links, scored, events, RingSettings())["points"][0]

    own_times = points(lambda i, k: 3 * k + i)            # every three minutes, each at its own minute
    busy = points(lambda i, k: k)                         # every minute: in the same minutes because in all of them
    scheduled = points(lambda i, k: 3 * k)                # every three minutes, all at once
    assert max(own_times, busy) < RingSettings().flag_points <= scheduled


def test_a_hydra_of_quiet_accounts_is_gathered_by_its_bursts_and_template_but_the_templates_other_users_are_not():
    """Twelve aged accounts, each on its own card, address and mail domain, make sixteen requests each: alone they
    act like nobody's extractor (score 0.35, under every suspicion bar). One scheduler fires them in the same
    bursts every seventy minutes, and their prompts fill one template, each from its own topic shard. Content and
    timing together gather them, and join the shards other links made of them; four accounts asking in the same
    template, as quiet, each at its own hours, are not gathered, and the hydra's schedule is what its ring evidence
    reads as acting together."""
    topics = ["thermodynamics", "the printing press", "ocean currents", "plate tectonics", "game theory", "compound interest",
              "protein folding", "baroque music", "roman law", "vaccines", "black holes", "sorting algorithms", "monetary policy",
              "the silk road", "climate feedback", "linear algebra"]
    aspects = ["history", "mechanism", "limits", "examples", "misconceptions", "uses", "maths", "debates", "future", "origins",
               "analogies", "experiments", "traps", "nuances", "alternatives", "definitions"]
    template = "Explain the {aspect} of {topic} in depth (item {i}). Format: Reasoning: ... Final answer: ..."
    hydra = [f"h{k:02d}" for k in range(12)]
    loners = [f"loner{k}" for k in range(4)]
    rows = []
    for k, account in enumerate(hydra + loners):
        for i, aspect in enumerate(aspects):
            minute = 70 * i + (7 * k) % 10 if account in hydra else 131 * i + 37 * k      # a burst of ten minutes; the loners keep their own hours
            rows.append((account, T0 + timedelta(minutes=minute, seconds=7 * k), template.format(aspect=aspect, topic=topics[k], i=16 * k + i)))
    events = pl.DataFrame(rows, schema=["account_id", "ts", "text"], orient="row")
    features = template_features(events.select("account_id", normalised_prompt(pl.col("text")).alias("text")))
    scored = (features.with_columns(pl.lit(0.35).alias("score_ignoring_volume"))
              .join(pl.DataFrame({"account_id": [f"other{i}" for i in range(300)]}), on="account_id", how="full", coalesce=True)
              .with_columns(pl.col("prompt_frames").fill_null(pl.lit([], dtype=pl.List(pl.UInt64))), pl.col("score_ignoring_volume").fill_null(0.0)))
    settings = RingSettings()
    assert frame_links(scored, settings).height == 0            # too quiet for the frames of suspicious accounts alone
    cofiring = cofiring_links(events.select("account_id", "ts"), scored, settings)
    links = [(a, v) for a in hydra + loners for v in (f"pay:card-{a}", f"ip:203.0.113.{len(a)}/{a}", f"mail:{a}.example")]
    assert _link_groups_among_others(links + cofiring.rows()) == [hydra]
    two_cards = [(a, f"pay:card-{'ab'[k // 6]}") for k, a in enumerate(hydra)]        # two shards, each on one card
    assert _link_groups_among_others(two_cards) == [hydra[:6], hydra[6:]]
    assert _link_groups_among_others(two_cards + cofiring.rows()) == [hydra]          # one template, one scheduler: one hydra

    members = pl.DataFrame({"account_id": hydra, "group": ["g"] * len(hydra)})
    member_scores = pl.DataFrame([{"account_id": a, "score": 0.35, "score_ignoring_volume": 0.35, "points_purpose": 1.2, "ev_downstream": 0.0,
                                   "n_requests": 16, "prompt_growth": 1.0, "ev_coverage": 0.0, "first_seen": T0, "last_seen": T0 + timedelta(hours=18),
                                   "created_at_account": T0 - timedelta(days=100 * (k + 1))} for k, a in enumerate(hydra)])
    hydra_events = events.filter(pl.col("account_id").is_in(hydra)).rename({"text": "prompt"})
    frames_only = [(a, f"frames:{hydra[0]}~{a}") for a in hydra[1:]] + [(hydra[0], f"frames:{hydra[0]}~{a}") for a in hydra[1:]]
    evidence = {name: ring_evidence(members, pl.DataFrame(ties, schema=["account_id", "value"], orient="row"), member_scores,
                                    hydra_events, settings).row(0, named=True)
                for name, ties in (("bursts", cofiring.rows()), ("frames", frames_only), ("none", [(a, f"pay:card-{a}") for a in hydra]))}
    assert evidence["bursts"]["rev_synchronised"] == 1.0 and evidence["none"]["rev_synchronised"] < 0.5
    # one template sent in the same bursts is sent together; its frames alone are a template each member may use in its own sittings
    assert evidence["bursts"]["rev_shared_template"] == 1.0 and evidence["frames"]["rev_shared_template"] == 0.0
    assert evidence["frames"]["rev_sharded_sweep"] == evidence["bursts"]["rev_sharded_sweep"] > 0     # a sweep either way


def test_co_firing_accounts_need_less_of_one_template_than_frames_alone():
    """Six accounts fired in the same bursts each mix one operator's template (four rare frames they share) with
    wording of their own (eight frames each): a third of each sketch is shared, too little for the frames of
    suspicious accounts to call it one template, enough beside one schedule. Six others with the same mix, each
    at its own hours, are linked by neither."""
    burst = [f"b{k}" for k in range(6)]
    own_hours = [f"o{k}" for k in range(6)]
    accounts = burst + own_hours
    sketches = [[1, 2, 3, 4] + [1000 * (k + 1) + j for j in range(8)] for k in range(len(accounts))]
    scored = pl.DataFrame({"account_id": accounts + [f"x{i}" for i in range(300)],
                           "score_ignoring_volume": [0.9] * len(accounts) + [0.0] * 300,
                           "prompt_frames": sketches + [[10**6 + i] for i in range(300)]},
                          schema_overrides={"prompt_frames": pl.List(pl.UInt64)})
    rows = [(a, T0 + timedelta(minutes=90 * i + k)) for k, a in enumerate(burst) for i in range(12)]
    rows += [(a, T0 + timedelta(minutes=97 * i + 41 * k + 13)) for k, a in enumerate(own_hours) for i in range(12)]
    events = pl.DataFrame(rows, schema=["account_id", "ts"], orient="row")
    settings = RingSettings()
    assert frame_links(scored, settings).height == 0
    linked = set(cofiring_links(events, scored, settings)["account_id"])
    assert linked == set(burst)


def test_extractors_in_one_templates_rare_wording_carry_their_quieter_fellows_but_batch_jobs_on_it_do_not():
    """Eight accounts repeat one template's rare wording (frames), each at its own hours, on its own card and
    network. When they are extractors alone (mean own score 1.1: the quieter ones under the bar), the group is
    one extraction and a ring; three companies' batch jobs built on one library's template (mean 0.85, the same
    wording and hours of their own) are not."""
    members = [f"m{k}" for k in range(8)]
    frames = [(a, f"frames:{members[0]}~{a}") for a in members[1:]] + [(members[0], f"frames:{members[0]}~{a}") for a in members[1:]]
    links = pl.DataFrame(frames, schema=["account_id", "value"], orient="row")
    membership = pl.DataFrame({"account_id": members, "group": ["g"] * len(members)})
    events = pl.DataFrame([(a, T0 + timedelta(minutes=53 * i + 17 * k), f"{a} item {i}") for k, a in enumerate(members) for i in range(40)],
                          schema=["account_id", "ts", "prompt"], orient="row")

    def evidence(scores: list[float]) -> dict:
        scored = pl.DataFrame([{"account_id": a, "score": s, "score_ignoring_volume": s, "points_purpose": 2.0, "ev_downstream": 0.0,
                                "n_requests": 40, "prompt_growth": 1.0, "ev_coverage": 0.5, "first_seen": T0, "last_seen": T0 + timedelta(hours=40),
                                "created_at_account": T0 - timedelta(days=90 * (k + 1))} for k, (a, s) in enumerate(zip(members, scores))])
        return ring_evidence(membership, links, scored, events, RingSettings()).row(0, named=True)

    extractors = evidence([1.3, 1.25, 1.2, 1.15, 1.05, 1.0, 0.95, 0.9])
    batch_jobs = evidence([0.85] * 8)
    assert extractors["rev_alike_extractors"] == 1.0 and batch_jobs["rev_alike_extractors"] == 0.0
    assert batch_jobs["points"] < RingSettings().flag_points <= extractors["points"]


def test_a_lab_whose_calibration_accounts_rerun_a_fixed_bank_is_no_ring_but_the_same_group_taking_new_prompts_is():
    """Eight accounts of one lab on one card and network, made the same day, each taking reasoning and long answers
    (mean own score 0.85): two of them re-run a fixed bank (calibration, pass@k). A quarter of the members re-running
    one bank is a lab at work, no ring; the same group with every member taking new prompts is one."""
    members = [f"lab{k}" for k in range(8)]
    links = pl.DataFrame([(a, v) for a in members for v in ("pay:lab-card", "ip:198.51.100.0/24")], schema=["account_id", "value"], orient="row")
    membership = pl.DataFrame({"account_id": members, "group": ["g"] * len(members)})
    events = pl.DataFrame([(a, T0 + timedelta(minutes=37 * i + 11 * k), f"{a} question {i}") for k, a in enumerate(members) for i in range(60)],
                          schema=["account_id", "ts", "prompt"], orient="row")

    def points(reruns: list[float], sitting: float = 0.0) -> float:
        scored = pl.DataFrame([{"account_id": a, "score": 0.85, "score_ignoring_volume": 0.85, "points_purpose": 2.3, "ev_downstream": 0.0,
                                "ev_rerun": r, "ev_one_sitting": sitting, "n_requests": 60, "prompt_growth": 1.0, "ev_coverage": 0.5,
                                "first_seen": T0, "last_seen": T0 + timedelta(hours=40), "created_at_account": T0 - timedelta(days=12, hours=k)}
                               for k, (a, r) in enumerate(zip(members, reruns))])
        return ring_evidence(membership, links, scored, events, RingSettings())["points"][0]

    assert points([1.0, 1.0] + [0.0] * 6) < RingSettings().flag_points <= points([0.0] * 8)
    # two signs of evaluation, each half-way (one re-runner in eight; members' windows mostly one sitting each), are read
    # apart and weigh more together than either alone
    one_rerunner, sittings = [1.0] + [0.0] * 7, 0.925
    assert points(one_rerunner, sittings) < min(points(one_rerunner), points([0.0] * 8, sittings))


def test_members_asking_one_list_again_and_again_at_many_temperatures_are_a_ring_not_a_bank_re_run():
    """Six accounts on one card and network each ask the same 40 prompts, over and over (joint novelty 0.04), as an
    evaluation re-runs its bank, each alone taking reasoning and long answers. At one fixed temperature the group
    reads as a lab re-running a benchmark: no ring. Asked at twelve temperatures each, it is samples of a harvest
    spread over accounts (the policy's ``beyond_a_bank``): a ring."""
    members = [f"m{k}" for k in range(6)]
    links = pl.DataFrame([(a, v) for a in members for v in ("pay:one-card", "ip:198.51.100.0/24")], schema=["account_id", "value"], orient="row")
    membership = pl.DataFrame({"account_id": members, "group": ["g"] * len(members)})
    events = pl.DataFrame([(a, T0 + timedelta(minutes=37 * i + 11 * k), f"shared question {i % 40}") for k, a in enumerate(members) for i in range(160)],
                          schema=["account_id", "ts", "prompt"], orient="row")
    policy = PolicySettings()

    def ring(temperatures: int) -> pl.DataFrame:
        scored = pl.DataFrame([{"account_id": a, "score": 1.0, "score_ignoring_volume": 1.0, "points_purpose": 2.3, "ev_downstream": 0.0,
                                "ev_rerun": 0.0, "ev_one_sitting": 0.0, "n_requests": 160, "prompt_growth": 0.2, "ev_coverage": 0.2,
                                "temperature_distinct": temperatures, "distinct_prompts": 40,
                                "first_seen": T0, "last_seen": T0 + timedelta(hours=40), "created_at_account": T0 - timedelta(days=90 * k)}
                               for k, a in enumerate(members)])
        scored = scored.with_columns(beyond_a_bank(policy).alias("beyond_a_bank"))
        return ring_evidence(membership, links, scored, events, RingSettings())

    fixed, varied = ring(1), ring(12)
    assert fixed["joint_novelty"][0] < 0.15 and fixed["rev_bank_reuse"][0] == 1.0 and varied["rev_bank_reuse"][0] == 0.0
    assert fixed["points"][0] < RingSettings().flag_points <= varied["points"][0]


def test_apps_built_from_one_starter_template_are_no_ring_but_accounts_asking_it_for_reasoning_are():
    """Six accounts on their own cards send one starter's system prompt, each taking long answers to its own growing
    set of prompts (each alone 0.8 of its bar). A template strangers share is one operation's only as far as its
    members ask for what only distillation asks for: taking long answers is what apps built from one starter do, so
    they are no ring; the same six asking for reasoning traces and several samples are one."""
    members = [f"app{k}" for k in range(6)]
    links = pl.DataFrame([(a, v) for a in members for v in ("sys:starter-meal-planner", f"pay:card-{a}")], schema=["account_id", "value"], orient="row")
    membership = pl.DataFrame({"account_id": members, "group": ["g"] * len(members)})
    events = pl.DataFrame([(a, T0 + timedelta(minutes=37 * i + 11 * k), f"{a} plan {i}") for k, a in enumerate(members) for i in range(60)],
                          schema=["account_id", "ts", "prompt"], orient="row")

    def ring(asks: float) -> dict:
        scored = pl.DataFrame([{"account_id": a, "score": 0.8, "score_ignoring_volume": 0.8, "points_purpose": 2.0, "ev_downstream": 0.0,
                                "ev_rerun": 0.0, "ev_one_sitting": 0.0, "n_requests": 60, "prompt_growth": 1.0, "ev_coverage": 0.5,
                                "ev_elicitation": asks, "ev_sampling": asks,
                                "first_seen": T0, "last_seen": T0 + timedelta(hours=40), "created_at_account": T0 - timedelta(days=90 * k)}
                               for k, a in enumerate(members)])
        return ring_evidence(membership, links, scored, events, RingSettings()).row(0, named=True)

    apps, harvest = ring(0.0), ring(1.0)
    assert apps["rev_shared_template"] == 0.0 and harvest["rev_shared_template"] == 1.0
    assert apps["points"] < RingSettings().flag_points <= harvest["points"]


def test_one_list_cut_into_a_slice_per_account_and_each_slice_asked_twice_is_a_ring_not_a_bank_re_run():
    """Eight accounts on one card send one system prompt; each asks thirty prompts of its own (one list cut into a
    slice per account) and asks its slice again at the same setting, so each alone reads as a fixed bank re-run, and
    works over two days. Together that is one harvest spread over accounts, each slice re-asked for more samples: a
    ring. The same members asking one shared bank, or each in its own template, or each working its slice in one
    sitting (evaluators each running theirs once), or asking their slices once and a handful of shared prompts again
    and again (a generator's instructions), re-run a bank: no ring."""
    members = [f"acct{k}" for k in range(8)]
    membership = pl.DataFrame({"account_id": members, "group": ["g"] * len(members)})

    def points(*, sliced: bool = True, one_template: bool = True, sitting: float = 0.0, hot_shared: bool = False) -> float:
        values = ["pay:one-card"] + (["sys:one-harness"] if one_template else [])
        links = pl.DataFrame([(a, v) for a in members for v in values]
                             + ([(a, f"sys:own-{a}") for a in members] if not one_template else []), schema=["account_id", "value"], orient="row")
        asked = [(a, T0 + timedelta(minutes=41 * i + 13 * k + 1500 * p), f"question {30 * k * sliced + i}")
                 for k, a in enumerate(members) for p in range(1 if hot_shared else 2) for i in range(30)]
        if hot_shared:      # each slice asked once; what members ask again is a handful of prompts they all send
            asked += [(a, T0 + timedelta(minutes=41 * i + 13 * k + 7), f"shared instruction {i % 5}") for k, a in enumerate(members) for i in range(30)]
        events = pl.DataFrame(asked, schema=["account_id", "ts", "prompt"], orient="row")
        scored = pl.DataFrame([{"account_id": a, "score": 0.6, "score_ignoring_volume": 0.6, "points_purpose": 2.3, "ev_downstream": 0.0,
                                "ev_rerun": 1.0, "ev_one_sitting": sitting, "n_requests": 60, "prompt_growth": 0.0, "ev_coverage": 0.3,
                                "first_seen": T0, "last_seen": T0 + timedelta(hours=40), "created_at_account": T0 - timedelta(days=200 * k)}
                               for k, a in enumerate(members)])
        return ring_evidence(membership, links, scored, events, RingSettings())["points"][0]

    bar = RingSettings().flag_points
    assert points() >= bar
    assert points(sliced=False) < bar
    assert points(one_template=False) < bar
    assert points(sitting=0.9) < bar
    assert points(hot_shared=True) < bar


def test_members_busy_at_random_are_not_synchronised_but_members_firing_in_the_same_bursts_are():
    """Four apps, each busy in a random seventh of the minutes of two days, find two of them busy in one minute about
    a quarter of the time: chance, not a schedule, so no synchronisation evidence. Four accounts that fire in the same
    minutes (one scheduler) are synchronised in full."""
    import numpy as np

    members = [f"acct{k}" for k in range(4)]
    membership = pl.DataFrame({"account_id": members, "group": ["g"] * 4})
    links = pl.DataFrame({"account_id": members, "value": ["tmpl:one app"] * 4})
    rng = np.random.default_rng(7)
    span = 2 * 24 * 60

    def evidence(minutes_of) -> dict:
        events = pl.DataFrame([(a, T0 + timedelta(minutes=int(m)), f"{a} prompt {m}") for a in members for m in minutes_of(a)],
                              schema=["account_id", "ts", "prompt"], orient="row")
        scored = pl.DataFrame([{"account_id": a, "score": 0.8, "score_ignoring_volume": 0.8, "points_purpose": 1.8, "ev_downstream": 0.0,
                                "n_requests": 400, "first_seen": T0, "last_seen": T0 + timedelta(days=2)} for a in members])
        return ring_evidence(membership, links, scored, events, RingSettings()).row(0, named=True)

    at_random = evidence(lambda a: rng.choice(span, span // 7, replace=False))
    bursts = sorted(rng.choice(span, span // 7, replace=False))
    scheduled = evidence(lambda a: bursts)
    assert at_random["synchronised_share"] > RingSettings().synchronised[1]       # raw co-activity alone would have counted in full
    assert abs(at_random["synchronised_share"] - at_random["chance_share"]) < 0.05 and at_random["rev_synchronised"] < 0.3
    assert scheduled["synchronised_share"] == 1.0 and scheduled["rev_synchronised"] == 1.0


def test_members_that_are_extractors_alone_do_not_lose_their_own_re_run_signs_again_as_a_group():
    """Eight accounts on one card, each asking prompts of its own and a quarter of them again. Each member's
    re-run and one-sitting evidence is in its own score already: members that score as extractors alone after it are
    a ring, and their signs are not taken from the group a second time. Members whose own counter-evidence leaves them
    evaluators (scores well under the bar) keep the group's counter; and members asking each other's prompts again (one
    bank between them) lose it whatever they score alone."""
    members = [f"acct{k}" for k in range(8)]
    membership = pl.DataFrame({"account_id": members, "group": ["g"] * len(members)})
    links = pl.DataFrame({"account_id": members, "value": ["pay:one-card"] * len(members)})

    def points(score: float, shared_bank: bool = False) -> float:
        asked = [(a, T0 + timedelta(minutes=29 * i + 7 * k), f"question {i if shared_bank else f'{k}-{i}'}")
                 for k, a in enumerate(members) for i in range(60)]
        asked += [(a, T0 + timedelta(hours=30, minutes=29 * i + 7 * k), f"question {i if shared_bank else f'{k}-{i}'}")
                  for k, a in enumerate(members) for i in range(15)]
        events = pl.DataFrame(asked, schema=["account_id", "ts", "prompt"], orient="row")
        scored = pl.DataFrame([{"account_id": a, "score": score, "score_ignoring_volume": score, "points_purpose": 2.0, "ev_downstream": 0.0,
                                "ev_rerun": 0.4, "ev_one_sitting": 0.0, "n_requests": 75, "prompt_growth": 0.3, "ev_coverage": 0.5,
                                "first_seen": T0, "last_seen": T0 + timedelta(hours=40), "created_at_account": T0 - timedelta(days=200 * k)}
                               for k, a in enumerate(members)])
        return ring_evidence(membership, links, scored, events, RingSettings())["points"][0]

    bar = RingSettings().flag_points
    assert points(1.1) >= bar
    assert points(0.5) < bar
    assert points(1.1, shared_bank=True) < bar


@pytest.mark.xfail(strict=True, reason="issue 13 open: two burner chains on one disposable domain, made in the same hours, "
                                       "are linked by their cohort windows; what tells them apart (each chain's own client and "
                                       "card) is never weighed against the cohort")
def test_two_burner_chains_on_one_disposable_domain_each_with_its_own_client_are_two_groups():
    """Two operators burn fresh accounts one after another on one disposable mail domain, in the same hours, so
    their accounts fall in the same creation windows (cohort links). Each chain runs its own client library
    throughout, and the first pays three of its accounts with one card. Independent draws of both outside
    generators make such pairs (stop 33: two chains of 8 and 4, and of 5 and 6); they are two rings."""
    chains = {"a": [f"a{i}" for i in range(8)], "b": [f"b{i}" for i in range(4)]}
    client = {"a": "ua:okhttp/4.12.0", "b": "ua:axios/1.7.7"}
    made = {m: 3 * i + (0 if op == "a" else 1) for op, ms in chains.items() for i, m in enumerate(ms)}   # interleaved, hours
    links = [(m, "mail:throwaway.example") for ms in chains.values() for m in ms]
    links += [(m, client[op]) for op, ms in chains.items() for m in ms]
    links += [(m, f"cohort:throwaway.example@{w}/{(made[m] + 3 * w) // 6}") for m in made for w in (0, 1)]
    links += [(m, "pay:card-a") for m in chains["a"][:3]]
    assert _link_groups_among_others(links) == [chains["a"], chains["b"]]
