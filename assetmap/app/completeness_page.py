"""The Data completeness page: how complete each body's property data is, ranked.

For the sites of the chosen place that pass the sidebar's filters and the viewer
may see, each agency's share of sites with a floor area, a running cost, a
tenure, lease dates (of its leased sites), a UPRN and an exact location, and its
overall score (:func:`assetmap.completeness.completeness`): a ranked table with
percentages, a chart of the overall score or of one measure, the definitions of
the measures, the figures note and a CSV download of the shares and counts.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from assetmap import access
from assetmap.app import shell
from assetmap.completeness import DEFINITIONS, MEASURES, chart_rows, completeness, formatted
from assetmap.errors import AssetmapError
from assetmap.maps.safe_html import markdown_text as md

__all__ = ["CHART_KEY", "chart_data", "render"]

CHART_KEY = "completeness_chart"

#: What the chart can show: the overall score or one measure.
CHART_CHOICES: dict[str, str] = {"score": "Overall score", **MEASURES}


@st.cache_data(show_spinner="Measuring each body's data…", max_entries=16)
def _table(key: tuple, _sites: pd.DataFrame, _viewer: access.Viewer | None) -> pd.DataFrame:
    # ``key`` holds the store's state, the selection and the viewer's agency
    return completeness(_sites, viewer=_viewer)


def chart_data(table: pd.DataFrame, measure: str) -> tuple[pd.DataFrame, str]:
    """Return the bars of the chart of ``measure`` (``"score"`` or one of MEASURES), and a note.

    One row per body with a figure (``Body``, ``Share (%)``, ``Rank``), in rank
    order: the bodies of :func:`assetmap.completeness.chart_rows`, less those with
    no leased site when the measure is the lease dates (the note says so).
    """
    rows, note = chart_rows(table)
    column = "score" if measure == "score" else f"{measure}_share"
    kept = rows[rows[column].notna()]
    if len(kept) < len(rows):
        left = len(rows) - len(kept)
        said = (
            "1 body with no leased site has no bar."
            if left == 1
            else f"{left:,} bodies with no leased site have no bar."
        )
        note = " ".join(n for n in (note, said) if n)
    data = pd.DataFrame(
        {
            "Body": kept["agency"].astype(str).to_numpy(),
            "Share (%)": (kept[column].to_numpy(dtype="float64") * 100).round(1),
            "Rank": kept.index.to_numpy() + 1,
        }
    )
    return data, note


def _chart(data: pd.DataFrame, title: str) -> alt.Chart:
    """Return horizontal bars of each body's share, in rank order."""
    return (
        alt.Chart(data, title=title)
        .mark_bar(color="#2b6c9f")
        .encode(
            x=alt.X("Share (%):Q", scale=alt.Scale(domain=[0, 100]), title=f"{title} (%)"),
            y=alt.Y("Body:N", sort=alt.SortField("Rank"), title=None),
            tooltip=["Body:N", "Share (%):Q", "Rank:Q"],
        )
        .properties(height=60 + 24 * len(data))
    )


def render() -> None:
    """Draw the Data completeness page."""
    chosen = shell.selection()
    st.title("Data completeness")
    try:
        sites = shell.selected_sites(chosen)
        table = _table(shell.cache_key(chosen), sites, shell.viewer())
    except AssetmapError as exc:
        st.error(f"The completeness could not be measured: {md(exc)}")
        return
    st.caption(
        f"How complete each body's property data is in {md(chosen.place_name)}: the share "
        "of its sites with a floor area, a running cost, a tenure, lease dates, a UPRN and "
        f"an exact location. {len(sites):,} sites of {len(table):,} bodies after the "
        f"filters ({md(chosen.describe())}), most complete first. {access.FIGURES_NOTE}"
    )
    if not len(table):
        st.info("No sites to measure: choose another place or loosen the filters.")
        return
    st.dataframe(
        formatted(table),
        hide_index=True,
        width="stretch",
        column_config={"Sites": st.column_config.NumberColumn(format="localized")},
    )
    measure = shell.pick("Chart", CHART_CHOICES, key=CHART_KEY)
    data, note = chart_data(table, measure)
    if len(data):
        st.altair_chart(_chart(data, CHART_CHOICES[measure]), width="stretch")
    else:
        note = "No body has a leased site: there is nothing to chart."
    if note:
        st.caption(note)
    st.markdown("**What each measure counts**")
    st.markdown(
        "\n".join(
            f"- **{heading}**: {DEFINITIONS[name]}"
            for name, heading in {**MEASURES, "score": "Overall score"}.items()
        )
    )
    shell.download_csv(
        f"Download the {len(table):,} bodies' figures (CSV: shares 0 to 1 and counts)",
        table,
        file_name="completeness.csv",
        key="download_completeness",
    )
