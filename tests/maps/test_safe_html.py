"""Escaping rules: register values reach HTML and scripts only as inert text."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest

from assetmap.maps import safe_html
from tests.maps.factories import HOSTILE_NAME


def test_escape_turns_markup_into_text():
    out = safe_html.escape("<img src=x onerror=alert(1)> & \"q\" 's'")
    assert out == "&lt;img src=x onerror=alert(1)&gt; &amp; &quot;q&quot; &#x27;s&#x27;"


@pytest.mark.parametrize("missing", [None, float("nan"), pd.NA, np.nan])
def test_escape_missing_is_empty(missing):
    assert safe_html.escape(missing) == ""


def test_escape_series_keeps_index():
    values = pd.Series(["<a>", None, 3], index=[10, 11, 12])
    out = safe_html.escape_series(values)
    assert out.tolist() == ["&lt;a&gt;", "", "3"]
    assert out.index.tolist() == [10, 11, 12]


def test_script_json_cannot_close_a_script_or_break_a_line():
    value = {"name": "</script><script>alert(1)</script>", "sep": "a\u2028b\u2029c", "amp": "&'"}
    out = safe_html.script_json(value)
    for bad in ("<", ">", "&", "'", "\u2028", "\u2029"):
        assert bad not in out
    assert json.loads(out) == value


def test_script_json_handles_numpy_and_missing():
    out = safe_html.script_json(
        {"a": np.float64(1.5), "b": np.int64(2), "c": [np.nan, math.inf], "d": np.array([1, 2])}
    )
    assert json.loads(out) == {"a": 1.5, "b": 2, "c": [None, None], "d": [1, 2]}


def test_template_literal_and_backticks_stay_plain_text():
    out = safe_html.tooltip_html("${alert(1)} `tick`", "x")
    assert "${alert(1)} `tick`" in out  # harmless in HTML text
    js = safe_html.script_json(out)
    assert json.loads(js) == out  # a JSON string literal, never a template literal


def test_tooltip_and_record_escape_every_value():
    tip = safe_html.tooltip_html(HOSTILE_NAME, "<b>agency</b>")
    assert "<img" not in tip and "<b>agency" not in tip
    assert tip.startswith("<strong>&lt;img src=x onerror=")
    record = safe_html.record_html(
        [("<i>label</i>", HOSTILE_NAME), ("Empty", ""), ("Missing", None)], title="<h1>t</h1>"
    )
    assert "<img" not in record and "<i>" not in record and "<h1>" not in record
    assert "Empty" not in record and "Missing" not in record
    assert "&lt;img src=x onerror=window.__xss=1&gt;" in record


def test_css_colour_accepts_only_hex():
    assert safe_html.css_colour("#0072b2") == "#0072b2"
    for bad in ("red;background:url(x)", "#12345", "expression(alert(1))", None):
        with pytest.raises(ValueError):
            safe_html.css_colour(bad)


def test_markdown_text_shows_every_character_and_renders_nothing():
    from assetmap.maps.safe_html import markdown_text

    hostile = "![x](http://host/p.png) $x$ :red[y] **b** <img> a_b `c` |t| ~s~\n# Heading"
    text = markdown_text(hostile)
    # no Markdown character is left unescaped
    assert re.search(r"(?<!\\)[\[\]!$*<>_`|~#]", text) is None, text
    # removing the escapes gives the characters back (line breaks become spaces)
    assert text.replace("\\", "") == " ".join(hostile.split())
    for line_start in ("- item", "+ item", "1. one", "2) two", "= rule"):
        escaped = markdown_text(line_start)
        assert escaped.replace("\\", "") == line_start and escaped != line_start
    assert markdown_text("fire_again.csv") == "fire\\_again.csv"
    assert markdown_text("165 co-location clusters: 400 m.") == "165 co-location clusters: 400 m."
    assert markdown_text(None) == "" and markdown_text(float("nan")) == ""
