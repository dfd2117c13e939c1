"""Building blocks of self-contained HTML pages: shell with inline CSS, tables, images as data URIs.

Nothing here refers to anything outside the page: no scripts, no external
stylesheets or fonts (system font stacks only), images inline as base64, so a
page opens from disk with no server and no network.
"""

from __future__ import annotations

import base64
import html
import math
import numbers
from collections.abc import Callable, Sequence

import pandas as pd

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.2em 2em;color:#1d232b;background:#fff}
h1{font-size:1.35em;margin:.2em 0 .4em}h2{font-size:1.1em;margin:1.3em 0 .4em;border-bottom:1px solid #dde3ea}
table{border-collapse:collapse;font-size:.85em}th,td{padding:.2em .6em;border-bottom:1px solid #eef1f4;text-align:left}
th{background:#f4f6f8;position:sticky;top:0}td.num{text-align:right;font-variant-numeric:tabular-nums}
a{color:#1f5fbf;text-decoration:none}a:hover{text-decoration:underline}
.meta{color:#5a6470;font-size:.85em}.muted{color:#8a939d}
.grid{display:flex;flex-wrap:wrap;gap:1.5em;align-items:flex-start}
.card{border:1px solid #e3e8ee;border-radius:6px;padding:.6em .9em;background:#fbfcfd}
.seq{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.9em;white-space:pre}
.seq span{padding:1px 0}.seq .peak{outline:1px solid #1d232b}
.pill{display:inline-block;padding:0 .45em;border-radius:9px;background:#eef3fb;font-size:.8em}
"""


def esc(value: object) -> str:
    """HTML-escaped text of a value (NaN and None are empty)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return html.escape(str(value), quote=True)


def fmt(value: object, *, digits: int = 3) -> str:
    """Numbers to ``digits`` significant digits, the rest as text; escaped."""
    if isinstance(value, bool) or value is None:
        return esc(value)
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    if isinstance(value, numbers.Real):
        v = float(value)
        return "" if math.isnan(v) else f"{v:.{digits}g}"
    return esc(value)


def data_uri(png: bytes) -> str:
    """``data:image/png;base64,...`` of PNG bytes, for an ``<img src>`` that needs no file."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def img(png: bytes, *, alt: str) -> str:
    """An ``<img>`` element with the PNG inline."""
    return f'<img alt="{esc(alt)}" src="{data_uri(png)}">'


def table(
    frame: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    links: dict[str, Callable[[object], str | None]] | None = None,
) -> str:
    """An HTML table of ``frame``; ``links[col](value)`` gives an href for that column's cells."""
    columns = [c for c in (columns or list(frame.columns)) if c in frame.columns]
    links = links or {}
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    rows = []
    for rec in frame[columns].itertuples(index=False):
        cells = []
        for col, value in zip(columns, rec, strict=True):
            text = fmt(value)
            num = isinstance(value, numbers.Real) and not isinstance(value, bool)
            href = links[col](value) if col in links else None
            if href:
                text = f'<a href="{esc(href)}">{text}</a>'
            cells.append(f'<td class="num">{text}</td>' if num else f"<td>{text}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def page(title: str, *, body: str) -> str:
    """A complete HTML5 document with the inline stylesheet."""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>{body}</body></html>\n"
    )
