"""Small pure functions that draw the reports' pictures as inline SVG.

Each takes plain Python data and returns one ``<svg>`` string: no state, no files, no
JavaScript. Every text drawn goes through :func:`esc`, so labels taken from the logs (account
ids, user agents, prompt templates) render as text, never as markup.

>>> svg = hbars(["<b>x</b>", "y"], [3, 1])
>>> svg.startswith("<svg") and "&lt;b&gt;x&lt;/b&gt;" in svg and "<b>" not in svg
True
>>> ramp(0.0), ramp(1.0)
('#f7f4f0', '#7f0000')
"""

from __future__ import annotations

import html
import math
from datetime import datetime
from typing import Sequence

WIDTH = 1100
INK, MUTED, GRID = "#222", "#666", "#e3e3e3"
ACCENT, PEER, MEDIAN = "#c0392b", "#9aa5b1", "#1f5fa8"
KIND_COLOURS = {"ip": "#d62728", "signup": "#ff7f0e", "pay": "#9467bd", "sys": "#2ca02c", "ua": "#8c564b",
                "mail": "#17becf", "tmpl": "#7f7f7f"}
_RAMP = [(0.0, (247, 244, 240)), (0.25, (253, 212, 158)), (0.5, (252, 141, 89)), (0.75, (215, 48, 31)), (1.0, (127, 0, 0))]


def esc(value: object) -> str:
    """Text safe inside HTML/SVG elements and attribute values."""
    return html.escape("" if value is None else str(value), quote=True)


def ramp(t: float) -> str:
    """A colour from light (0) to dark red (1)."""
    t = min(1.0, max(0.0, t))
    for (t0, c0), (t1, c1) in zip(_RAMP, _RAMP[1:]):
        if t <= t1:
            f = (t - t0) / (t1 - t0)
            return "#" + "".join(f"{round(a + f * (b - a)):02x}" for a, b in zip(c0, c1))
    return "#7f0000"


def short(value: object, limit: int = 48) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def count_label(value: float) -> str:
    """1234 -> '1.2k'."""
    value = float(value)
    for unit, size in (("M", 1e6), ("k", 1e3)):
        if abs(value) >= size:
            return f"{value / size:.1f}{unit}".replace(".0" + unit, unit)
    return f"{value:.0f}" if value == int(value) else f"{value:.2g}"


def _svg(width: float, height: float, body: list[str], label: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="{esc(label)}" '
            f'font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="11" fill="{INK}">'
            f'<title>{esc(label)}</title>{"".join(body)}</svg>')


def _text(x: float, y: float, text: object, *, anchor: str = "start", fill: str = INK, size: int | None = None,
          weight: str | None = None) -> str:
    extra = (f' font-size="{size}"' if size else "") + (f' font-weight="{weight}"' if weight else "")
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{fill}"{extra}>{esc(text)}</text>'


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 4, 6, 8, 10):
        if step * exp >= value:
            return step * exp
    return 10 * exp


def _time_ticks(bins: Sequence[datetime], max_ticks: int = 12) -> list[int]:
    if not bins:
        return []
    every = max(1, math.ceil(len(bins) / max_ticks))
    return list(range(0, len(bins), every))


def _time_label(ts: datetime, bins: Sequence[datetime]) -> str:
    same_day = bins[0].date() == bins[-1].date()
    return f"{ts:%H:%M}" if same_day else f"{ts:%m-%d %H:%M}"


def legend(items: Sequence[tuple[str, str]], x: float, y: float) -> list[str]:
    out, cx = [], x
    for name, colour in items:
        out.append(f'<rect x="{cx:.1f}" y="{y - 9:.1f}" width="10" height="10" fill="{colour}"/>')
        out.append(_text(cx + 14, y, name))
        cx += 24 + 6.5 * len(name)
    return out


def time_bars(bins: Sequence[datetime], series: Sequence[tuple[str, Sequence[float], str]], *, width: int = WIDTH,
              height: int = 230, label: str = "requests over time", unit: str = "requests") -> str:
    """Stacked bars per time bin: ``series`` is ``(name, values per bin, colour)``, bottom first."""
    left, right, top, bottom = 56, 12, 26, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(1, len(bins))
    totals = [sum(s[1][i] for s in series) for i in range(len(bins))]
    ymax = _nice_max(max(totals, default=0))
    body = []
    for k in range(5):
        y = top + plot_h - plot_h * k / 4
        body.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        body.append(_text(left - 6, y + 4, count_label(ymax * k / 4), anchor="end", fill=MUTED))
    bar_w = plot_w / n
    for i in range(len(bins)):
        base = 0.0
        for name, values, colour in series:
            v = float(values[i] or 0)
            if v <= 0:
                continue
            h = plot_h * v / ymax
            y = top + plot_h - plot_h * base / ymax - h
            body.append(f'<rect x="{left + i * bar_w + 0.5:.1f}" y="{y:.1f}" width="{max(0.8, bar_w - 1):.1f}" '
                        f'height="{h:.1f}" fill="{colour}"><title>{esc(f"{bins[i]:%Y-%m-%d %H:%M}: {v:,.0f} {name}")}</title></rect>')
            base += v
    for i in _time_ticks(bins):
        x = left + i * bar_w
        body.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top + plot_h}" y2="{top + plot_h + 4}" stroke="{MUTED}"/>')
        body.append(_text(x, top + plot_h + 16, _time_label(bins[i], bins), anchor="middle", fill=MUTED))
    body.append(_text(left, 14, unit, fill=MUTED))
    body += legend([(name, colour) for name, _, colour in series], left + 140, 14)
    return _svg(width, height, body, label)


def heatmap(row_labels: Sequence[str], bins: Sequence[datetime], matrix: Sequence[Sequence[float]], *, width: int = WIDTH,
            cell_h: int = 14, label: str = "activity heatmap", unit: str = "requests") -> str:
    """Rows (e.g. ring members) x time bins; darker = more requests (square-root scale)."""
    left, right, top, bottom = 150, 12, 24, 30
    n = max(1, len(bins))
    plot_w = width - left - right
    cell_w = plot_w / n
    height = top + cell_h * len(row_labels) + bottom
    vmax = max((v for row in matrix for v in row), default=0) or 1
    body = [_text(left, 14, f"{unit} per bin (darker = more; max {vmax:,.0f})", fill=MUTED)]
    for r, (name, row) in enumerate(zip(row_labels, matrix)):
        y = top + r * cell_h
        body.append(_text(left - 6, y + cell_h - 3, short(name, 22), anchor="end"))
        for c, v in enumerate(row):
            if v <= 0:
                continue
            body.append(f'<rect x="{left + c * cell_w:.1f}" y="{y:.1f}" width="{cell_w + 0.3:.1f}" height="{cell_h - 1}" '
                        f'fill="{ramp(math.sqrt(v / vmax))}"><title>{esc(f"{name} {bins[c]:%Y-%m-%d %H:%M}: {v:,.0f}")}</title></rect>')
    axis_y = top + cell_h * len(row_labels)
    for i in _time_ticks(bins):
        x = left + i * cell_w
        body.append(_text(x, axis_y + 16, _time_label(bins[i], bins), anchor="middle", fill=MUTED))
    return _svg(width, height, body, label)


def hbars(labels: Sequence[str], values: Sequence[float], notes: Sequence[str] | None = None, *, width: int = WIDTH,
          colour: str = ACCENT, label: str = "bars", label_width: int = 430) -> str:
    """Horizontal bars with a text label on the left and an optional note after each bar."""
    row_h, top = 20, 8
    plot_w = width - label_width - 330
    vmax = max(values, default=0) or 1
    body = []
    for i, (name, v) in enumerate(zip(labels, values)):
        y = top + i * row_h
        w = plot_w * float(v) / vmax
        body.append(_text(label_width - 8, y + 13, short(name, 70), anchor="end"))
        body.append(f'<rect x="{label_width}" y="{y + 3}" width="{max(1.0, w):.1f}" height="{row_h - 6}" fill="{colour}"/>')
        note = notes[i] if notes else count_label(v)
        body.append(_text(label_width + w + 6, y + 13, note, fill=MUTED))
    return _svg(width, top + row_h * len(labels) + 8, body, label)


def lines(xs: Sequence[datetime], series: Sequence[tuple[str, Sequence[float], str]], *, width: int = WIDTH,
          height: int = 230, label: str = "cumulative counts", unit: str = "") -> str:
    """Line chart over time (e.g. cumulative requests and cumulative distinct prompts)."""
    left, right, top, bottom = 56, 12, 26, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    ymax = _nice_max(max((max(v, default=0) for _, v, _ in series), default=0))
    n = max(2, len(xs))
    body = []
    for k in range(5):
        y = top + plot_h - plot_h * k / 4
        body.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        body.append(_text(left - 6, y + 4, count_label(ymax * k / 4), anchor="end", fill=MUTED))
    for _, values, colour in series:
        points = " ".join(f"{left + plot_w * i / (n - 1):.1f},{top + plot_h - plot_h * float(v) / ymax:.1f}"
                          for i, v in enumerate(values))
        body.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
    for i in _time_ticks(xs):
        body.append(_text(left + plot_w * i / (n - 1), top + plot_h + 16, _time_label(xs[i], xs), anchor="middle", fill=MUTED))
    body.append(_text(left, 14, unit, fill=MUTED))
    body += legend([(name, colour) for name, _, colour in series], left + 140, 14)
    return _svg(width, height, body, label)


def bipartite(left_labels: Sequence[str], right_nodes: Sequence[tuple[str, str]], edges: Sequence[tuple[int, int]], *,
              width: int = WIDTH, row_h: int = 18, label: str = "shared infrastructure",
              kind_names: dict[str, str] | None = None) -> str:
    """Accounts (left) linked to the values they share (right, ``(label, kind)``), coloured by kind."""
    top = 30
    rows = max(len(left_labels), len(right_nodes), 1)
    height = top + rows * row_h + 12
    lx, rx = 190, width - 430
    ly = [top + (rows - len(left_labels)) * row_h / 2 + i * row_h + row_h / 2 for i in range(len(left_labels))]
    ry = [top + (rows - len(right_nodes)) * row_h / 2 + j * row_h + row_h / 2 for j in range(len(right_nodes))]
    body = []
    for i, j in edges:
        colour = KIND_COLOURS.get(right_nodes[j][1], MUTED)
        body.append(f'<path d="M{lx:.1f},{ly[i]:.1f} C{(lx + rx) / 2:.1f},{ly[i]:.1f} {(lx + rx) / 2:.1f},{ry[j]:.1f} '
                    f'{rx:.1f},{ry[j]:.1f}" fill="none" stroke="{colour}" stroke-opacity="0.45" stroke-width="1.4"/>')
    degree = [0] * len(left_labels)
    for i, _ in edges:
        degree[i] += 1
    for i, name in enumerate(left_labels):
        body.append(f'<circle cx="{lx:.1f}" cy="{ly[i]:.1f}" r="{3 + min(4, degree[i]) * 0.8:.1f}" fill="{INK}"/>')
        body.append(_text(lx - 9, ly[i] + 4, short(name, 26), anchor="end"))
    for j, (name, kind) in enumerate(right_nodes):
        colour = KIND_COLOURS.get(kind, MUTED)
        body.append(f'<rect x="{rx - 5:.1f}" y="{ry[j] - 5:.1f}" width="10" height="10" fill="{colour}"/>')
        body.append(_text(rx + 10, ry[j] + 4, short(name, 64)))
    kinds = list(dict.fromkeys(kind for _, kind in right_nodes))
    names = kind_names or {}
    body += legend([(names.get(k, k), KIND_COLOURS.get(k, MUTED)) for k in kinds], lx, 16)
    return _svg(width, height, body, label)


def peer_strips(rows: Sequence[dict], *, width: int = WIDTH, label: str = "features against peers") -> str:
    """One row per feature: the peers' histogram (grey), their median (blue) and the subject's values (red).

    Each row is a dict with ``label``, ``peers`` (values), ``marks`` (the subject's values),
    ``median`` (peer median or None), ``log`` (log scale for counts) and ``summary`` (words).
    """
    label_w, plot_w, row_h, top = 250, 380, 34, 8
    body = []
    for r, row in enumerate(rows):
        y0 = top + r * row_h
        peers = [float(v) for v in row["peers"] if v is not None and math.isfinite(float(v))]
        marks = [float(v) for v in row["marks"] if v is not None and math.isfinite(float(v))]
        scale = (lambda v: math.log10(1 + max(0.0, v))) if row.get("log") else (lambda v: v)
        values = [scale(v) for v in peers + marks]
        lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
        if not row.get("log") and 0 <= lo and hi <= 1:
            lo, hi = 0.0, 1.0                                   # shares: always the full 0-100% axis
        hi = hi if hi > lo else lo + 1
        px = lambda v, scale=scale, lo=lo, hi=hi: label_w + plot_w * (scale(v) - lo) / (hi - lo)  # noqa: E731 - this row's scale
        counts = [0] * 30
        for v in peers:
            counts[min(29, int(30 * (scale(v) - lo) / (hi - lo)))] += 1
        cmax = max(counts) or 1
        body.append(_text(label_w - 10, y0 + 17, short(row["label"], 40), anchor="end"))
        body.append(f'<line x1="{label_w}" x2="{label_w + plot_w}" y1="{y0 + 24}" y2="{y0 + 24}" stroke="{GRID}"/>')
        for b, c in enumerate(counts):
            if c:
                h = 20 * c / cmax
                body.append(f'<rect x="{label_w + plot_w * b / 30:.1f}" y="{y0 + 24 - h:.1f}" width="{plot_w / 30 - 1:.1f}" '
                            f'height="{h:.1f}" fill="{PEER}"/>')
        if row.get("median") is not None:
            x = px(float(row["median"]))
            body.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y0 + 2}" y2="{y0 + 28}" stroke="{MEDIAN}" stroke-width="2"/>')
        for v in marks:
            x = px(v)
            body.append(f'<path d="M{x:.1f},{y0 + 25} l-4,7 h8 z" fill="{ACCENT}" fill-opacity="0.75"/>')
        body.append(_text(label_w + plot_w + 14, y0 + 17, short(row.get("summary", ""), 95), fill=MUTED))
    return _svg(width, top + row_h * len(rows) + 6, body, label)
