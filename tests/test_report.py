"""The static HTML report, built from a real `distillguard batch` run and checked in headless Chromium.

A ring member's logged prompt and user agent carry HTML/JavaScript payloads: the ring report
must show them as text (no script runs, the page title stays ours) and must draw its pictures
(a screenshot with many distinct colours).
"""

from __future__ import annotations

import dataclasses
import html
import os
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from distillguard.cli import app
from distillguard.simulator import SimulationConfig, simulate, write_traffic
from distillguard.snapshot import open_analyst_store

PAYLOAD = ("<script>document.title='pwned';document.body.innerHTML=''</script>"
           "<img src=x onerror=\"document.title='pwned'\">")
UA_PAYLOAD = "<img src=x onerror=\"document.title='pwned'\">"


def _find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None


CHROMIUM = _find_chromium()
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (`make system-deps` installs it); the rendering checks need a real browser")


@pytest.fixture(scope="module")
def ring_case(tmp_path_factory) -> tuple[Path, str, str]:
    """(database, ring id, member) after a batch run over traffic in which the member sent the payload."""
    folder = tmp_path_factory.mktemp("report")
    traffic = simulate(SimulationConfig(seed=21, mix="ring_heavy", scale=0.06, volume=0.25))
    rings = traffic.truth.filter(pl.col("ring_id").is_not_null())
    biggest = rings.group_by("ring_id").len().sort("len", "ring_id", descending=[True, False])["ring_id"][0]
    member = rings.filter(pl.col("ring_id") == biggest)["account_id"].sort()[0]
    newest = traffic.events["ts"].max()
    hostile = (traffic.events.filter(pl.col("account_id") == member).tail(1)
               .with_columns(pl.lit("evt-hostile-1").alias("event_id"), pl.lit(newest + timedelta(seconds=1)).alias("ts"),
                             pl.lit(PAYLOAD).alias("prompt"), pl.lit(UA_PAYLOAD).alias("user_agent")))
    traffic = dataclasses.replace(traffic, events=pl.concat([traffic.events, hostile]))
    paths = write_traffic(traffic, folder / "traffic", seed=21, late_rate=0.0)
    db = folder / "dg.duckdb"
    result = CliRunner().invoke(app, ["batch", "--logs", str(folder / "traffic"), "--accounts", str(paths["accounts"]),
                                      "--db", str(db), "--quiet"])
    assert result.exit_code == 0, result.output
    with open_analyst_store(db) as source:
        assert source.kind == "snapshot"                       # batch published the analyst snapshot
        ring_id = source.store.scalar("SELECT ring_id FROM ring_members WHERE account_id = ?", [member])
    assert ring_id, f"{member} was not put in a ring; the report test needs one"
    return db, ring_id, member


def _report(db: Path, out: Path, *args: str) -> str:
    result = CliRunner().invoke(app, ["report", "--db", str(db), *args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def test_run_account_and_ring_reports_are_static_pages_with_pictures_and_reasons(ring_case, tmp_path):
    db, ring_id, member = ring_case
    pages = {"run": _report(db, tmp_path / "run.html"),
             "account": _report(db, tmp_path / "account.html", "--account", member),
             "ring": _report(db, tmp_path / "ring.html", "--ring", ring_id)}
    for name, page in pages.items():
        assert "<script" not in page.lower() and "<img" not in page.lower(), name
        assert "http://" not in page.replace("http://www.w3.org/2000/svg", "") and "https://" not in page, name
        assert "Content-Security-Policy" in page
        assert page.count("<svg") >= 3, name
        assert "Activity over time" in page and "Topic coverage" in page and "Features against peers" in page
    ring = pages["ring"]
    assert "Shared infrastructure" in ring and "judged to act as one" in ring            # the ring's reasons in words
    assert html.escape(PAYLOAD, quote=True) in ring                                       # the prompt, as text
    assert "member of coordinated ring" in pages["account"] or "member of reseller ring" in pages["account"]
    assert "Flagged accounts" in pages["run"] and "Rings" in pages["run"]


def test_unknown_ring_or_account_fails_with_a_clear_message(ring_case, tmp_path):
    db, _, _ = ring_case
    for args in (["--ring", "ring-missing"], ["--account", "acct-missing"], ["--ring", "x", "--account", "y"]):
        result = CliRunner().invoke(app, ["report", "--db", str(db), *args, "--out", str(tmp_path / "x.html")])
        assert result.exit_code == 2
        assert "error" in result.output and not (tmp_path / "x.html").exists()


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={tmp_path / 'chromium-profile'}", *args]
    return subprocess.run(command, capture_output=True, timeout=180)


@needs_chromium
def test_ring_report_renders_in_chromium_and_the_payload_stays_text(ring_case, tmp_path):
    from PIL import Image

    db, ring_id, _ = ring_case
    page = tmp_path / "ring.html"
    _report(db, page, "--ring", ring_id)
    url = page.resolve().as_uri()

    png = tmp_path / "ring.png"
    shot = _chromium(tmp_path, f"--screenshot={png}", "--window-size=1280,2000", url)
    assert png.exists(), shot.stderr.decode()[-2000:]
    with Image.open(png) as image:
        assert image.size == (1280, 2000)
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) >= 200, f"screenshot looks blank: {len(colours or [])} colours"
    dominant = max(count for count, _ in colours) / (1280 * 2000)
    assert dominant < 0.9, "one colour covers nearly the whole screenshot"
    if os.environ.get("DISTILLGUARD_KEEP_SCREENSHOT"):                  # e.g. a CI artifact
        shutil.copyfile(png, os.environ["DISTILLGUARD_KEEP_SCREENSHOT"])

    dumped = _chromium(tmp_path, "--dump-dom", url)
    dom = dumped.stdout.decode("utf-8")
    title = re.search(r"<title>(.*?)</title>", dom, re.S)
    assert title and html.unescape(title.group(1)) == f"distillguard: ring {ring_id}"
    assert "pwned" not in title.group(1)
    assert "&lt;script&gt;document.title='pwned';document.body.innerHTML=''&lt;/script&gt;" in dom   # shown as text
    assert "<script" not in dom.lower() and "<img" not in dom.lower()                               # no element made
    assert "Shared infrastructure" in dom                                                           # body not wiped
