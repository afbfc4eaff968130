"""How each engine grows with the graph: fitted exponents and the SVG plot docs/growth.svg.

The exponent is the slope of a least-squares line through (log triples, log measure) over the
scales from 10k to 1M: 1 means linear growth, 0 flat, 2 quadratic. The plot is written with
the standard library (three log-log panels: load time, memory, latency), so the benchmark adds
no plotting dependency.
"""

from __future__ import annotations

import math
from xml.sax.saxutils import escape

Series = dict[str, list[tuple[float, float]]]
"""engine -> [(triples, value)]"""

COLOURS = ("#1b6ca8", "#d1495b", "#2e933c", "#edae49", "#6b4e9b", "#00798c", "#7f7f7f")


def exponent(points: list[tuple[float, float]], low: float = 12e3, high: float = 2e6
             ) -> float | None:
    """Log-log slope over the points with ``low <= triples <= high`` (None under 2 points).

    The bounds are in triples of all graphs, which the scales 10k and 1M (asserted triples)
    become once the ontology and the inferred graph are added (about 15.6k and 1.23M): the
    fit covers the scales 10k to 1M, not the curated graph nor a load-only 5M."""
    usable = [(math.log(x), math.log(y)) for x, y in points if low <= x <= high and y > 0]
    if len(usable) < 2:
        return None
    mx = sum(x for x, _ in usable) / len(usable)
    my = sum(y for _, y in usable) / len(usable)
    sxx = sum((x - mx) ** 2 for x, _ in usable)
    if sxx == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in usable) / sxx


def _ticks(low: float, high: float) -> list[float]:
    return [10.0 ** k for k in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)]


def _label(value: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= scale:
            return f"{value / scale:g}{unit}"
    return f"{value:g}"


def engine_of(name: str) -> str:
    """``service (build)`` -> ``service``: what a series measures is said in its panel."""
    return name.split(" (")[0]


def panel(title: str, unit: str, series: Series, colours: dict[str, str], x0: float) -> list[str]:
    """One log-log panel at horizontal offset ``x0``."""
    width, height, left, top, bottom = 300.0, 250.0, 55.0, 30.0, 40.0
    points = [p for pts in series.values() for p in pts if p[1] > 0]
    out = [f'<text x="{x0 + left + (width - left) / 2}" y="18" text-anchor="middle" '
           f'font-weight="bold">{escape(title)}</text>']
    if not points:
        return out
    xs = _ticks(min(p[0] for p in points), max(p[0] for p in points))
    ys = _ticks(min(p[1] for p in points), max(p[1] for p in points))
    if len(ys) < 2:
        ys = [ys[0], ys[0] * 10]

    def sx(x: float) -> float:
        span = math.log10(xs[-1]) - math.log10(xs[0]) or 1
        return x0 + left + (math.log10(x) - math.log10(xs[0])) / span * (width - left - 10)

    def sy(y: float) -> float:
        span = math.log10(ys[-1]) - math.log10(ys[0]) or 1
        return top + (1 - (math.log10(y) - math.log10(ys[0])) / span) * (height - top - bottom)

    out.append(f'<rect x="{x0 + left}" y="{top}" width="{width - left - 10}" '
               f'height="{height - top - bottom}" fill="none" stroke="#999"/>')
    for x in xs:
        out.append(f'<line x1="{sx(x):.1f}" y1="{top}" x2="{sx(x):.1f}" '
                   f'y2="{height - bottom}" stroke="#eee"/>')
        out.append(f'<text x="{sx(x):.1f}" y="{height - bottom + 14}" text-anchor="middle" '
                   f'font-size="10">{_label(x)}</text>')
    for y in ys:
        out.append(f'<line x1="{x0 + left}" y1="{sy(y):.1f}" x2="{x0 + width - 10}" '
                   f'y2="{sy(y):.1f}" stroke="#eee"/>')
        out.append(f'<text x="{x0 + left - 4}" y="{sy(y) + 3:.1f}" text-anchor="end" '
                   f'font-size="10">{_label(y)}</text>')
    out.append(f'<text x="{x0 + left + (width - left) / 2}" y="{height - 8}" '
               f'text-anchor="middle" font-size="11">triples</text>')
    out.append(f'<text x="{x0 + 12}" y="{top + (height - top - bottom) / 2}" font-size="11" '
               f'text-anchor="middle" transform="rotate(-90 {x0 + 12} '
               f'{top + (height - top - bottom) / 2})">{escape(unit)}</text>')
    for name, pts in series.items():
        good = sorted(p for p in pts if p[1] > 0)
        if not good:
            continue
        colour = colours[name]
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in good)
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" '
                   f'stroke-width="2"><title>{escape(name)}</title></polyline>')
        for x, y in good:
            out.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" fill="{colour}">'
                       f'<title>{escape(name)}: {_label(x)} triples, {y:.3g} {escape(unit)}'
                       f'</title></circle>')
    return out


def svg(panels: list[tuple[str, str, Series]], caption: str) -> str:
    """The whole plot: ``panels`` of (title, unit, series) side by side and one legend."""
    names: list[str] = []  # one colour per engine: "service (build)" is the service's
    for _, _, series in panels:
        names.extend(engine_of(n) for n in series if engine_of(n) not in names)
    by_engine = {n: COLOURS[i % len(COLOURS)] for i, n in enumerate(names)}
    colours = {n: by_engine[engine_of(n)] for _, _, series in panels for n in series}
    width = 300 * len(panels) + 20
    legend_top = 262
    height = legend_top + 18 * ((len(names) + 2) // 3) + 44
    body = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12" '
            'role="img" aria-labelledby="growth-title">',
            f'<title id="growth-title">{escape(caption)}</title>',
            f'<rect width="{width}" height="{height}" fill="white"/>']
    for i, (title, unit, series) in enumerate(panels):
        body.extend(panel(title, unit, series, colours, 10 + 300 * i))
    for i, name in enumerate(names):
        x, y = 70 + 300 * (i % 3), legend_top + 18 * (i // 3)
        body.append(f'<rect x="{x}" y="{y - 9}" width="14" height="4" fill="{by_engine[name]}"/>')
        body.append(f'<text x="{x + 20}" y="{y - 4}">{escape(name)}</text>')
    body.append(f'<text x="10" y="{height - 8}" font-size="10" fill="#555">'
                f'{escape(caption)}</text>')
    body.append("</svg>")
    return "\n".join(body) + "\n"


__all__ = ["Series", "exponent", "svg"]
