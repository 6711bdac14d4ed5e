"""``--record``: a benchmark script writes its latest figures into its own marked section of benchmarks/README.md.

The helpers of benchmarks/_measure.py on a temporary README (the marked section replaced, the rest
kept byte for byte, idempotent, appended when unmarked), then one small real run of a cheap script
with ``--record`` pointed at a temporary README.
"""

from __future__ import annotations

import doctest
import importlib.util
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
WHEN = datetime(2026, 12, 2, 20, 30, tzinfo=timezone.utc)
BEFORE = "# Benchmarks\n\nProse about everything.  \n\n## a.py: what it measures\n\nHow to run it.\n\n"
OLD_SECTION = "<!-- latest: a.py -->\nRecorded by hand, 2026-11-29.\n\n| x |\n|---|\n| 1 |\n<!-- /latest: a.py -->"
AFTER = "\n\nHistory: it was slower once.\n\n<!-- latest: b.py -->\nb's figures\n<!-- /latest: b.py -->\n\ttail without newline"


def load_benchmark(name: str) -> ModuleType:
    """A file of benchmarks/ as a module (benchmarks/ is not a package), e.g. ``_measure``."""
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


measure = load_benchmark("_measure")


def section(rows: list[dict[str, object]], script: str = "a.py") -> str:
    return measure.latest_section(script, rows, "python benchmarks/a.py --record", "2 CPUs", WHEN)


@pytest.mark.parametrize("name", ["_measure", "batch_scale", "detection_quality"])
def test_docstring_examples(name: str) -> None:
    """The recording helpers' docstring examples hold (benchmarks/ is outside pytest's doctest paths)."""
    result = doctest.testmod(load_benchmark(name))
    assert result.attempted and not result.failed


def test_record_replaces_only_the_marked_section(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_bytes((BEFORE + OLD_SECTION + AFTER).encode())
    new = section([{"events": 1000, "events/s": 65123.4}])
    readme.write_text(measure.replace_section(readme.read_text(), "a.py", new))
    text = readme.read_bytes().decode()
    assert text == BEFORE + new + AFTER
    assert "| 1,000 | 65,123 |" in text and "Recorded by hand" not in text
    assert text.count("<!-- latest: a.py -->") == 1 and "b's figures" in text


def test_record_is_idempotent(tmp_path: Path) -> None:
    new = section([{"events": 1000}])
    once = measure.replace_section(BEFORE + OLD_SECTION + AFTER, "a.py", new)
    assert measure.replace_section(once, "a.py", new) == once


def test_record_appends_a_heading_and_section_when_unmarked() -> None:
    new = section([{"events": 5}], script="c.py")
    text = measure.replace_section(BEFORE + OLD_SECTION + AFTER, "c.py", new)
    assert text.startswith(BEFORE + OLD_SECTION + AFTER)
    assert text.endswith("\n## c.py\n\n" + new + "\n")
    assert measure.replace_section(text, "c.py", new) == text, "the appended section is replaced next time"


def test_record_latest_writes_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(BEFORE + OLD_SECTION + AFTER)
    monkeypatch.setattr(sys, "argv", [str(BENCHMARKS / "a.py"), "--record", str(readme)])
    measure.record_latest("/anywhere/a.py", [{"events": 7}], readme)
    text = readme.read_text()
    assert text.startswith(BEFORE) and text.endswith(AFTER)
    assert f"- command: `python benchmarks/a.py --record {readme}`" in text
    assert "| 7 |" in text and "CPUs" in text and "load average at the start" in text


def test_a_real_run_records_its_section(tmp_path: Path) -> None:
    """ring_detection.py on 2,000 accounts (about 2 s) writes its section into a README given to --record."""
    readme = tmp_path / "README.md"
    original = (BENCHMARKS / "README.md").read_text()
    readme.write_text(original)
    done = subprocess.run([sys.executable, str(BENCHMARKS / "ring_detection.py"), "--accounts", "2000", "--ring", "400",
                           "--record", str(readme)], capture_output=True, text=True, timeout=300, check=True)
    assert "ring detection:" in done.stdout and "recorded ring_detection.py" in done.stdout
    text = readme.read_text()
    opening, closing = measure.section_markers("ring_detection.py")
    start, end = text.index(opening), text.index(closing) + len(closing)
    assert text[:start] == original[:original.index(opening)]
    assert text[end:] == original[original.index(closing) + len(closing):]
    recorded = text[start:end]
    assert re.search(r"^- date: 20\d\d-\d\d-\d\d \d\d:\d\d UTC$", recorded, re.M)
    assert re.search(r"^- machine: .+ x \d+ CPUs, [\d.]+ GiB RAM, .+, Python 3\.[\d.]+; load average at the start ", recorded, re.M)
    assert "--accounts 2000 --ring 400 --record" in recorded
    assert "| 2,000 | 400 | 8,000 |" in recorded
    assert (BENCHMARKS / "README.md").read_text() == original, "the repository's README is not touched"


@pytest.mark.parametrize("script", sorted(p.name for p in BENCHMARKS.glob("*.py") if not p.name.startswith("_")))
def test_every_script_records_into_its_own_section(script: str) -> None:
    """Each benchmark script takes --record, and benchmarks/README.md holds its markers once, in order."""
    assert "add_record_option(parser)" in (BENCHMARKS / script).read_text()
    text = (BENCHMARKS / "README.md").read_text()
    opening, closing = measure.section_markers(script)
    assert text.count(opening) == 1 and text.count(closing) == 1
    assert text.index(opening) < text.index(closing)
