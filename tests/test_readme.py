"""Every command the README shows runs as written.

The demo runs first, as `make demo` runs it (`.venv/bin/distillguard demo`), on a small population,
in a scratch folder holding a `.venv` link to this environment; then each fenced ``bash`` block
of README.md runs there in order, as one `bash -euo pipefail` script, and must succeed with no
traceback or Python warning. The first block's `make` targets are checked with `make -n` (running
`make test` inside the tests would recurse); the demo run above is what `make demo` does.
The ``toml`` blocks must be valid settings.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
SCALE = "0.05"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def fenced_blocks(text: str, language: str) -> list[str]:
    """The bodies of the README's fenced blocks of one language, in order.

    >>> fenced_blocks("a\\n```bash\\nls\\n```\\n```toml\\nx = 1\\n```\\n", "bash")
    ['ls\\n']
    """
    return [body for lang, body in FENCE.findall(text) if lang == language]


def clean_env() -> dict[str, str]:
    """This environment without the settings a test may have set (the README assumes none)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("DISTILLGUARD_", "PREFECT_"))}


def assert_clean_run(done: subprocess.CompletedProcess, what: str) -> None:
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{what} failed ({done.returncode}):\n{output[-4000:]}"
    assert "Traceback" not in output, f"{what}:\n{output[-4000:]}"
    assert not re.search(r"\w+Warning:", output), f"{what} printed a warning:\n{output[-4000:]}"


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("readme")
    (folder / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    done = subprocess.run([".venv/bin/distillguard", "demo", "--scale", SCALE], cwd=folder, env=clean_env(),
                          capture_output=True, text=True, timeout=900)
    assert_clean_run(done, "the demo")
    assert (folder / "demo-output" / "distillguard.duckdb").exists()
    (folder / "demo.txt").write_text(done.stdout)
    return folder


def test_the_demo_stores_each_bad_line_once(demo_folder):
    """The stream dead-letters the malformed lines; batch re-detects over what it stored rather
    than loading the same files again, which stored every bad line a second time."""
    import duckdb

    said = re.search(r"([\d,]+)\s+dead-lettered", (demo_folder / "demo.txt").read_text())
    assert said, "the demo reports the stream's dead letters"
    with duckdb.connect(str(demo_folder / "demo-output" / "distillguard.duckdb"), read_only=True) as con:
        row = con.execute("SELECT count(*) FROM rejected_events").fetchone()
    assert row is not None and row[0] == int(said.group(1).replace(",", "")) > 0


def test_the_two_commands_are_make_targets():
    first = fenced_blocks(README.read_text(), "bash")[0]
    targets = [line.split()[1] for line in first.splitlines() if line.startswith("make ")]
    assert targets == ["demo", "test"]
    for target in targets:
        done = subprocess.run(["make", "-n", target], cwd=REPO, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr


def test_every_bash_block_runs_as_written(demo_folder):
    blocks = fenced_blocks(README.read_text(), "bash")[1:]
    assert len(blocks) >= 3
    for number, block in enumerate(blocks, start=2):
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=demo_folder, env=clean_env(),
                              capture_output=True, text=True, timeout=600)
        assert_clean_run(done, f"README bash block {number}:\n{block}")


def test_the_demo_suggests_commands_that_run(demo_folder):
    """The demo's "Try next" lines are runnable commands too."""
    from distillguard.demo import next_commands

    for _, command in next_commands(Path("demo-output/distillguard.duckdb"), Path("demo-output"), "acct-00001",
                                    ".venv/bin/distillguard"):
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", command], cwd=demo_folder, env=clean_env(),
                              capture_output=True, text=True, timeout=300)
        assert_clean_run(done, command)


def test_toml_blocks_are_valid_settings(tmp_path, monkeypatch):
    from distillguard.config import load_settings

    blocks = fenced_blocks(README.read_text(), "toml")
    assert blocks
    for block in blocks:
        data = tomllib.loads(block)
        path = tmp_path / "distillguard.toml"
        path.write_text(block.replace('hash_key = "..."', 'hash_key = "a-secret-key-for-the-test"'))
        monkeypatch.setenv("DISTILLGUARD_CONFIG", str(path))
        settings = load_settings()
        for section, values in data.items():
            for key, value in values.items():
                if key != "hash_key":
                    assert getattr(getattr(settings, section), key) == value or str(getattr(getattr(settings, section), key)) == str(value)
