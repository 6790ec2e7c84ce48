"""Plain-English density legends and notes, in the engine, the app and print maps.

A place with many empty localities (Trafford by LSOA: most LSOAs hold no site) once
read "0.0 – 0.0, 0.0 – 1.5" with the note "k=5 was lowered to 3: with
scheme='quantiles' ...". Now the zeros are a class of their own ("No sites"), no label
is a range of one value or repeats another, and a lowered number of classes is
explained in plain words.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from assetmap.app.navigation import page_path
from assetmap.density import SCHEMES, classify
from assetmap.maps.interactive import choropleth_legend_html
from assetmap.maps.static import build_map, map_bytes
from assetmap.store import STORE_ENV, open_store
from tests.app.conftest import run_app, shown
from tests.maps.test_static import svg_texts

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "streamlit_app.py")
FITTED = [s for s in SCHEMES if s != "user_defined"]
#: A label that is a range of one number ("0.0 – 0.0"), or ends where it starts.
COLLAPSED = re.compile(r"^(\S+) – \1$")


def _reads_clearly(legend) -> None:
    """Fail if a label is a collapsed range, two labels are the same, or a label is empty."""
    assert all(label.strip() for label in legend), legend
    assert not [label for label in legend if COLLAPSED.match(label)], legend
    assert len(set(legend)) == len(legend), legend


def _ends(label: str) -> tuple[float, float]:
    numbers = [float(n.replace(",", "")) for n in re.findall(r"-?[\d,]*\.?\d+", label)]
    return numbers[0], numbers[-1]


# --------------------------------------------------------------------------- the engine


@pytest.mark.parametrize("scheme", FITTED)
def test_zeros_are_a_class_of_their_own_labelled_plainly(scheme):
    values = [0.0] * 40 + [0.3, 0.7, 1.1, 1.5, 2.2, 3.0, 4.1, 6.5, 9.0, 17.3]
    c = classify(values, scheme, k=5, zero_label="No sites")
    assert c.legend[0] == "No sites" and c.bins[0] == 0.0
    assert c.counts[0] == 40 and c.classes.iloc[:40].eq(0).all()
    assert c.classes.iloc[40:].gt(0).all()
    assert (c.k, c.asked, c.message) == (5, 5, None)
    assert c.labels.iloc[0] == "No sites"
    # the class above the zeros starts at the lowest value above nought, not at 0
    assert _ends(c.legend[1])[0] == 0.3
    _reads_clearly(c.legend)


def test_the_zero_label_defaults_to_0_and_all_zeros_are_one_plain_class():
    c = classify([0, 0, 4, 9], "quantiles", k=3)
    assert c.legend == ("0", "1 – 6", "7 – 9")  # whole numbers: every one a class holds
    c = classify([0.0, 0.0, 0.0], "quantiles", k=5, zero_label="No sites")
    assert c.legend == ("No sites",) and c.counts == (3,)
    assert c.message == "Only 1 class is shown, not 5: every value is the same."


def test_one_class_asked_for_keeps_the_zeros_with_the_rest_and_negatives_have_no_zero_class():
    c = classify([0, 0, 2, 5], "quantiles", k=1, zero_label="No sites")
    assert c.legend == ("0 – 5",) and c.message is None
    c = classify([-3.0, -1.0, 0.0, 2.0], "quantiles", k=2, zero_label="No sites")
    assert c.legend == ("-3 – -1", "0 – 2") and c.counts == (2, 2)


def test_a_user_defined_class_holding_only_zeros_is_labelled_plainly():
    c = classify([0, 0, 3, 8], "user_defined", bins=[0, 5], zero_label="No sites")
    assert c.legend == ("No sites", "1 – 5", "6 – 8") and c.counts == (2, 1, 1)
    assert c.asked == 2
    assert c.message == (
        "A class up to the largest value (8) was added above your highest class limit (5)."
    )


def test_whole_numbers_show_the_whole_numbers_each_class_holds():
    c = classify(
        [0] * 30 + [1] * 20 + [2] * 9 + [3, 4, 5, 5], "quantiles", k=5, zero_label="No sites"
    )
    assert c.legend == ("No sites", "1", "2", "3 – 5")
    assert c.counts == (30, 20, 9, 4)
    c = classify([1, 2, 3, 4, 10, 20], "equal_interval", k=2)
    assert c.legend == ("1 – 10", "11 – 20")


def test_decimals_are_added_until_neighbouring_classes_read_differently():
    # 4.47 ends a class and 4.53 starts the next: at one decimal both read "4.5"
    c = classify([1.0, 2.0, 4.47, 4.53, 9.0, 17.3], "user_defined", bins=[4.47, 17.3])
    assert c.legend == ("1.00 – 4.47", "4.53 – 17.30")
    c = classify([0.0, 0.0, 0.0501, 0.0502, 0.0503], "equal_interval", k=3)
    _reads_clearly(c.legend)
    assert c.legend[0] == "0"


@pytest.mark.parametrize("scheme", FITTED)
def test_no_label_is_empty_collapsed_or_repeated_on_values_with_many_ties(scheme):
    rng = np.random.default_rng(15)
    for _ in range(30):
        n = int(rng.integers(3, 200))
        values = np.round(rng.exponential(2.0, n) * (rng.random(n) < 0.4), int(rng.integers(0, 3)))
        for k in (2, 3, 5, 7):
            c = classify(values, scheme, k=k, zero_label="No sites")
            _reads_clearly(c.legend)
            assert sum(c.counts) == n and c.k <= k
            # each value's label is its class's legend entry
            assert c.labels.tolist() == [c.legend[i] for i in c.classes]
            if (values == 0).any() and (values > 0).any() and k > 1:
                assert c.legend[0] == "No sites" and c.counts[0] == int((values == 0).sum())


def test_a_lowered_number_of_classes_is_explained_in_plain_english():
    c = classify([0, 0, 0, 1, 1, 2], "natural_breaks", k=5, zero_label="No sites")
    assert (c.k, c.asked) == (3, 5)
    assert c.legend == ("No sites", "1", "2")
    assert c.message == "Only 3 classes are shown, not 5: the values have only 3 different levels."
    c = classify([0] * 20 + [1] * 30 + [2, 3, 4, 5], "quantiles", k=5, zero_label="No sites")
    assert c.message == (
        f"Only {c.k} classes are shown, not 5: too many values are the same for classes of "
        "equal counts (quantiles) to make 5 different classes."
    )
    for message in (c.message, classify([7, 7], "natural_breaks", k=4).message):
        assert "k=" not in message and "scheme=" not in message and "distinct" not in message


# --------------------------------------------------------------------------- Trafford by LSOA


@pytest.fixture(scope="module")
def trafford_sites(trafford_store_built):
    return open_store(trafford_store_built).sites()


@pytest.mark.slow
def test_a_trafford_lsoa_print_map_legend_reads_plainly(trafford_sites):
    built = build_map("density", trafford_sites, place="Trafford", metric="sites", per="km2")
    assert built.place.sublevel == "lsoa"
    classes = [entry for entry in built.legend if entry != "No data"]
    assert re.fullmatch(r"No sites \(\d+ localities\)", classes[0]), built.legend
    labels = [re.sub(r" \([\d,]+ localit(y|ies)\)$", "", entry) for entry in classes]
    _reads_clearly(labels)
    assert all(_ends(label)[0] > 0 for label in labels[1:])
    svg = svg_texts(
        map_bytes("density", trafford_sites, place="Trafford", metric="sites", format="svg")
    )
    assert "No sites (" in svg and "0.0 – 0.0" not in svg and "k=" not in svg
    # sites in total: few different counts, so fewer classes, said plainly
    total = build_map("density", trafford_sites, place="Trafford", metric="sites", per="total")
    entries = [re.sub(r" \([\d,]+ localit(y|ies)\)$", "", e) for e in total.legend[:-1]]
    assert entries[0] == "No sites"
    _reads_clearly(entries)
    # the sample's LSOAs hold 0 to 5 sites, most 1 or 2: quantiles cannot make 5 classes
    assert entries == ["No sites", "1", "2", "3 – 5"]
    lowered = [n for n in total.notes if n.startswith("Only ")]
    assert lowered == [
        "Only 4 classes are shown, not 5: too many values are the same for classes of equal "
        "counts (quantiles) to make 5 different classes."
    ]
    assert not [n for n in total.notes if "k=" in n or "scheme=" in n]


def test_the_interactive_legend_shows_the_plain_labels_and_note():
    c = classify([0, 0, 0, 1, 1, 2], "quantiles", k=5, zero_label="No sites")
    html = choropleth_legend_html(c.legend, title="Sites (Quantiles)", note=c.message)
    assert "No sites</div>" in html and " – " not in html
    assert "Only 3 classes are shown, not 5: the values have only 3 different levels." in html


# --------------------------------------------------------------------------- the app


@pytest.fixture
def trafford_app(trafford_store_built, tmp_path, monkeypatch):
    """The app's store: a copy of the Trafford sample; Streamlit's caches emptied around it."""
    path = tmp_path / "estate.gpkg"
    shutil.copyfile(trafford_store_built, path)
    monkeypatch.setenv(STORE_ENV, str(path))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield path
    st.cache_data.clear()
    st.cache_resource.clear()


def _feature_group(at: AppTest) -> str:
    return json.loads(at.get("component_instance")[0].proto.json_args)["feature_group"]


def _map_legend(group: str) -> list[str]:
    """The labels of the density legend the Map page draws (its control's HTML, decoded)."""
    found = re.search(
        r'assetmap-choropleth-control"\);\s*div\.innerHTML = ("(?:[^"\\]|\\.)*");', group
    )
    assert found, "no density legend on the map"
    return re.findall(r"</span>([^<]*)</div>", json.loads(found.group(1)))


@pytest.mark.slow
@pytest.mark.usefixtures("trafford_app")
def test_the_app_shows_trafford_by_lsoa_with_plain_legends_and_notes():
    at = run_app(AppTest.from_file(APP, default_timeout=300), timeout=300)
    legend = _map_legend(_feature_group(at))  # the Map page's density layer, by LSOA
    assert legend[0] == "No sites" and legend[-1] == "no data"
    _reads_clearly(legend[:-1])
    assert all(_ends(label)[0] > 0 for label in legend[1:-1])

    at.switch_page(str(page_path("density").relative_to(ROOT)))
    run_app(at, timeout=300)
    table = at.dataframe[0].value
    legend = table["class"].tolist()
    assert legend[0] == "No sites" and table["localities"].iloc[0] > 0
    _reads_clearly(legend)
    at.selectbox(key="density_per").set_value("total")
    run_app(at, timeout=300)
    legend = at.dataframe[0].value["class"].tolist()
    assert legend[0] == "No sites"
    _reads_clearly(legend)
    captions = shown(" ".join(c.value for c in at.caption))
    assert "k=" not in captions and "scheme=" not in captions
    assert legend == ["No sites", "1", "2", "3 – 5"]
    assert (
        "Only 4 classes are shown, not 5: too many values are the same for classes of equal "
        "counts (quantiles) to make 5 different classes."
    ) in captions
