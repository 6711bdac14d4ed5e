"""The stream's per-partition prompt history: repeats across hours, and bounded state."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import polars as pl

from distillguard.stream.history import PromptHistory

T0 = datetime(2026, 11, 2, tzinfo=timezone.utc)


def _prompts(account: str, start: datetime, prompts: list[str]) -> pl.DataFrame:
    return pl.DataFrame({"account_id": [account] * len(prompts),
                         "ts": [start + timedelta(minutes=i) for i in range(len(prompts))], "prompt": prompts})


def test_prompts_sent_hours_before_the_window_count_as_repeats():
    history = PromptHistory(history_s=86_400)
    history.add(_prompts("bench", T0, ["q1", "q2", "q3", "q4"]), partition=0)
    evening = _prompts("bench", T0 + timedelta(hours=9), ["q1", "q2", "q3", "new"])
    history.add(evening, partition=0)
    share = history.repeat_share(evening.with_columns(pl.lit(0).alias("_point")))["history_repeat_share"].item()
    assert share == 0.75


def test_an_account_gone_quiet_is_forgotten_and_an_active_one_is_not():
    history = PromptHistory(history_s=3 * 3600, quiet_grace_s=3600)
    history.add(_prompts("quiet", T0, ["a", "b"]), partition=0)
    history.add(_prompts("busy", T0, ["x", "y"]), partition=0)
    for hour in (2, 4, 6):      # only "busy" keeps sending; the partition's clock moves on
        history.add(_prompts("busy", T0 + timedelta(hours=hour), [f"p{hour}"]), partition=0)
    kept = history.frame_of(0)
    assert set(kept["account_id"]) == {"busy"}            # quiet for 6 h > 3 h of history + 1 h of grace
    busy_hashes = set(kept["prompt_hash"])                  # busy's own last 3 h: p4 and p6
    assert busy_hashes == set(pl.Series(["p4", "p6"]).hash().to_list())
