"""Query results as terminal text an analyst can read at 80 columns.

- Columns holding one value on every row (an account's standing beside each of its feature rows)
  are printed once, above the table, as ``name: value`` lines.
- A result of one row, or one whose only varying column is left, is printed vertically.
- Cells longer than ``cell_chars`` are cut with ``…`` (their first line only) unless ``full``;
  the output then says so and how to see them whole (``--full``).

>>> frame = pl.DataFrame({"account_id": ["a", "a"], "feature": ["n_requests", "n_ips"], "value": [12.5, 3.0]})
>>> print(render_frame(frame, width=80))
account_id: a
feature    | value
-----------+------
n_requests |  12.5
n_ips      |     3
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

CELL_CHARS = 60          # a cut cell keeps this many characters
MAX_ROWS = 60            # rows shown without --full
CUT = "…"


@dataclass(frozen=True)
class Layout:
    width: int = 100
    cell_chars: int = CELL_CHARS
    max_rows: int = MAX_ROWS
    full: bool = False


def render_frame(frame: pl.DataFrame, *, width: int = 100, full: bool = False,
                 cell_chars: int = CELL_CHARS, max_rows: int = MAX_ROWS) -> str:
    """The whole result as text: shared values, then a table (or one vertical record), then notes."""
    layout = Layout(width=max(40, width), cell_chars=cell_chars, max_rows=max_rows, full=full)
    if frame.height == 0:
        return f"no rows (columns: {', '.join(frame.columns)})"
    if frame.height == 1:
        lines = _vertical(frame.row(0, named=True), frame.columns, layout)
    else:
        shared = constant_columns(frame)
        lines = _vertical(frame.row(0, named=True), shared, layout)
        varying = frame.drop(shared)
        if varying.width:
            lines += _table(varying, layout)
        else:
            lines.append(f"({frame.height:,} identical rows)")
        if not layout.full and frame.height > layout.max_rows and varying.width:
            lines.append(f"{CUT} {frame.height - layout.max_rows:,} more row(s): --full shows them all")
    if any(line.endswith(CUT) or f"{CUT} |" in line for line in lines):
        lines.append(f"long cells cut ({CUT}): --full shows them whole")
    return "\n".join(lines)


def constant_columns(frame: pl.DataFrame) -> list[str]:
    """The columns whose every row holds the same value (nulls included).

    >>> constant_columns(pl.DataFrame({"a": [1, 1], "b": [1, 2], "c": [None, None]}))
    ['a', 'c']
    """
    return [name for name in frame.columns if _distinct(frame[name]) == 1]


def _distinct(column: pl.Series) -> int:
    if isinstance(column.dtype, (pl.List, pl.Array, pl.Struct, pl.Object)):
        return len({repr(v) for v in column.to_list()})
    return column.n_unique()


def cell_text(value: Any, *, limit: int | None) -> str:
    """One cell as text: floats to 4 significant digits, lists joined with '; ', and, with a
    ``limit``, only the first line, cut to ``limit`` characters.

    >>> cell_text(0.123456, limit=None), cell_text(["a", "b"], limit=None), cell_text(None, limit=None)
    ('0.1235', 'a; b', '')
    >>> cell_text("first reason\\nsecond reason", limit=40)
    'first reason …'
    >>> cell_text("x" * 12, limit=8)
    'xxxxxxx…'
    """
    if value is None:
        text = ""
    elif isinstance(value, float):
        text = f"{value:.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    elif isinstance(value, (list, tuple)):
        text = "; ".join(cell_text(v, limit=None) for v in value)
    else:
        text = str(value)
    if limit is None:
        return text
    first, *rest = text.splitlines() or [""]
    if len(first) > limit:
        return first[: limit - 1] + CUT
    return first + (" " + CUT if rest else "")


def _vertical(row: dict[str, Any], columns: list[str], layout: Layout) -> list[str]:
    """``name: value`` lines; a value of several lines continues indented under its name."""
    if not columns:
        return []
    label_width = max(len(name) for name in columns)
    lines = []
    for name in columns:
        text = cell_text(row[name], limit=None)
        parts = text.splitlines() or [""]
        if not layout.full:
            room = max(layout.cell_chars, layout.width - label_width - 2)
            parts = [part if len(part) <= room else part[: room - 1] + CUT for part in parts]
        label = f"{name}:".ljust(label_width + 1)
        lines.append(f"{label} {parts[0]}".rstrip())
        lines += [f"{' ' * (label_width + 1)} {part}".rstrip() for part in parts[1:]]
    return lines


def _table(frame: pl.DataFrame, layout: Layout) -> list[str]:
    """A plain table (``|`` between columns), its widest columns narrowed to fit ``layout.width``."""
    shown = frame if layout.full else frame.head(layout.max_rows)
    whole = [[cell_text(v, limit=None) for v in row] for row in shown.iter_rows()]
    limits = [max([len(name)] + [len(row[i]) for row in whole]) for i, name in enumerate(frame.columns)]
    if not layout.full:
        limits = _fit(limits, [len(name) for name in frame.columns], layout)
    cells = [[cell_text(v, limit=None if layout.full else limit) for v, limit in zip(row, limits)]
             for row in shown.iter_rows()]
    widths = [max([len(name)] + [len(row[i]) for row in cells]) for i, name in enumerate(frame.columns)]
    numeric = [frame.schema[name].is_numeric() for name in frame.columns]

    def line(values: list[str]) -> str:
        padded = [v.rjust(w) if right else v.ljust(w) for v, w, right in zip(values, widths, numeric)]
        return " | ".join(padded).rstrip()

    rule = "-+-".join("-" * w for w in widths)
    return [line(list(frame.columns)), rule, *(line(row) for row in cells)]


def _fit(widths: list[int], header_widths: list[int], layout: Layout) -> list[int]:
    """Each column's character limit: at most ``layout.cell_chars``, and the widest narrowed
    (not below its header or 12) until the row fits ``layout.width``.

    >>> _fit([10, 200, 30], [2, 7, 5], Layout(width=80, cell_chars=60))
    [10, 34, 30]
    """
    limits = [min(w, max(layout.cell_chars, h)) for w, h in zip(widths, header_widths)]
    floor = [max(12, h) for h in header_widths]
    while sum(limits) + 3 * (len(limits) - 1) > layout.width:
        widest = max(range(len(limits)), key=lambda i: limits[i] - floor[i])
        if limits[widest] <= floor[widest]:
            break
        limits[widest] -= 1
    return limits
