"""Sites placed only approximately in every figure and map (issue 15, honest locations).

A site placed at the centre of a postcode district or sector is left out of hexagons, heat
and kernel surfaces (with a note saying how many); the place summary counts it only where
locality figures do and reports the rest apart; print maps and packs of co-location
clusters and matches leave it out unless asked, and say so on the page.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from datetime import date

import geopandas as gpd
import pytest
from shapely.geometry import Point, box
from streamlit.testing.v1 import AppTest

from assetmap.cli import main
from assetmap.density import hex_density, kde_surface, place_summary
from assetmap.density.grids import HeatPoints, heat_points
from assetmap.errors import InvalidArgumentError
from assetmap.maps.pack import export_pack
from assetmap.maps.static import build_map, save_map
from assetmap.registers.importer import import_register
from tests.maps.factories import make_sites

TRAFFORD = "E08000009"
MANCHESTER = "E08000003"
POLICE = "Greater Manchester Police"
LEFT_OUT = "placed only approximately (at the centre of a postcode district or sector)"


def _sites(*, restricted: bool = False) -> gpd.GeoDataFrame:
    """A precise council site, an M41 police site (one district) and an M16 one (two)."""
    sites = make_sites(3)
    sites["name"] = ["Precise", "Urmston", "Old Trafford"]
    sites["sector"] = ["council", "police", "police"]
    sites["agency"] = ["Trafford Council", POLICE, POLICE]
    sites["postcode"] = ["M41 0AA", "M41", "M16"]
    sites["location_precision"] = ["point", "postcode district", "postcode district"]
    sites["sensitivity"] = ["open", *(["restricted"] * 2 if restricted else ["open"] * 2)]
    return sites.set_geometry(
        gpd.points_from_xy([370_000, 376_000, 382_000], [390_000, 395_000, 388_000])
    )


def _districts() -> gpd.GeoDataFrame:
    """Two made-up districts carrying the codes of Trafford and Manchester (west and east)."""
    return gpd.GeoDataFrame(
        {"code": [TRAFFORD, MANCHESTER], "name": ["Trafford", "Manchester"]},
        geometry=[box(360_000, 380_000, 380_000, 400_000), box(380_000, 380_000, 400_000, 400_000)],
        crs=27700,
    )


# --------------------------------------------------------------------------- 1. grids


def test_hexagons_leave_approximate_sites_out_and_say_how_many():
    cells = hex_density(_sites(), 500)
    assert int(cells["sites"].sum()) == 1
    assert cells.attrs["approximate_left_out"] == 2
    (note,) = cells.attrs["notes"]
    assert note.startswith(f"2 sites {LEFT_OUT} are left out of these hexagons")
    every = hex_density(_sites(), 500, include_empty=True)
    assert int(every["sites"].sum()) == 1 and every.attrs["approximate_left_out"] == 2
    precise = hex_density(_sites().iloc[:1], 500)
    assert precise.attrs == {"notes": [], "approximate_left_out": 0}


def test_heat_points_leave_approximate_sites_out_and_say_how_many():
    rows = heat_points(_sites())
    assert isinstance(rows, HeatPoints) and isinstance(rows, list)
    assert len(rows) == 1 and rows.approximate_left_out == 2
    assert rows.notes == [
        f"2 sites {LEFT_OUT} are left out of the heat map: a postcode area is far larger "
        "than a hexagon or a kernel, so the site could be anywhere in it"
    ]
    only = heat_points(_sites().iloc[1:2])
    assert only == [] and only.approximate_left_out == 1
    assert only.notes[0].startswith(f"1 site {LEFT_OUT} is left out of the heat map")


def test_the_kernel_density_leaves_approximate_sites_out_and_says_how_many():
    surface = kde_surface(_sites(), cell_m=250, bandwidth_m=500)
    assert surface.total() == pytest.approx(1.0, rel=1e-3)
    assert surface.approximate_left_out == 2
    assert surface.notes[0].startswith(f"2 sites {LEFT_OUT} are left out of the kernel density")
    with pytest.raises(
        InvalidArgumentError,
        match="no located site with a value to smooth.*"
        r"\(2 sites placed only approximately",
    ):
        kde_surface(_sites().iloc[1:], cell_m=250, bandwidth_m=500)


def test_grids_never_count_another_agencys_restricted_approximate_sites():
    # withheld before anything is counted: not even the note's count may include them
    for viewer in (None, "Trafford Council"):
        cells = hex_density(_sites(restricted=True), 500, viewer=viewer)
        assert cells.attrs == {"notes": [], "approximate_left_out": 0}
        assert heat_points(_sites(restricted=True), viewer=viewer).notes == []
        surface = kde_surface(_sites(restricted=True), viewer=viewer)
        assert surface.notes == () and surface.approximate_left_out == 0
    own = hex_density(_sites(restricted=True), 500, viewer=POLICE)
    assert own.attrs["approximate_left_out"] == 2


# --------------------------------------------------------------------------- 2. place summary


def test_the_place_summary_counts_approximate_sites_where_locality_figures_do():
    table = place_summary(_sites(), _districts())
    rows = table.set_index(["locality_code", "sector"])["sites"]
    assert rows[(TRAFFORD, "council")] == 1 and rows[(TRAFFORD, "police")] == 1  # M41
    assert rows[("TOTAL", "all")] == 2  # M16 crosses Trafford and Manchester: not counted
    assert table.attrs["approximate_not_counted"] == 1
    says = [n for n in table.attrs["notes"] if "postcode district" in n]
    assert says == [
        "1 more site is placed only by postcode district or sector and not counted here: the "
        "postcode area is larger than these localities or crosses a district boundary"
    ]


def test_the_place_summary_of_lsoas_reports_every_approximate_site_apart():
    lsoas = _districts().assign(code=["E01006074", "E01006075"], name=["A", "B"])
    table = place_summary(_sites(), lsoas)
    assert int(table.loc[table["locality_code"] == "TOTAL", "sites"].iloc[0]) == 1
    assert table.attrs["approximate_not_counted"] == 2
    assert any(
        n.startswith("2 more sites are placed only by postcode district")
        for n in table.attrs["notes"]
    )
    assert table.attrs["outside_sites"] == 0  # not outside either: counted nowhere


def test_the_place_summary_says_nothing_of_sites_withheld_or_precise():
    precise = place_summary(_sites().iloc[:1], _districts())
    assert precise.attrs["approximate_not_counted"] == 0
    withheld = place_summary(_sites(restricted=True), _districts())
    assert withheld.attrs["approximate_not_counted"] == 0
    assert not any("postcode district" in n for n in withheld.attrs["notes"])
    own = place_summary(_sites(restricted=True), _districts(), viewer=POLICE)
    assert own.attrs["approximate_not_counted"] == 1


# --------------------------------------------------------------------------- 3. print maps


def _pair() -> gpd.GeoDataFrame:
    """Two agencies' sites 100 m apart in Urmston, the police one placed by M41 alone."""
    sites = _sites().iloc[:2].copy()
    return sites.set_geometry(gpd.points_from_xy([376_000, 376_100], [395_000, 395_000]))


def _svg_text(built) -> str:
    """The words on the page, every line of the SVG's text joined by single spaces."""
    buffer = io.BytesIO()
    save_map(built.figure, buffer, format="svg", dpi=150)
    root = ET.fromstring(buffer.getvalue())
    texts = root.iter("{http://www.w3.org/2000/svg}text")
    return " ".join(" ".join(el.itertext()).strip() for el in texts).replace("\n", " ")


def test_a_clusters_map_leaves_approximate_sites_out_and_says_so_on_the_page():
    built = build_map("clusters", _pair(), place="Trafford", drawn_on=date(2026, 12, 5))
    said = f"1 site {LEFT_OUT} left out of the analysis"
    assert said in built.notes
    assert not any(label.startswith("Co-location cluster") for label in built.legend)
    assert "left out of the analysis" in _svg_text(built)  # the legend's title says it
    asked = build_map(
        "clusters", _pair(), place="Trafford", include_approximate=True, drawn_on=date(2026, 12, 5)
    )
    assert "Co-location cluster (1)" in asked.legend
    assert not any("approximately" in note for note in asked.notes)
    assert "left out of the analysis" not in _svg_text(asked)


def test_include_approximate_must_be_true_or_false():
    with pytest.raises(InvalidArgumentError, match="include_approximate='yes' is not valid"):
        build_map("clusters", _pair(), place="Trafford", include_approximate="yes")
    with pytest.raises(InvalidArgumentError, match="include_approximate=1 is not valid"):
        export_pack(_pair(), "Trafford", "district", "unused-pack", include_approximate=1)


def _request() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "request_id": ["R1"],
            "source_ref": ["R1"],
            "agency": ["Manchester University NHS Foundation Trust"],
            "sector": ["health"],
            "space_needed_sqft": [1_000.0],
            "use_class": ["office"],
            "max_distance_m": [5_000.0],
            "needed_by": [""],
            "sensitivity": ["open"],
            "locality": [""],
            "location_precision": ["point"],
        },
        geometry=[Point(376_050, 395_000)],
        crs=27700,
    )


def _offering() -> gpd.GeoDataFrame:
    sites = _pair()
    sites["surplus_sqft"] = [0.0, 5_000.0]  # only the approximate police site offers space
    sites["use_class"] = "office"
    return sites


def test_a_matches_map_leaves_approximate_offers_out_and_says_so_on_the_page():
    built = build_map("matches", _offering(), place="Trafford", requests=_request())
    said = f"Left out as {LEFT_OUT}: 1 offer."
    assert [note for note in built.notes if said in note]  # once: the plan's message says it
    assert len([note for note in built.notes if "approximately" in note]) == 1
    assert "left out as placed only approximately" in _svg_text(built)
    assert not any(label.startswith("Offer to request") for label in built.legend)
    asked = build_map(
        "matches", _offering(), place="Trafford", requests=_request(), include_approximate=True
    )
    assert any(label.startswith("Offer to request (1 assignments") for label in asked.legend)
    assert not any("approximately" in note for note in asked.notes)


def test_a_map_pack_leaves_approximate_sites_out_of_its_analyses_unless_asked(tmp_path):
    index = export_pack(
        _offering(),
        "Trafford",
        "district",
        tmp_path / "pack",
        requests=_request(),
        format="png",
        dpi=150,
    )
    assert f"1 site {LEFT_OUT} left out of the analysis" in index.notes
    assert [note for note in index.notes if f"Left out as {LEFT_OUT}: 1 offer." in note]
    clusters = (tmp_path / "pack" / "tables" / "clusters.csv").read_text().splitlines()
    assert len(clusters) == 1  # the header: no cluster
    asked = export_pack(
        _offering(),
        "Trafford",
        "district",
        tmp_path / "asked",
        requests=_request(),
        format="png",
        dpi=150,
        include_approximate=True,
    )
    assert not any("approximately" in note for note in asked.notes)
    assert len((tmp_path / "asked" / "tables" / "clusters.csv").read_text().splitlines()) == 2
    plan = (tmp_path / "asked" / "tables" / "plan.csv").read_text()
    assert "R1" in plan


def _store(tmp_path):
    store = tmp_path / "estate.gpkg"
    import_register(
        b"Name,Postcode\nLibrary,M41 0TA\n",
        name="council.csv",
        agency="Trafford Council",
        sector="council",
        store=store,
    )
    import_register(  # a police site near the council's, known only by its outward code
        b"Name,Postcode\nStation,M41\n",
        name="police.csv",
        agency=POLICE,
        sector="police",
        store=store,
    )
    return store


def test_export_map_and_export_pack_take_include_approximate(tmp_path, capsys):
    store = _store(tmp_path)
    base = ["export-map", "--kind", "clusters", "--place", "Trafford", "--store", str(store)]
    assert main([*base, "--out", str(tmp_path / "left.svg")]) == 0
    out = capsys.readouterr().out
    assert f"1 site {LEFT_OUT} left out of the analysis" in out
    assert main([*base, "--out", str(tmp_path / "in.svg"), "--include-approximate"]) == 0
    assert "left out of the analysis" not in capsys.readouterr().out
    pack = [
        "export-pack",
        "--place",
        "Trafford",
        "--level",
        "district",
        "--store",
        str(store),
        "--format",
        "png",
        "--dpi",
        "150",
    ]
    assert main([*pack, "--out", str(tmp_path / "pack")]) == 0
    assert "left out of the analysis" in capsys.readouterr().out
    assert main([*pack, "--out", str(tmp_path / "pack2"), "--include-approximate"]) == 0
    assert "left out of the analysis" not in capsys.readouterr().out


@pytest.fixture
def fresh_caches():
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.mark.usefixtures("fresh_caches")
def test_the_export_page_asks_before_including_approximate_sites(tmp_path, monkeypatch):
    from pathlib import Path

    from assetmap.app import export_page
    from assetmap.app.navigation import page_path
    from assetmap.store import STORE_ENV
    from tests.app.conftest import run_app, shown

    monkeypatch.setenv(STORE_ENV, str(_store(tmp_path)))
    root = Path(__file__).resolve().parents[1]
    at = run_app(AppTest.from_file(str(root / "streamlit_app.py"), default_timeout=300))
    at.switch_page(str(page_path("export").relative_to(root)))
    run_app(at)
    keys = [c.key for c in at.checkbox]
    assert export_page.IMAGE_APPROXIMATE_KEY not in keys  # a sites map runs no analysis
    at.selectbox(key=export_page.IMAGE_KIND_KEY).set_value("clusters")
    run_app(at)
    box_ = at.checkbox(key=export_page.IMAGE_APPROXIMATE_KEY)
    assert box_.value is False
    captions = shown(" ".join(c.value for c in at.caption))
    assert f"1 site {LEFT_OUT} is left out of the co-location clusters" in captions
    box_.check()
    run_app(at)
    assert "left out of the co-location clusters" not in shown(
        " ".join(c.value for c in at.caption)
    )
    at.button(key="export_image_prepare").click()
    run_app(at)
    labels = [b.proto.label for b in at.get("download_button")]
    assert any(label.startswith("Download assetmap_clusters_") for label in labels)


def test_image_bytes_passes_include_approximate(fresh_caches):
    from assetmap.app import export_page

    place = export_page.static.resolve_place("Trafford")
    left = export_page.image_bytes(
        ("a",), "clusters", "svg", "A4", False, 150, _pair(), None, place
    )
    asked = export_page.image_bytes(
        ("a",),
        "clusters",
        "svg",
        "A4",
        False,
        150,
        _pair(),
        None,
        place,
        include_approximate=True,
    )
    assert b"left out of the analysis" in left
    assert b"left out of the analysis" not in asked
    assert b"cluster-hulls" in asked and b"cluster-hulls" not in left
