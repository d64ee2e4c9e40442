"""A printable one-page brief of a comparison of two placements (for a decision meeting).

Plain HTML with its CSS inline and the map as an embedded PNG (matplotlib, drawn on the
server): it opens offline in any browser, prints on one A4 page, and a headless Chromium
turns it into a PDF (``chromium --headless --print-to-pdf``). Every text is escaped.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from motcua.app.i18n import t  # noqa: E402

_CSS = """
@page { size: A4; margin: 12mm; }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; font-size: 9pt;
       color: #111; margin: 0; }
h1 { font-size: 14pt; margin: 0 0 2mm 0; }
p.meta { color: #444; margin: 0 0 3mm 0; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; margin: 2mm 0 3mm 0; }
th, td { border: 1px solid #bbb; padding: 0.5mm 1.5mm; text-align: left; vertical-align: top; }
td.num { text-align: right; white-space: nowrap; }
th { background: #eef2f7; }
h2 { font-size: 11.5pt; margin: 3mm 0 1mm 0; }
img { display: block; margin: 0 auto; max-width: 100%; max-height: 85mm; object-fit: contain; border: 1px solid #ccc; }
.runs td:first-child { width: 8mm; font-weight: bold; }
"""


def changes_png(outline: gpd.GeoDataFrame | None, demand: gpd.GeoDataFrame,
                sites: gpd.GeoDataFrame, colors: dict[str, str],
                bounds: Sequence[Sequence[float]]) -> bytes:
    """The map of changes as a PNG: outline, newly covered / uncovered people, opened /
    closed points, on the comparison's extent."""
    fig, ax = plt.subplots(figsize=(7.5, 4.6), dpi=110)
    if outline is not None and len(outline):
        outline.to_crs(4326).boundary.plot(ax=ax, color="#666", linewidth=0.4)
    for state in ("newly_covered", "newly_uncovered"):
        part = demand[demand["state"] == state]
        if len(part):
            part.to_crs(4326).plot(ax=ax, color=colors[state], markersize=6, alpha=0.8)
    for state in ("opened", "closed"):
        part = sites[sites["state"] == state]
        if len(part):
            part.to_crs(4326).plot(ax=ax, color=colors[state], marker="s", markersize=30,
                                   edgecolor="white", linewidth=0.6)
    (south, west), (north, east) = bounds
    ax.set_xlim(west, east)
    ax.set_ylim(south, north)
    ax.set_aspect("equal")
    ax.set_axis_off()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric_from: int = 1,
           cls: str = "") -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(
            f'<td{" class=num" if i >= numeric_from else ""}>{html.escape(str(v))}</td>'
            for i, v in enumerate(row)) + "</tr>"
        for row in rows)
    return f'<table class="{cls}"><tr>{head}</tr>{body}</table>'


def brief_html(*, lang: str, scenario: str, made_on: str, run_a: str, run_b: str,
               figures: Sequence[Sequence[str]], settings: Sequence[Sequence[str]],
               changes: Sequence[tuple[str, str]], map_png: bytes | None, link: str,
               synthetic: bool) -> str:
    """The brief as one HTML page: the two runs, the map of changes, what changed, the key
    figures side by side with their differences, and the settings that differ."""
    esc = html.escape
    parts = [f"<!doctype html><html lang=\"{esc(lang)}\"><head><meta charset=\"utf-8\">",
             f"<title>{esc(t('brief_title', lang))}</title><style>{_CSS}</style></head><body>",
             f"<h1>{esc(t('brief_title', lang))}</h1>",
             f'<p class="meta">{esc(scenario)} · {esc(t("brief_generated", lang, date=made_on))}'
             + (f" · <b>{esc(t('synthetic_badge', lang))}</b>" if synthetic else "") + "</p>",
             _table(["", t("result_summary", lang)], [("A", run_a), ("B", run_b)],
                    numeric_from=9, cls="runs")]
    if changes:
        parts.append(_table([k for k, _ in changes], [[v for _, v in changes]], numeric_from=0))
    if map_png:
        parts.append(f"<h2>{esc(t('changes_map', lang))}</h2>")
        parts.append('<img alt="" src="data:image/png;base64,'
                     + base64.b64encode(map_png).decode("ascii") + '">')
        parts.append(f'<p class="meta">{esc(t("map_legend_changes", lang))}</p>')
    parts.append(_table([t("figure", lang), "A", "B", t("difference", lang)], figures))
    if settings:
        parts.append(f"<h2>{esc(t('settings_differ', lang))}</h2>")
        parts.append(_table([t("setting", lang), "A", "B"], settings, numeric_from=9))
    parts.append(f'<p class="meta">{esc(t("share_link", lang))}: {esc(link)}</p></body></html>')
    return "".join(parts)
