"""Charts as inline SVG text: trend with forecast fan, waterfall, bars, funnel, heat map.

Written by hand so the HTML report needs no script or network to draw them. Each function takes
a chart dict of a report section and returns one ``<svg>`` element.
"""

from __future__ import annotations

import math
from html import escape

from forecast.reports.i18n import Locale

WIDTH = 760
GOOD, BAD, MAIN, TARGET, FAN = "#2e7d32", "#c62828", "#1f5fa8", "#e68a00", "#1f5fa8"


def _scale(lo: float, hi: float, a: float, b: float):
    span = (hi - lo) or 1.0
    return lambda v: a + (float(v) - lo) / span * (b - a)


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values covering [lo, hi]."""
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / n
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(lo / step) * step
    return [first + i * step for i in range(math.ceil((hi - first) / step) + 1)]


def _text(x: float, y: float, body: str, anchor: str = "middle", size: int = 11,
          extra: str = "") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}"{extra}>'
            f"{escape(body)}</text>")


def _svg(height: int, body: list[str], kind: str, title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
            f'width="100%" role="img" aria-label="{escape(title)}" data-chart="{kind}" '
            f'font-family="sans-serif">{"".join(body)}</svg>')


def _y_axis(ticks: list[float], y, left: int, right: int, loc: Locale, pct: bool = False
            ) -> list[str]:
    out = []
    for t in ticks:
        label = loc.pct(t, digits=0) if pct else loc.compact(t)
        out.append(f'<line x1="{left}" x2="{right}" y1="{y(t):.1f}" y2="{y(t):.1f}" '
                   'stroke="#e3e3e3"/>')
        out.append(_text(left - 6, y(t) + 4, label, "end", 10))
    return out


def _points(xs: list[float], ys: list[float]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))


def trend_svg(chart: dict, loc: Locale) -> str:
    """Monthly revenue (line), target (dashed) and the forecast's 80%/95% fan and median."""
    periods, height, left, right, top, bottom = chart["periods"], 320, 64, WIDTH - 16, 34, 270
    index = {p: i for i, p in enumerate(periods)}
    fan = [f for f in chart["fan"] if f["period"] in index]
    values = [v for s in chart["series"] for v in s["values"] if v is not None]
    values += [f[k] for f in fan for k in ("lo_95", "hi_95", "yhat") if f.get(k) is not None]
    lo, hi = min([0.0, *values]), max([1.0, *values])
    ticks = nice_ticks(lo, hi)
    x = _scale(0, max(len(periods) - 1, 1), left + 10, right - 10)
    y = _scale(ticks[0], ticks[-1], bottom, top)
    body = _y_axis(ticks, y, left, right, loc)
    for lo_key, hi_key, opacity in (("lo_95", "hi_95", 0.15), ("lo_80", "hi_80", 0.3)):
        band = [f for f in fan if f.get(lo_key) is not None and f.get(hi_key) is not None]
        if band:
            xs = [x(index[f["period"]]) for f in band]
            upper = [y(f[hi_key]) for f in band]
            lower = [y(f[lo_key]) for f in band]
            outline = _points(xs + xs[::-1], upper + lower[::-1])
            body.append(f'<polygon class="fan" points="{outline}" fill="{FAN}" '
                        f'fill-opacity="{opacity}" stroke="none"/>')
    if fan:
        xs = [x(index[f["period"]]) for f in fan]
        median = _points(xs, [y(f["yhat"]) for f in fan])
        body.append(f'<polyline class="forecast" points="{median}" fill="none" stroke="{MAIN}" '
                    'stroke-width="2" stroke-dasharray="5 4"/>')
    styles = ((MAIN, ""), (TARGET, ' stroke-dasharray="2 3"'))
    for series, (colour, dash) in zip(chart["series"], styles, strict=False):
        pts = [(x(i), y(v)) for i, v in enumerate(series["values"]) if v is not None]
        if pts:
            body.append(f'<polyline class="series-{series["key"]}" points="'
                        f'{_points([p[0] for p in pts], [p[1] for p in pts])}" fill="none" '
                        f'stroke="{colour}" stroke-width="2"{dash}/>')
    step = max(1, math.ceil(len(periods) / 12))
    for i, p in enumerate(periods):
        if i % step == 0:
            body.append(_text(x(i), bottom + 16, p[:7], size=10))
    legend = [(MAIN, chart["series"][0]["label"]), (TARGET, chart["series"][1]["label"])]
    if fan:
        legend.append((FAN, chart["fan_label"]))
    for k, (colour, label) in enumerate(legend):
        body.append(f'<rect x="{left + k * 210}" y="8" width="14" height="4" fill="{colour}"/>')
        body.append(_text(left + k * 210 + 20, 14, label, "start", 11))
    body.append(_text(WIDTH / 2, height - 8, chart["title"], size=12, extra=' font-weight="bold"'))
    return _svg(height, body, "trend", chart["title"])


def waterfall_svg(chart: dict, loc: Locale) -> str:
    """Last month's total, each member's change as a floating bar, this month's total."""
    steps = chart["steps"]
    n, height, left, right, top, bottom = len(steps) + 2, 330, 64, WIDTH - 16, 24, 240
    levels, running = [], chart["start"]["value"] or 0.0
    for s in steps:
        levels.append((running, running + (s["value"] or 0.0)))
        running += s["value"] or 0.0
    ends = [chart["start"]["value"] or 0.0, chart["end"]["value"] or 0.0]
    every = ends + [v for pair in levels for v in pair]
    # The axis includes 0 and the two totals are bars from 0: a 7% change looks like 7%, not
    # like a doubling (no broken axis); each step is labelled with its amount.
    ticks = nice_ticks(min(0.0, *every), max(0.0, *every))
    y = _scale(ticks[0], ticks[-1], bottom, top)
    slot = (right - left) / n
    body = _y_axis(ticks, y, left, right, loc)
    body.append(f'<line class="zero" x1="{left}" x2="{right}" y1="{y(0.0):.1f}" '
                f'y2="{y(0.0):.1f}" stroke="#888"/>')
    bars = [(chart["start"]["label"], 0.0, chart["start"]["value"] or 0.0, MAIN)]
    bars += [(s["label"], a, b, GOOD if b >= a else BAD) for s, (a, b) in zip(steps, levels,
                                                                               strict=True)]
    bars.append((chart["end"]["label"], 0.0, chart["end"]["value"] or 0.0, MAIN))
    for i, (label, a, b, colour) in enumerate(bars):
        x0 = left + i * slot + slot * 0.15
        top_y, bar_h = min(y(a), y(b)), max(abs(y(a) - y(b)), 1.0)
        body.append(f'<rect class="bar" x="{x0:.1f}" y="{top_y:.1f}" width="{slot * 0.7:.1f}" '
                    f'height="{bar_h:.1f}" fill="{colour}"/>')
        delta = b - a if 0 < i < n - 1 else b
        signed = 0 < i < n - 1
        body.append(_text(x0 + slot * 0.35, top_y - 4, loc.compact(delta) if not signed else
                          ("+" if delta >= 0 else "") + loc.compact(delta), size=10))
        body.append(_text(x0 + slot * 0.35, bottom + 14, label[:18], "end", 10,
                          f' transform="rotate(-30 {x0 + slot * 0.35:.1f} {bottom + 14:.1f})"'))
    body.append(_text(WIDTH / 2, height - 6, chart["title"], size=12, extra=' font-weight="bold"'))
    return _svg(height, body, "waterfall", chart["title"])


def bars_svg(chart: dict, loc: Locale) -> str:
    """Horizontal bars (attainment or probability) with a reference line (100% or 50%)."""
    items, left, right, row = chart["items"], 150, WIDTH - 70, 22
    height = 50 + row * len(items)
    values = [i["value"] for i in items if i["value"] is not None]
    hi = max([chart.get("reference") or 0.0, *values, 0.01]) * 1.1
    x = _scale(0.0, hi, left, right)
    body = []
    for k, item in enumerate(items):
        y0, value = 10 + k * row, item["value"] or 0.0
        colour = GOOD if value >= (chart.get("reference") or 0.0) else BAD
        body.append(_text(left - 6, y0 + 14, str(item["label"])[:22], "end", 11))
        width = max(x(value) - left, 1)
        body.append(f'<rect class="bar" x="{left}" y="{y0 + 3}" width="{width:.1f}" '
                    f'height="{row - 6}" fill="{colour}"/>')
        body.append(_text(x(value) + 4, y0 + 14, loc.format(item["value"], chart["value_kind"]),
                          "start", 10))
    if chart.get("reference") is not None:
        rx = x(chart["reference"])
        body.append(f'<line class="reference" x1="{rx:.1f}" x2="{rx:.1f}" y1="6" '
                    f'y2="{height - 34}" stroke="#333" stroke-dasharray="4 3"/>')
    body.append(_text(WIDTH / 2, height - 10, chart["title"], size=12, extra=' font-weight="bold"'))
    return _svg(height, body, "bars", chart["title"])


def funnel_svg(chart: dict, loc: Locale) -> str:
    """Stages as centred bars, widths proportional to the opportunities that entered them."""
    items, row = chart["items"], 34
    height = 40 + row * len(items)
    biggest = max([i["value"] or 0.0 for i in items] + [1.0])
    centre, full = WIDTH / 2 + 60, WIDTH - 260
    body = []
    for k, item in enumerate(items):
        width = max(full * (item["value"] or 0.0) / biggest, 2.0)
        y0 = 8 + k * row
        body.append(f'<rect class="bar" x="{centre - width / 2:.1f}" y="{y0}" width="{width:.1f}" '
                    f'height="{row - 6}" fill="{MAIN}" fill-opacity="{1 - 0.12 * k:.2f}"/>')
        body.append(_text(centre - full / 2 - 12, y0 + 19, item["label"], "end", 11))
        body.append(_text(centre, y0 + 19, loc.count(item["value"]), size=11,
                          extra=' fill="#fff" font-weight="bold"'))
    body.append(_text(WIDTH / 2, height - 8, chart["title"], size=12, extra=' font-weight="bold"'))
    return _svg(height, body, "funnel", chart["title"])


def heatmap_svg(chart: dict, loc: Locale) -> str:
    """Rows x columns of cells shaded by value, labelled with the value and the count."""
    rows, cols, cell_w, cell_h, left, top = chart["rows"], chart["cols"], 170, 48, 150, 30
    height = top + cell_h * len(rows) + 40
    biggest = max([v or 0.0 for r in chart["values"] for v in r] + [1e-9])
    body = [_text(left + cell_w * (j + 0.5), top - 10, c, size=11) for j, c in enumerate(cols)]
    for i, label in enumerate(rows):
        body.append(_text(left - 8, top + cell_h * (i + 0.5) + 4, label, "end", 11))
        for j in range(len(cols)):
            value, count = chart["values"][i][j] or 0.0, chart["counts"][i][j]
            shade = 0.08 + 0.85 * value / biggest
            ink = "#fff" if shade > 0.5 else "#222"
            x0, y0 = left + cell_w * j, top + cell_h * i
            body.append(f'<rect class="cell" x="{x0}" y="{y0}" width="{cell_w - 2}" '
                        f'height="{cell_h - 2}" fill="{BAD}" fill-opacity="{shade:.2f}"/>')
            body.append(_text(x0 + cell_w / 2, y0 + 20, loc.format(value, chart["value_kind"]),
                              size=11, extra=f' fill="{ink}"'))
            body.append(_text(x0 + cell_w / 2, y0 + 36, f"({loc.count(count)})", size=10,
                              extra=f' fill="{ink}"'))
    body.append(_text(WIDTH / 2, height - 8, chart["title"], size=12, extra=' font-weight="bold"'))
    return _svg(height, body, "heatmap", chart["title"])


RENDERERS = {"trend": trend_svg, "waterfall": waterfall_svg, "bars": bars_svg,
             "funnel": funnel_svg, "heatmap": heatmap_svg}


def render_chart(chart: dict, loc: Locale) -> str:
    """The SVG of a chart dict, by its ``kind``."""
    return RENDERERS[chart["kind"]](chart, loc)
