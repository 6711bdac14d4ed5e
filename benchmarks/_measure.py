"""Shared helpers for the benchmark scripts: wall time, throughput, peak RSS, and ``--record``.

``--record`` writes a script's latest figures into its own marked section of benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shlex
import sys
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB.

    Linux's VmHWM belongs to the process image (a spawned child starts afresh); ``ru_maxrss``
    would carry over the parent's peak from before the fork.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


@contextmanager
def stage(name: str, n_events: int | None = None) -> Iterator[dict]:
    """Time a stage and print its figures when it ends."""
    figures: dict = {}
    start = time.perf_counter()
    yield figures
    seconds = time.perf_counter() - start
    n = figures.get("events", n_events)
    rate = f"{n / seconds:,.0f} events/s" if n else ""
    print(f"{name:<36} {seconds:8.2f} s  {rate:>18}  peak RSS {peak_rss_mb():,.0f} MiB", flush=True)
    figures["seconds"] = seconds


# --- Recording the latest figures into benchmarks/README.md (``--record``) ---------------------------

#: The file each script's ``--record`` writes its section into by default.
BENCHMARKS_README = Path(__file__).resolve().parent / "README.md"
#: When this process started (benchmark scripts import this module first): the date a record carries.
STARTED_AT = datetime.now(timezone.utc)
#: The 1, 5 and 15 minute load averages when this process started (the machine is often shared).
LOAD_AT_START = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3


def add_record_option(parser: argparse.ArgumentParser) -> None:
    """Give a script's parser ``--record [README]``: off by default, so a casual run rewrites nothing.

    >>> p = argparse.ArgumentParser(); add_record_option(p)
    >>> p.parse_args([]).record is None, p.parse_args(["--record"]).record == BENCHMARKS_README
    (True, True)
    >>> p.parse_args(["--record", "/tmp/R.md"]).record
    PosixPath('/tmp/R.md')
    """
    parser.add_argument("--record", type=Path, nargs="?", const=BENCHMARKS_README, default=None, metavar="README",
                        help="after printing, write these figures as the script's latest section of "
                             "benchmarks/README.md (or of the README given)")


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def ram_gib() -> float:
    """Total RAM in GiB (MemTotal of /proc/meminfo; 0 where there is none)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return 0.0


def machine_description() -> str:
    """One line on the machine: CPU model and count, RAM, OS, Python, load average at the start."""
    load = " / ".join(f"{x:.1f}" for x in LOAD_AT_START)
    return (f"{cpu_model()} x {os.cpu_count()} CPUs, {ram_gib():.1f} GiB RAM, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}; load average at the start {load} (1/5/15 min)")


def command_line(argv: list[str] | None = None) -> str:
    """The command that ran this script, as one would type it from the repository's root.

    >>> command_line([str(BENCHMARKS_README.parent / "ring_detection.py"), "--accounts", "1000", "--record"])
    'python benchmarks/ring_detection.py --accounts 1000 --record'
    """
    script, *options = sys.argv if argv is None else argv
    path = Path(script).resolve()
    if path.is_relative_to(BENCHMARKS_README.parent.parent):
        script = str(path.relative_to(BENCHMARKS_README.parent.parent))
    return "python " + shlex.join([script, *options])


def format_figure(value: object) -> str:
    """A figure as a table shows it: thousands separated, floats to a sensible precision.

    >>> [format_figure(v) for v in (1234567, 65123.4, 7.004, 1.0, 0.9734, None, "2.7M")]
    ['1,234,567', '65,123', '7.00', '1.000', '0.973', '', '2.7M']
    """
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}" if abs(value) > 1 else f"{value:.3f}"


def markdown_table(rows: list[dict[str, object]]) -> str:
    """Rows of figures (one dict each; the columns are their keys, in order) as a Markdown table.

    >>> print(markdown_table([{"stage": "load", "events/s": 91234.5}, {"stage": "read", "peak RSS MiB": 315}]))
    | stage | events/s | peak RSS MiB |
    |---|---|---|
    | load | 91,234 |  |
    | read |  | 315 |
    """
    columns = list(dict.fromkeys(key for row in rows for key in row))
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(format_figure(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def section_markers(script: str) -> tuple[str, str]:
    """The HTML comments that open and close a script's latest section.

    >>> section_markers("batch_throughput.py")
    ('<!-- latest: batch_throughput.py -->', '<!-- /latest: batch_throughput.py -->')
    """
    return f"<!-- latest: {script} -->", f"<!-- /latest: {script} -->"


def latest_section(script: str, rows: list[dict[str, object]], command: str, machine: str, when: datetime) -> str:
    """A script's latest section, markers included: date, machine, command, then the table.

    >>> print(latest_section("a.py", [{"n": 1}], "python benchmarks/a.py --record", "2 CPUs",
    ...                      datetime(2026, 12, 2, 20, 5, tzinfo=timezone.utc)))
    <!-- latest: a.py -->
    **Latest figures** (written by `--record`)
    <BLANKLINE>
    - date: 2026-12-02 20:05 UTC
    - machine: 2 CPUs
    - command: `python benchmarks/a.py --record`
    <BLANKLINE>
    | n |
    |---|
    | 1 |
    <!-- /latest: a.py -->
    """
    opening, closing = section_markers(script)
    return (f"{opening}\n**Latest figures** (written by `--record`)\n\n- date: {when:%Y-%m-%d %H:%M} UTC\n"
            f"- machine: {machine}\n- command: `{command}`\n\n{markdown_table(rows)}\n{closing}")


def replace_section(text: str, script: str, section: str) -> str:
    """``text`` with the script's marked section replaced by ``section`` (appended under a heading if unmarked).

    Everything outside the markers stays as it was, byte for byte.

    >>> old = "intro\\n<!-- latest: a.py -->\\nold\\n<!-- /latest: a.py -->\\nhistory\\n"
    >>> replace_section(old, "a.py", "<!-- latest: a.py -->\\nnew\\n<!-- /latest: a.py -->")
    'intro\\n<!-- latest: a.py -->\\nnew\\n<!-- /latest: a.py -->\\nhistory\\n'
    >>> replace_section("intro\\n", "b.py", "SECTION")
    'intro\\n\\n## b.py\\n\\nSECTION\\n'
    """
    opening, closing = section_markers(script)
    start = text.find(opening)
    end = text.find(closing, start) if start >= 0 else -1
    if start < 0 or end < 0:
        return text.rstrip("\n") + f"\n\n## {script}\n\n{section}\n"
    return text[:start] + section + text[end + len(closing):]


def record_latest(script_file: str, rows: list[dict[str, object]], readme: Path = BENCHMARKS_README) -> None:
    """Write a script's latest figures into its section of ``readme`` (the rest of the file untouched)."""
    script = Path(script_file).name
    section = latest_section(script, rows, command_line(), machine_description(), STARTED_AT)
    text = readme.read_text() if readme.exists() else "# Benchmarks\n"
    readme.write_text(replace_section(text, script, section))
    print(f"recorded {script}'s latest figures in {readme}", flush=True)
