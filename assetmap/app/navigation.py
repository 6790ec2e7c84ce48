"""The app's pages, in the order of the navigation menu.

Each page is a two-line script in ``assetmap/app/pages/`` that calls its module's
``render()``: file pages, so that Streamlit's AppTest can switch to them.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

__all__ = ["TITLES", "page_path", "pages"]

_PAGES_DIR = Path(__file__).resolve().parent / "pages"

#: url path -> title, in menu order (the first is the default page).
TITLES = {
    "map": "Map",
    "overview": "National overview",
    "registers": "Registers",
    "space": "Space",
    "exchange": "Exchange",
    "colocation": "Co-location",
    "scenarios": "Scenarios",
    "density": "Density",
    "completeness": "Data completeness",
    "export": "Export",
}


def page_path(name: str) -> Path:
    """Return the script of a page, by its url path (``"map"``, ``"registers"``...)."""
    return _PAGES_DIR / f"{name}.py"


def pages() -> list[st.Page]:
    """Return the pages for ``st.navigation`` (made on each run, in Streamlit's script context)."""
    return [
        st.Page(page_path(name), title=title, url_path=name, default=i == 0)
        for i, (name, title) in enumerate(TITLES.items())
    ]
