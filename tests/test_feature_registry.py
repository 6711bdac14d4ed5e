"""The feature registry (features/families.py) is the single source of the feature lists: the
peer-compared columns, the outlier models' inputs, the report's table and the reasons' figures
are derived from it, so adding a feature touches its family and nothing else."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from distillguard import detection, queries, report
from distillguard.features import METADATA_FEATURES, TEXT_FEATURES
from distillguard.features.families import ALL_FEATURES, FEATURES_BY_NAME, WINDOW_FEATURES
from distillguard.features.registry import USES, Feature, days, number, percent, placed, placed_names
from distillguard.models import anomaly, online, reasons
from distillguard.models.policy import INPUT_COLUMNS

# The lists as they were written out by hand before the registry. Existing features keep their
# places (the order of model inputs changes PyOD's and river's scores); new ones come after.
LEGACY = {
    "peers": ["n_requests", "reasoning_share", "rubric_share", "length_cut_share", "logprobs_share", "multi_sample_share",
              "distinct_prompt_share", "slot_diversity", "interarrival_cv", "rate_limited_share", "n_system_prompts",
              "completion_tokens_median", "long_answer_share", "hot_reask_share", "prompt_growth", "requests_per_day",
              "requests_per_active_hour"],
    "anomaly_model": ["reasoning_share", "fixed_format_share", "rubric_share", "logprobs_share", "multi_sample_share",
                      "length_cut_share", "long_answer_share", "hot_reask_share", "cold_reask_share", "prompt_growth",
                      "distinct_prompt_share", "slot_diversity", "top_skeleton_share", "interarrival_cv", "hour_entropy",
                      "single_turn_share", "tool_share", "rate_limited_share", "completion_prompt_ratio", "completion_tokens_median"],
    "online_model": ["n_requests", "requests_per_active_hour", "completion_prompt_ratio", "rate_limited_share", "interarrival_cv",
                     "peak_minute_share", "distinct_prompt_share", "reasoning_share", "rubric_share", "logprobs_share",
                     "multi_sample_share", "length_cut_share", "n_system_prompts", "n_client_styles", "n_user_agents"],
    "report": ["n_requests", "requests_per_active_hour", "reasoning_share", "fixed_format_share", "rubric_share", "logprobs_share",
               "multi_sample_share", "length_cut_share", "distinct_prompt_share", "slot_diversity", "interarrival_cv",
               "hour_entropy", "rate_limited_share", "n_ips", "n_system_prompts", "account_age_days"],
    "profile": ["n_requests", "requests_per_active_hour", "active_hours", "reasoning_share", "rubric_share", "length_cut_share",
                "logprobs_share", "multi_sample_share", "distinct_prompt_share", "slot_diversity", "top_skeleton_share",
                "interarrival_cv", "hour_entropy", "rate_limited_share", "single_turn_share", "n_ips", "n_user_agents", "n_end_users",
                "n_system_prompts", "n_client_styles", "account_age_days"],
}
LEGACY_ANOMALY_LOG = {"completion_prompt_ratio", "completion_tokens_median", "interarrival_cv"}
LEGACY_ONLINE_LOG = {"n_requests", "requests_per_active_hour", "completion_prompt_ratio", "n_system_prompts", "n_client_styles",
                     "n_user_agents"}
LEGACY_REPORT_WORDS = {
    "n_requests": ("requests in the window", number, True), "requests_per_active_hour": ("requests per active hour", number, True),
    "reasoning_share": ("reasoning-trace requests", percent, False), "fixed_format_share": ("fixed answer formats demanded", percent, False),
    "rubric_share": ("grader / rubric prompts", percent, False), "logprobs_share": ("log-probabilities requested", percent, False),
    "multi_sample_share": ("several completions per prompt", percent, False),
    "length_cut_share": ("answers cut at max_tokens", percent, False), "distinct_prompt_share": ("never-repeated prompts", percent, False),
    "slot_diversity": ("distinct template slot values", percent, False),
    "interarrival_cv": ("timing irregularity (low = scripted)", number, False), "hour_entropy": ("hour-of-day spread", percent, False),
    "rate_limited_share": ("rate-limited requests (429)", percent, False), "n_ips": ("client IPs", number, True),
    "n_system_prompts": ("distinct system prompts", number, True),
    "account_age_days": ("account age at first request (days)", days, True),   # was number; days as the reasons print them
}


def test_every_feature_has_a_name_a_meaning_a_label_and_a_format():
    names = [f.name for f in ALL_FEATURES]
    assert len(names) == len(set(names)) and set(FEATURES_BY_NAME) == set(names)
    for f in ALL_FEATURES:
        assert f.meaning and f.family and f.label, f.name
        assert f.format(0.5) and f.format(None)


@pytest.mark.parametrize("use", USES)
def test_places_are_distinct_and_existing_features_keep_theirs(use):
    names = placed_names(ALL_FEATURES, use)              # raises when two features claim one place
    assert names[:len(LEGACY[use])] == LEGACY[use]


def test_the_derived_lists_are_the_registrys():
    assert detection.PEER_COLUMNS == placed_names(ALL_FEATURES, "peers")
    assert detection.EVIDENCE_FIELDS[:len(detection.PEER_COLUMNS)] == detection.PEER_COLUMNS
    assert anomaly.SHAPE_COLUMNS == placed_names(ALL_FEATURES, "anomaly_model")
    assert anomaly.LOG_SHAPE_COLUMNS == [f.name for f in placed(ALL_FEATURES, "anomaly_model") if f.anomaly_log]
    assert set(anomaly.LOG_SHAPE_COLUMNS) == LEGACY_ANOMALY_LOG          # read as a set: order does not matter
    assert online.ONLINE_FEATURES == placed_names(ALL_FEATURES, "online_model")
    assert online.LOG_SCALED == {f.name for f in placed(ALL_FEATURES, "online_model") if f.log_scale} == LEGACY_ONLINE_LOG
    assert [row[0] for row in report.FEATURES] == placed_names(ALL_FEATURES, "report")
    assert queries.feature_columns("profile").count(") AS ") == len(placed_names(ALL_FEATURES, "profile"))
    assert TEXT_FEATURES == ["template_word_share", "top_skeleton_share", "slot_diversity"]
    assert METADATA_FEATURES == ["account_age_days"]
    assert all(f.expr is not None for f in WINDOW_FEATURES)


def test_the_report_shows_each_features_label_and_format():
    for column, words, fmt, log in report.FEATURES:
        f = FEATURES_BY_NAME[column]
        assert (words, fmt, log) == (f.title, f.formatter, f.log_scale)
        if column in LEGACY_REPORT_WORDS:
            assert (words, fmt, log) == LEGACY_REPORT_WORDS[column]


def test_the_policy_reads_registered_features_only():
    assert set(INPUT_COLUMNS) - {"anomaly"} <= set(FEATURES_BY_NAME)


def _full_row() -> dict:
    row: dict = {f.name: (3 if f.unit == "count" else 0.5) for f in ALL_FEATURES}
    row.update({f"{name}_peer_median": 0.01 for name in detection.PEER_COLUMNS})
    return row


def test_every_reason_sentence_renders_with_the_registrys_formats():
    row = _full_row()
    for f in ALL_FEATURES:
        if f.reason:
            sentence = reasons.say(f.reason, row)          # a misspelt figure raises KeyError here
            assert "{" not in sentence, f.name
    said = reasons.say(FEATURES_BY_NAME["reasoning_share"].reason, row)
    assert said == "reasoning-trace requests in 50% of 3 requests; peers median 1%"
    assert reasons.say("{hour_entropy}", {"hour_entropy": 0.87}) == FEATURES_BY_NAME["hour_entropy"].format(0.87) == "87%"


def test_the_reasons_quote_the_registrys_sentences():
    sentence_features = {name for sentences in reasons.FAMILY_SENTENCES.values() for name, _, _ in sentences}
    with_reason = {f.name for f in ALL_FEATURES if f.reason}
    assert sentence_features - {"anomaly_z"} == with_reason
    row = {**_full_row(), "reasoning_share": 0.92, "reasoning_share_peer_median": 0.03, "n_requests": 18400, "ev_elicitation": 1.0}
    assert reasons.account_reasons(row)[0] == "reasoning-trace requests in 92% of 18,400 requests; peers median 3%"


def test_a_new_feature_reaches_every_list_from_its_family_alone():
    """A feature added to the registry (here before the consumers are imported, in a fresh
    process, as an edit of families.py would) shows in the peer columns and their stored
    medians, both models' inputs, the report's table, the account profile query and the
    reasons, with no other change."""
    script = textwrap.dedent("""
        import polars as pl
        from dataclasses import replace
        from distillguard.features import families
        from distillguard.features.registry import USES, share

        last = {use: max(getattr(f, use) for f in families.ALL_FEATURES) for use in USES}
        new = replace(families.TIMING[0], name="night_share", meaning="requests between 00:00 and 06:00 UTC",
                      expr=share(pl.col("_hour_of_day") < 6), unit="share", label="night-time requests", shown_as="",
                      anomaly_log=False, log_scale=False, reason="{night_share} of requests at night{night_share.vs_peers}",
                      peers=last["peers"] + 1, anomaly_model=last["anomaly_model"] + 1,
                      online_model=last["online_model"] + 1, report=last["report"] + 1, profile=last["profile"] + 1)
        families.WINDOW_FEATURES.append(new)
        families.ALL_FEATURES.append(new)
        families.FEATURES_BY_NAME[new.name] = new

        from distillguard import detection, queries, report
        from distillguard.features import account_features
        from distillguard.features.peers import peer_medians, with_peer_groups
        from distillguard.models import anomaly, online, reasons
        from datetime import datetime, timedelta, timezone
        T0 = datetime(2026, 11, 2, tzinfo=timezone.utc)

        assert detection.PEER_COLUMNS[-1] == "night_share", detection.PEER_COLUMNS
        assert anomaly.SHAPE_COLUMNS[-1] == "night_share"
        assert online.ONLINE_FEATURES[-1] == "night_share"
        assert report.FEATURES[-1][:2] == ("night_share", "night-time requests")
        assert queries.query_info("account_profile").sql.count("AS night_share") == 1
        events = pl.DataFrame({"event_id": [f"e{i}" for i in range(24)], "account_id": ["a"] * 24,
                               "ts": [T0 + timedelta(hours=i) for i in range(24)], "api_key_id": ["k"] * 24,
                               "client_ip": ["198.51.100.4"] * 24, "endpoint": ["/v1/messages"] * 24, "model": ["m"] * 24,
                               "status": [200] * 24, "prompt_tokens": [20] * 24, "completion_tokens": [80] * 24,
                               "prompt": [f"p{i}" for i in range(24)]})
        row = peer_medians(with_peer_groups(account_features(events)), detection.PEER_COLUMNS).row(0, named=True)
        assert row["night_share"] == 0.25 and row["night_share_peer_median"] == 0.25, row
        assert "night_share" in online.online_vector(row)
        assert reasons.say(new.reason, {**row, "night_share_peer_median": 0.02}) == "25% of requests at night; peers median 2%"
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("ok")


def test_a_feature_without_an_aggregation_says_so():
    with pytest.raises(ValueError, match="not computed by an aggregation"):
        Feature("slot_like", "computed elsewhere", None).aggregation()
