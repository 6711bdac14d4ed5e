"""The evaluator's arithmetic on plain frames, and the CLI on an empty database."""

from __future__ import annotations

import json

import polars as pl
from typer.testing import CliRunner

from distillguard.cli import app
from distillguard.evaluate import evaluate_frames
from distillguard.store import Store


def truth_frame():
    rows = [
        ("c1", "casual_chat", "benign", False, None, None),
        ("c2", "casual_chat", "benign", False, None, None),
        ("p1", "production_integration", "benign", True, None, None),
        ("x1", "bulk_extractor", "attack", False, None, None),
        ("r1", "coordinated_ring", "attack", False, "R", "coordinated"),
        ("r2", "coordinated_ring", "attack", False, "R", "coordinated"),
        ("r3", "coordinated_ring", "attack", False, "R", "coordinated"),
        ("s1", "reseller_ring", "attack", False, "S", "reseller"),
        ("s2", "reseller_ring", "attack", False, "S", "reseller"),
    ]
    return pl.DataFrame(rows, schema=["account_id", "kind", "label", "hard_negative", "ring_id", "ring_kind"], orient="row")


def test_metrics_count_hits_misses_and_ring_matches():
    flagged = pl.DataFrame({"account_id": ["x1", "r1", "r2", "s1", "s2", "p1", "c1"]})
    members = pl.DataFrame({"ring_id": ["A", "A", "B", "B", "B", "C", "C"], "account_id": ["r1", "r2", "s1", "s2", "p1", "c1", "c2"]})
    rings = pl.DataFrame({"ring_id": ["A", "B", "C"], "kind": ["coordinated", "coordinated", "coordinated"]})
    m = evaluate_frames(truth_frame(), flagged, rings, members)
    assert m["account_recall"] == 5 / 6
    assert m["precision"] == 5 / 7
    assert m["benign_fpr"] == 0.5 and m["hard_negative_fpr"] == 1.0
    assert m["ring_recall"] == 1.0                       # A~R (2/3), B~S (2/3)
    assert m["ring_kind_accuracy"] == 0.5                # B is called coordinated, S is a reseller ring
    assert m["spurious_rings"] == 1                      # C matches nothing
    assert m["benign_in_rings"] == 3                     # p1, c1, c2
    assert abs(m["mean_best_jaccard"] - 2 / 3) < 1e-9


def test_evaluate_on_a_database_with_no_flags_prints_zero_recall_and_the_table(tmp_path):
    db = tmp_path / "dg.duckdb"
    Store.open(db).close()
    truth = tmp_path / "truth.csv"
    truth_frame().write_csv(truth)
    out = tmp_path / "m.json"
    result = CliRunner().invoke(app, ["evaluate", "--db", str(db), "--truth", str(truth), "--json", str(out)])
    assert result.exit_code == 0, result.output
    metrics = json.loads(out.read_text())
    assert metrics["account_recall"] == 0.0 and metrics["ring_recall"] == 0.0
    assert "account_recall" in result.output and "bulk_extractor" in result.output
