"""Bar charts drawn as inline SVG on the server: no script, no inline style (the CSP allows neither).

Geometry is computed here and drawn with SVG attributes; colours come from CSS classes in
static/css/earlyhelp.css. Each chart is shown with its data as a table, so nothing depends on
seeing the bars.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

MAX_WIDTH = 900
PLOT_HEIGHT = 160
TOP = 20  # room for the value above the tallest bar
BOTTOM = 40  # room for two lines of label
ROW_HEIGHT = 28
LABEL_WIDTH = 230
BAR_AREA = 360


@dataclass(frozen=True)
class Bar:
    label: str
    sublabel: str
    value_text: str
    x: int
    y: int
    width: int
    height: int
    text_x: int
    text_y: int
    show_label: bool = True


def _text(value: float | None, unit: str) -> str:
    return "no data" if value is None else f"{value:g}{unit}"


def _top(items, maximum):
    values = [v for _, v in items if v is not None]
    top = maximum if maximum is not None else max(values, default=0)
    return top or 1


def bar_chart(items: list[tuple[str, float | None]], *, maximum: float | None = None, unit: str = "") -> dict:
    """A vertical bar chart for a series in time; `items` are (label, value), None draws no bar.

    A label may have a second line after a newline. With many bars only every few are labelled.
    """
    top = _top(items, maximum)
    n = max(len(items), 1)
    slot = max(10, min(56, MAX_WIDTH // n))
    width = max(6, int(slot * 0.7))
    every = max(1, -(-44 // slot))  # label about every 44 px
    bars = []
    for i, (label, value) in enumerate(items):
        height = 0 if value is None else round(PLOT_HEIGHT * min(max(value, 0), top) / top)
        x = i * slot + (slot - width) // 2
        y = TOP + PLOT_HEIGHT - height
        main, _, sub = label.partition("\n")
        bars.append(
            Bar(
                label=main,
                sublabel=sub,
                value_text=_text(value, unit) if slot >= 40 else "",
                x=x,
                y=y,
                width=width,
                height=height,
                text_x=x + width // 2,
                text_y=y - 4,
                show_label=i % every == 0,
            )
        )
    return {
        "kind": "vertical",
        "bars": bars,
        "width": max(n * slot, 200),
        "height": TOP + PLOT_HEIGHT + BOTTOM,
        "baseline": TOP + PLOT_HEIGHT,
        "label_y": TOP + PLOT_HEIGHT + 16,
        "sublabel_y": TOP + PLOT_HEIGHT + 32,
    }


def hbar_chart(items: list[tuple[str, float | None]], *, maximum: float | None = None, unit: str = "") -> dict:
    """A horizontal bar chart for categories (teams, bands): the label left, the value after the bar."""
    top = _top(items, maximum)
    bars = []
    for i, (label, value) in enumerate(items):
        length = 0 if value is None else round(BAR_AREA * min(max(value, 0), top) / top)
        y = 6 + i * ROW_HEIGHT
        short = label if len(label) <= 30 else label[:29] + "…"
        bars.append(
            Bar(
                label=short,
                sublabel="",
                value_text=_text(value, unit),
                x=LABEL_WIDTH,
                y=y,
                width=length,
                height=ROW_HEIGHT - 8,
                text_x=LABEL_WIDTH + length + 6,
                text_y=y + ROW_HEIGHT - 13,
            )
        )
    return {
        "kind": "horizontal",
        "bars": bars,
        "width": LABEL_WIDTH + BAR_AREA + 90,
        "height": max(len(items), 1) * ROW_HEIGHT + 12,
        "label_x": LABEL_WIDTH - 8,
        "axis_x": LABEL_WIDTH,
    }


def chart_markup(chart: dict, *, chart_id: str, title: str, below: bool = False) -> SafeString:
    """oversight/includes/chart.html rendered for `chart` (`bar_chart` or `hbar_chart`), byte for byte,
    written with f-strings (ADR 80): the include's loops cost about a millisecond a chart, most of a
    dashboard page's template. The labels, value texts, id and title are escaped as the template does."""
    chart_id, title = escape(chart_id), escape(title)
    width, height = chart["width"], chart["height"]
    out = [
        '\n<figure class="eh-figure">\n'
        f'<svg class="eh-svg-chart" role="img" aria-labelledby="{chart_id}-title" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}">\n'
        f'  <title id="{chart_id}-title">{title}</title>\n  '
    ]
    if chart["kind"] == "horizontal":
        axis, label_x = chart["axis_x"], chart["label_x"]
        out.append(f'\n  <line x1="{axis}" y1="0" x2="{axis}" y2="{height}" class="eh-chart-axis"/>\n  ')
        for b in chart["bars"]:
            out.append(
                f'\n  <text x="{label_x}" y="{b.text_y}" text-anchor="end" class="eh-chart-label">{escape(b.label)}'
                f'</text>\n  <rect x="{b.x}" y="{b.y}" width="{b.width}" height="{b.height}" class="eh-chart-bar"/>\n'
                f'  <text x="{b.text_x}" y="{b.text_y}" class="eh-chart-value">{escape(b.value_text)}</text>\n  '
            )
    else:
        baseline, label_y, sublabel_y = chart["baseline"], chart["label_y"], chart["sublabel_y"]
        out.append(f'\n  <line x1="0" y1="{baseline}" x2="{width}" y2="{baseline}" class="eh-chart-axis"/>\n  ')
        for b in chart["bars"]:
            out.append(
                f'\n  <rect x="{b.x}" y="{b.y}" width="{b.width}" height="{b.height}" class="eh-chart-bar"/>\n  '
            )
            if b.value_text:
                out.append(
                    f'<text x="{b.text_x}" y="{b.text_y}" text-anchor="middle" class="eh-chart-value">'
                    f"{escape(b.value_text)}</text>"
                )
            out.append("\n  ")
            if b.show_label:
                out.append(
                    f'<text x="{b.text_x}" y="{label_y}" text-anchor="middle" class="eh-chart-label">'
                    f"{escape(b.label)}</text>\n  "
                )
                if b.sublabel:
                    out.append(
                        f'<text x="{b.text_x}" y="{sublabel_y}" text-anchor="middle" class="eh-chart-label">'
                        f"{escape(b.sublabel)}</text>"
                    )
            out.append("\n  ")
    out.append(
        f'\n  \n</svg>\n<figcaption class="govuk-body-s">{title}. The figures are in the table'
        f"{' below' if below else ''}.</figcaption>\n</figure>\n"
    )
    return mark_safe("".join(out))  # noqa: S308 - every text escaped above
