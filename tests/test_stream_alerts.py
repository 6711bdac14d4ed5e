"""Streaming alert quality on a simulated day replayed through a real Kafka (Tansu).

Every single-account extractor (bulk extractor, burner) is alerted within 10 minutes of event
time after its first request; under 1% of benign accounts and under 3% of hard negatives get
any alert. Two seeds, two population mixes, both vocabularies.
"""

from __future__ import annotations

import polars as pl
import pytest

from distillguard.config import Settings
from distillguard.evaluate import FAST_ALERT_KINDS, evaluate_alerts
from distillguard.kafka_io import event_records
from distillguard.reviews import record_review
from distillguard.simulator import SimulationConfig, simulate
from distillguard.store import Store
from distillguard.stream import run_stream
from distillguard.stream.scoring import StreamScorer
from distillguard.stream.sink import ALERT_SCHEMA, alert_memory, dismissed_accounts, insert_alerts
from tests.test_stream import produce, read_store, stream_settings

# Issue 13 is open: research labs (chain-of-thought evaluations over a growing bank) alert from one-hour windows
# (hard-negative alert rate 9-12% on these seeds) and some burners alert after 16-30 minutes. Strict: remove when met.
STREAM_BARS_OPEN = pytest.mark.xfail(strict=True, reason="issue 13 open: research labs alert from one-hour windows; late burners")


@pytest.mark.kafka
@pytest.mark.parametrize("seed, mix, vocabulary", [pytest.param(31, "hard_negative_heavy", "alt", marks=STREAM_BARS_OPEN),
                                                   pytest.param(32, "default", "default", marks=STREAM_BARS_OPEN)])
def test_extractors_alerted_within_ten_minutes_and_few_false_alerts(tmp_path, kafka_broker, seed, mix, vocabulary):
    sim = simulate(SimulationConfig(seed=seed, scale=0.2, n_days=1, mix=mix, vocabulary=vocabulary))
    settings = stream_settings(tmp_path, kafka_broker)
    with Store.open(settings.store.db_path) as store:
        store.upsert_accounts(sim.accounts)
    produce(settings, event_records(sim.events))

    run_stream(settings, max_seconds=300, stop_when_idle_s=4)

    alerts = read_store(settings, "SELECT account_id, ts, reasons FROM alerts")
    first_seen = sim.events.group_by("account_id").agg(pl.col("ts").min().dt.replace_time_zone(None).alias("first_ts"))
    m = evaluate_alerts(sim.truth, alerts, first_seen)
    assert m["fast_kind_accounts"] >= 5
    assert m["fast_kinds_within_deadline"] == 1.0, m["late_or_missed"]
    assert m["benign_alert_rate"] < 0.01, m["per_kind"]
    assert m["hard_negative_alert_rate"] < 0.03, m["per_kind"]
    # every alert explains itself
    assert alerts.height > 0 and alerts["reasons"].str.contains("account score").all()


def _streamed_alerts(events: pl.DataFrame, accounts: pl.DataFrame, store: Store) -> pl.DataFrame:
    """Alerts of one stream scorer (real river models) fed ``events`` in micro-batches, with the
    memory a consumer reads from ``store``: raised alerts, dismissals, account metadata."""
    scorer = StreamScorer(Settings())
    scorer.load_memory(alert_memory(store), dismissed_accounts(store), set(), accounts)
    partitioned = events.with_columns((pl.col("account_id").hash() % 4).cast(pl.Int32).alias("_partition"))
    alerts: list[dict] = []
    for chunk in partitioned.sort("ts").iter_slices(5000):
        alerts.extend(scorer.ingest(chunk))
    return pl.DataFrame(alerts, schema=ALERT_SCHEMA)


def test_a_dismissed_account_is_not_realerted_until_its_volume_jumps(tmp_path):
    sim = simulate(SimulationConfig(seed=33, scale=0.2, n_days=1))
    events = sim.events
    with Store.open(tmp_path / "dg.duckdb") as store:
        store.upsert_accounts(sim.accounts)
        store.insert_events(events, source="test")
        first = _streamed_alerts(events, sim.accounts, store)
        extractors = set(sim.truth.filter(pl.col("kind").is_in(FAST_ALERT_KINDS))["account_id"].to_list())
        alerted = sorted(set(first["account_id"].to_list()) & extractors)
        assert alerted, "the stream should alert on single-account extractors"
        target = alerted[0]
        insert_alerts(store, first)

        # the analyst dismisses it (say, a customer's sanctioned data-generation job)
        record_review(store, "account", target, "false_positive", "alice", "sanctioned synthetic-data job")
        dismissed = dismissed_accounts(store)
        assert dismissed["account_id"].to_list() == [target] and dismissed["rate"][0] > 0

        # replayed with the same behaviour (a restarted group, fresh memory of alerts): not again,
        # while everything else the stream alerted on still is
        store.con.execute("DELETE FROM alerts WHERE account_id <> ?", [target])
        second = _streamed_alerts(events, sim.accounts, store)
        assert target not in set(second["account_id"].to_list())
        assert set(first["account_id"].to_list()) - {target} <= set(second["account_id"].to_list())

        # the next day the same account triples its request rate with fresh prompts (three copies of its
        # traffic interleaved, each with prompts of its own): alerted again, and the alert shows it
        own = events.filter(pl.col("account_id") == target)
        next_day = pl.concat([
            own.with_columns(pl.col("ts") + pl.duration(days=1, seconds=copy), pl.col("event_id") + f"-d2-{copy}",
                             (pl.col("prompt") + f" (variant {copy})").alias("prompt"))
            for copy in range(3)
        ]).sort("ts")
        third = _streamed_alerts(next_day, sim.accounts, store)
        again = third.filter(pl.col("account_id") == target)
        assert again.height >= 1
        assert again["requests_per_active_hour"].max() >= 2 * dismissed["rate"][0]
