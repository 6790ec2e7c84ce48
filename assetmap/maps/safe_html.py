r"""Escaping of every register value bound for HTML, JavaScript or Markdown, in one place.

Register files come from many hands, so any text in them (a site's name, an
agency, an address) is treated as hostile. There are exactly three ways such a
value may reach a page, and this module is the one place for all of them:

* as HTML text or an attribute value: :func:`escape` (``html.escape`` with
  quotes), so ``<img src=x onerror=...>`` shows as those characters;
* as data inside a ``<script>`` element: :func:`script_json`, JSON in which
  ``<``, ``>``, ``&``, ``'`` and the line separators U+2028/U+2029 are written as
  ``\uXXXX`` escapes, so no value can close the script element, open a
  comment or break a string literal;
* as text in Streamlit's Markdown (``st.markdown``, ``st.caption``, ``st.error``...):
  :func:`markdown_text`, every Markdown punctuation character backslash-escaped, so
  a value can make no link, image, formula or coloured text.

Leaflet (and folium's ``GeoJsonTooltip``/``GeoJsonPopup``) put tooltip and popup
strings into ``innerHTML`` unescaped, so a map never hands them a raw value: it
builds them with :func:`escape` (:func:`tooltip_html`, :func:`record_html`).
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "css_colour",
    "escape",
    "escape_series",
    "markdown_text",
    "record_html",
    "script_json",
    "tooltip_html",
]

_JSON_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "'": "\\u0027",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_JSON_ESCAPE_RE = re.compile("[<>&'\u2028\u2029]")
# A brace that opens a Jinja tag, expression or comment ("{{", "{%", "{#"): only ever
# inside a JSON string (JSON's own braces are never followed by these), written as an
# escape so that no template engine the text passes through reads a register value
_JSON_TEMPLATE_OPENER_RE = re.compile(r"\{(?=[{%#])")
_HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def escape(value: Any) -> str:
    """Return ``value`` as text that is safe inside HTML text or a quoted attribute.

    Missing values (``None``, ``NaN``, ``pd.NA``) become ``""``.

    Parameters
    ----------
    value
        Anything; it is converted with ``str`` first.

    Returns
    -------
    str
    """
    if _is_missing(value):
        return ""
    return html.escape(str(value), quote=True)


# Backslash-escaped wherever they stand: emphasis, code, links and images, HTML, tables,
# strike-through, formulas and Streamlit's :colour[...] directives all need one of these.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#!|~$])")
# Escaped at the start only, where they would make a list or a heading.
_MARKDOWN_LEADING = re.compile(r"^(\s*(?:\d+)?)([-+=.)])")


def markdown_text(value: Any) -> str:
    """Return ``value`` as Markdown that shows exactly its characters.

    Streamlit renders Markdown in ``st.markdown``, ``st.caption``, ``st.error`` and
    the like: a register value such as ``![x](http://host/p.png)`` would become an
    image fetched from the internet, ``$x$`` a formula and ``:red[x]`` coloured text.
    Every Markdown punctuation character is escaped with a backslash, and line breaks
    become spaces. Use it for every register value, file name or message that quotes
    one, before it goes into such a call.

    Parameters
    ----------
    value
        Any value; missing values give ``""``.

    Returns
    -------
    str
    """
    if _is_missing(value):
        return ""
    text = " ".join(str(value).split())
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    return _MARKDOWN_LEADING.sub(r"\1\\\2", text)


def escape_series(values: pd.Series) -> pd.Series:
    """Escape every value of a Series with :func:`escape`.

    Parameters
    ----------
    values
        Any Series.

    Returns
    -------
    pandas.Series
        ``str`` values, aligned to ``values``.
    """
    return pd.Series([escape(v) for v in values], index=values.index, dtype="object")


def _plain(value: Any) -> Any:
    """Turn numpy/pandas scalars and containers into plain JSON values."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if _is_missing(value):
        return None
    if isinstance(value, float) and math.isinf(value):
        return None
    return value


def script_json(value: Any) -> str:
    """Return ``value`` as JSON that can be embedded inside a ``<script>`` element.

    The result is a JavaScript expression: an object, array, string, number,
    boolean or ``null``. Missing and infinite numbers become ``null``.

    Parameters
    ----------
    value
        JSON-like data: dicts, lists, strings, numbers, numpy scalars and arrays.

    Returns
    -------
    str
    """
    try:  # plain data (most of a map's) goes straight through; numpy values are turned
        text = json.dumps(value, default=_default, **_JSON_OPTIONS)
    except (TypeError, ValueError):  # a missing or infinite number, or a key of numpy's
        text = json.dumps(_plain(value), **_JSON_OPTIONS)
    text = _JSON_ESCAPE_RE.sub(lambda m: _JSON_ESCAPES[m.group()], text)
    return _JSON_TEMPLATE_OPENER_RE.sub(r"\\u007b", text)


_JSON_OPTIONS: dict[str, Any] = {
    "ensure_ascii": False,
    "allow_nan": False,
    "separators": (",", ":"),
}


def _default(value: Any) -> Any:
    """Turn what :func:`json.dumps` cannot write into plain values (see :func:`_plain`)."""
    if isinstance(value, Mapping | np.ndarray | np.generic) or _is_missing(value):
        return _plain(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def css_colour(value: str) -> str:
    """Return ``value`` if it is a ``#rrggbb`` colour, else raise ``ValueError``.

    Colours are written into ``style`` attributes, so only this one form is accepted.
    """
    if not isinstance(value, str) or not _HEX_COLOUR.match(value):
        raise ValueError(f"not a #rrggbb colour: {value!r}")
    return value


def tooltip_html(title: Any, subtitle: Any = None) -> str:
    """Return a two-line tooltip with both lines escaped.

    Parameters
    ----------
    title
        First line, shown in bold (a site's name).
    subtitle
        Second line (the agency), left out when missing or empty.

    Returns
    -------
    str
        HTML.
    """
    head = f"<strong>{escape(title)}</strong>"
    sub = escape(subtitle)
    return f"{head}<br>{sub}" if sub else head


def record_html(
    rows: Iterable[tuple[str, Any]],
    *,
    title: Any = None,
    css_class: str = "assetmap-record",
) -> str:
    """Return a small HTML table of label/value pairs, every label and value escaped.

    Used for map popups and for the record panel beside the map. Rows whose value
    is missing or empty are left out. The markup carries class names only; the
    look comes from :data:`assetmap.maps.style.MAP_CSS`.

    Parameters
    ----------
    rows
        ``(label, value)`` pairs.
    title
        Optional heading above the table.
    css_class
        Class of the outer ``div`` (a fixed name, escaped too).

    Returns
    -------
    str
        HTML.
    """
    parts = [f'<div class="{escape(css_class)}">']
    if not _is_missing(title) and str(title) != "":
        parts.append(f'<div class="assetmap-title">{escape(title)}</div>')
    parts.append("<table>")
    for label, value in rows:
        text = escape(value)
        if text == "":
            continue
        parts.append(f"<tr><th>{escape(label)}</th><td>{text}</td></tr>")
    parts.append("</table></div>")
    return "".join(parts)
