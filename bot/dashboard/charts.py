"""Charts drawn on the server as SVG: no JavaScript, no inline style (the CSP forbids both).

Every text is escaped; each bar carries a `<title>` (shown on hover) and the chart an
`aria-label`; the same figures are always in a table beside the chart.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

BAR_COLOUR = "#1f5fa8"
GRID_COLOUR = "#c9d3df"
TEXT_COLOUR = "#1b1b1b"


def number(value: int) -> str:
    """1234 → "1 234" (French thousands, narrow no-break space)."""
    return f"{value:,}".replace(",", "\u202f")


def bar_chart(title: str, items: Sequence[tuple[str, int]], unit: str, limit: int = 12) -> Markup:
    """Horizontal bars, biggest first, at most `limit` of them."""
    shown = sorted(items, key=lambda kv: -kv[1])[:limit]
    if not shown or max(v for _, v in shown) == 0:
        return Markup('<p class="vide">Aucune donnée sur la période.</p>')
    width, label_w, value_w, row_h = 720, 300, 70, 26
    bar_w = width - label_w - value_w
    top = max(v for _, v in shown)
    height = row_h * len(shown) + 8
    parts = [
        f'<svg class="graphique" viewBox="0 0 {width} {height}" role="img"'
        f' aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for n, (label, value) in enumerate(shown):
        y = 4 + n * row_h
        length = round(bar_w * value / top) if top else 0
        short = label if len(label) <= 40 else label[:39] + "…"
        parts.append(
            f'<g class="barre"><title>{escape(label)} : {number(value)} {escape(unit)}</title>'
            f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end" font-size="13"'
            f' fill="{TEXT_COLOUR}">{escape(short)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{max(length, 1)}" height="{row_h - 8}"'
            f' fill="{BAR_COLOUR}" rx="2"/>'
            f'<text x="{label_w + max(length, 1) + 6}" y="{y + 17}" font-size="13"'
            f' fill="{TEXT_COLOUR}">{number(value)}</text></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def column_chart(title: str, columns: Sequence[tuple[str, int]], unit: str) -> Markup:
    """Vertical columns in order (one per day), with the maximum and a few dates marked."""
    if not columns or max(v for _, v in columns) == 0:
        return Markup('<p class="vide">Aucune donnée sur la période.</p>')
    width, height, left, bottom, top_pad = 720, 220, 44, 28, 12
    plot_w, plot_h = width - left - 8, height - bottom - top_pad
    top = max(v for _, v in columns)
    step = plot_w / len(columns)
    gap = 1 if step > 4 else 0
    parts = [
        f'<svg class="graphique" viewBox="0 0 {width} {height}" role="img"'
        f' aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{left}" y1="{top_pad}" x2="{width - 8}" y2="{top_pad}"'
        f' stroke="{GRID_COLOUR}"/>',
        f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{width - 8}" y2="{top_pad + plot_h}"'
        f' stroke="{GRID_COLOUR}"/>',
        f'<text x="{left - 6}" y="{top_pad + 4}" text-anchor="end" font-size="12"'
        f' fill="{TEXT_COLOUR}">{number(top)}</text>',
        f'<text x="{left - 6}" y="{top_pad + plot_h + 4}" text-anchor="end" font-size="12"'
        f' fill="{TEXT_COLOUR}">0</text>',
    ]
    every = max(1, round(len(columns) / 6))
    for n, (label, value) in enumerate(columns):
        x = left + n * step
        h = plot_h * value / top
        parts.append(
            f'<g class="colonne"><title>{escape(label)} : {number(value)} {escape(unit)}</title>'
            f'<rect x="{x + gap:.1f}" y="{top_pad + plot_h - h:.1f}"'
            f' width="{max(step - 2 * gap, 0.5):.1f}" height="{max(h, 0):.1f}"'
            f' fill="{BAR_COLOUR}"/></g>'
        )
        if n % every == 0:
            parts.append(
                f'<text x="{x + step / 2:.1f}" y="{height - 8}" text-anchor="middle"'
                f' font-size="12" fill="{TEXT_COLOUR}">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))
