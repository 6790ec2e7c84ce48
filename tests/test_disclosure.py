"""The attacker's tests: another agency's restricted site cannot be inferred.

The method is that of twin estates. One estate holds a restricted custody suite
of Kent Police; its twin is the same estate without it. An attacker (another
agency, then nobody's agency) asks each for everything assetmap gives: tables,
totals, stepped filters, levels, boundary sets of 10 m and 1 m cells, hexagons,
heat and kernel surfaces, clusters, matches, print maps, the map pack, the
command line's output and the app's pages. Whatever it is given from the one
estate is exactly what it is given from the twin, so nothing it holds, however
combined (differenced, stepped, drawn over), can tell the site's presence,
position or figures. The owner's outputs do change: the tests can fail.
"""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from assetmap import access, density, user_places
from assetmap.access import Viewer, as_viewer
from assetmap.cli import main
from assetmap.colocation import colocation_clusters
from assetmap.errors import PermissionDeniedError
from assetmap.maps.pack import export_pack
from assetmap.maps.static import build_map, save_map
from assetmap.matching import allocate, find_candidates
from assetmap.registers.importer import import_register, remove_register
from assetmap.store import STORE_ENV, open_store
from tests.app.conftest import fresh_caches, write_store  # noqa: F401 (a fixture)
from tests.maps.factories import make_sites

OWNER = "Kent Police"
#: The attackers: another agency (as a name and signed in), and nobody's agency.
ATTACKERS = [
    None,
    "Kent and Medway NHS Trust",
    Viewer(user="nurse@nhs.example", agency="Kent and Medway NHS Trust", signed_in=True),
]
#: The custody suite: in Maidstone, with figures that appear nowhere else.
SECRET_XY = (576_123.0, 155_987.0)
SECRET = {
    "site_id": "S-SECRET",
    "name": "Custody suite",
    "agency": OWNER,
    "sector": "police",
    "uprn": "200003692919",
    "postcode": "ME15 6AP",
    "floor_area_sqft": 12_345.0,
    "surplus_sqft": 4_321.0,
    "running_cost_gbp": 67_890.0,
    "sensitivity": "restricted",
}
DAY = pd.Timestamp("2026-01-05").date()


def _with_secret(sites: gpd.GeoDataFrame, precision: str = "point") -> gpd.GeoDataFrame:
    """``sites`` with the custody suite in the middle, numbered as the store numbers rows.

    ``precision`` ``"postcode district"``: the suite placed only by its outward code (ME15),
    at the same point, so the notes and counts of approximate sites are attacked too.
    """
    row = sites.iloc[[0]].copy()
    for column, value in SECRET.items():
        row[column] = value
    row["location_precision"] = precision
    if precision == "postcode district":
        row["postcode"] = "ME15"
    row["source_owner"] = OWNER
    row["source_row"] = 27
    row = row.set_geometry([Point(*SECRET_XY)], crs=sites.crs)
    middle = len(sites) // 2
    return pd.concat([sites.iloc[:middle], row, sites.iloc[middle:]], ignore_index=True)


@pytest.fixture(scope="module", params=["point", "postcode district"])
def twins(request) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The estate with the custody suite, and its twin without it, as the store gives them:
    rows numbered from 0 in store order, so the suite moves every label after it; the suite
    placed precisely, then only by its outward code."""
    base = make_sites(240, seed=11)
    base["surplus_sqft"] = np.where(np.arange(len(base)) % 4 == 0, 5_000.0, 0.0)
    base["running_cost_gbp"] = 1_000.0 + np.arange(len(base))
    base["uprn"] = [f"10000{i:05d}" for i in range(len(base))]
    base["source_owner"] = base["agency"]
    base["location_precision"] = "point"
    return _with_secret(base, request.param), base


#: The cell of :func:`_grid` that holds the site (the middle one).
MIDDLE_CELL = "C012"


def _grid(cell_m: float, n: int = 5) -> gpd.GeoDataFrame:
    """A boundary set a viewer could draw: n x n square cells of ``cell_m``, the site in the
    middle one."""
    x0, y0 = SECRET_XY[0] - cell_m * n / 2, SECRET_XY[1] - cell_m * n / 2
    cells = [
        box(x0 + i * cell_m, y0 + j * cell_m, x0 + (i + 1) * cell_m, y0 + (j + 1) * cell_m)
        for i in range(n)
        for j in range(n)
    ]
    return gpd.GeoDataFrame(
        {"code": [f"C{k:03d}" for k in range(len(cells))], "name": "cell"},
        geometry=cells,
        crs=27700,
    )


def _same(a, b, *, labels: bool = True) -> None:
    """``a`` and ``b`` are the same output: frames equal (with their row labels, unless
    ``labels`` is false), arrays equal, everything else ==."""
    if isinstance(a, pd.DataFrame) and not labels:
        pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))
    elif isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b)
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b


def _no_secret_figure(values) -> None:
    """None of the site's own figures appears among ``values``."""
    flat = pd.to_numeric(pd.Series(np.ravel(values)), errors="coerce").dropna().to_numpy()
    for figure in (SECRET["floor_area_sqft"], SECRET["surplus_sqft"], SECRET["running_cost_gbp"]):
        assert not np.isclose(flat, figure).any()


# --------------------------------------------------------------------------- tables and totals


def _density_outputs(sites, viewer):
    out = {}
    for name, localities in {
        "district": "district",
        "lsoa": "lsoa",
        "grid_10m": _grid(10.0),
        "grid_1m": _grid(1.0),
    }.items():
        result = density.density_by_locality(sites, localities, viewer=viewer)
        out[name] = result.metrics
        out[f"{name}_outside"] = result.n_outside
        out[f"{name}_edge"] = result.n_on_boundary
        out[f"{name}_notes"] = result.notes
        out[f"{name}_summary"] = density.place_summary(sites, localities, viewer=viewer)
    return out


@pytest.mark.parametrize("viewer", ATTACKERS, ids=["nobody", "other_agency", "signed_in"])
def test_total_minus_visible_levels_and_self_drawn_cells_give_nothing(twins, viewer):
    secret, twin = twins
    seen, unseen = _density_outputs(secret, viewer), _density_outputs(twin, viewer)
    for key in seen:
        _same(seen[key], unseen[key])
    for name in ("district", "lsoa", "grid_10m", "grid_1m"):
        summary = seen[f"{name}_summary"]
        total = summary[summary["locality_code"] == "TOTAL"].iloc[0]
        body = summary[summary["locality_code"] != "TOTAL"]
        for column in ("sites", "floor_area_sqft", "running_cost_gbp", "surplus_sqft"):
            # the total is the sum of the rows shown: subtracting leaves nothing
            assert total[column] == pytest.approx(body[column].sum())
        _no_secret_figure(summary.select_dtypes("number").to_numpy())
        assert not (summary.astype(str) == "fewer than 5").any().any()


def test_the_owner_sees_its_own_site_so_these_tests_can_fail(twins):
    secret, twin = twins
    seen, unseen = _density_outputs(secret, OWNER), _density_outputs(twin, OWNER)
    # a site placed by its outward code counts at district level only (ME15: Maidstone)
    level = "grid_10m" if (secret["location_precision"] == "point").all() else "district"
    cells = seen[level]
    assert int(cells["sites"].sum()) == int(unseen[level]["sites"].sum()) + 1
    assert int(cells["restricted_sites"].sum()) == 1
    with pytest.raises(AssertionError):
        _same(seen["district_summary"], unseen["district_summary"])


@pytest.mark.parametrize("viewer", ATTACKERS, ids=["nobody", "other_agency", "signed_in"])
def test_stepped_filters_give_nothing(twins, viewer):
    """A filter stepped by one (sector by sector, surplus at and around the site's figure)."""
    secret, twin = twins
    steps = [("sector", s) for s in ("police", "health", "council")]
    steps += [("surplus", t) for t in (4_320.0, 4_321.0, 4_322.0, 0.0)]
    for kind, value in steps:

        def pick(frame, kind=kind, value=value):
            keep = frame["sector"] == value if kind == "sector" else frame["surplus_sqft"] >= value
            return frame[keep]

        for localities in ("district", _grid(10.0)):
            _same(
                density.place_summary(pick(secret), localities, viewer=viewer),
                density.place_summary(pick(twin), localities, viewer=viewer),
            )


@pytest.mark.parametrize("viewer", ATTACKERS, ids=["nobody", "other_agency", "signed_in"])
def test_hexagons_heat_and_kernel_surfaces_give_nothing(twins, viewer):
    secret, twin = twins
    for size in (10.0, 1_000.0):
        _same(
            density.hex_density(secret, size, viewer=viewer),
            density.hex_density(twin, size, viewer=viewer),
        )
    _same(density.heat_points(secret, viewer=viewer), density.heat_points(twin, viewer=viewer))
    narrow = {"cell_m": 50.0, "bandwidth_m": 25.0}  # a kernel narrow enough to point
    a = density.kde_surface(secret, viewer=viewer, **narrow)
    b = density.kde_surface(twin, viewer=viewer, **narrow)
    _same(a.values, b.values)
    assert a.bounds == b.bounds


# --------------------------------------------------------------------------- analyses


def _requests_near_the_site(sites) -> gpd.GeoDataFrame:
    requests = sites.iloc[:2].copy()
    requests = requests.assign(
        request_id=["R1", "R2"],
        space_needed_sqft=[4_321.0, 500.0],
        max_distance_m=[2_000.0, 50_000.0],
        needed_by="",
        locality="",
        agency="Kent and Medway NHS Trust",
        sensitivity="open",
    )
    return requests.set_geometry(
        [Point(SECRET_XY[0] + 50, SECRET_XY[1]), Point(SECRET_XY[0], SECRET_XY[1] + 50)],
        crs=sites.crs,
    )


@pytest.mark.parametrize("viewer", ATTACKERS, ids=["nobody", "other_agency", "signed_in"])
def test_what_a_viewer_is_given_is_the_same_to_the_row_label_and_provenance(twins, viewer):
    """Every face (pages, command line, maps, packs) starts from ``visible_sites``: the
    same frame from both estates, row labels included (store positions would count the
    rows withheld before each), and with other agencies' register rows and file hashes
    blank (gaps in the row numbers would place withheld rows in their register)."""
    secret, twin = twins
    a, b = access.visible_sites(secret, viewer), access.visible_sites(twin, viewer)
    _same(a, b)
    assert list(a.index) == list(range(len(a)))
    mine = a["source_owner"] == getattr(as_viewer(viewer), "agency", None)
    assert a.loc[~mine, "source_row"].isna().all() and (a.loc[~mine, "source_sha256"] == "").all()
    assert a.loc[mine, "source_row"].notna().all()
    owner = access.visible_sites(secret, OWNER)
    assert int(owner.loc[owner["site_id"] == SECRET["site_id"], "source_row"].iloc[0]) == 27


@pytest.mark.parametrize("viewer", ATTACKERS, ids=["nobody", "other_agency", "signed_in"])
def test_clusters_matches_and_their_messages_give_nothing(twins, viewer):
    secret, twin = twins
    shown = access.visible_sites(secret, viewer), access.visible_sites(twin, viewer)
    for distance in (50.0, 400.0, 5_000.0):
        # the engine given the store's frames withholds the site from every value...
        a = colocation_clusters(secret, distance=distance, viewer_agency=viewer)
        b = colocation_clusters(twin, distance=distance, viewer_agency=viewer)
        _same(a.message, b.message)
        _same(a.clusters.drop(columns="hub_index"), b.clusters.drop(columns="hub_index"))
        _same(a.members, b.members, labels=False)
        assert a.sites_considered == b.sites_considered
        # ...and given what a face gives it, the results are the same to the row label
        a, b = (colocation_clusters(s, distance=distance, viewer_agency=viewer) for s in shown)
        _same(a.clusters, b.clusters)
        _same(a.members, b.members)
    requests = _requests_near_the_site(twin)
    a = find_candidates(requests, secret, viewer_agency=viewer, as_of=DAY)
    b = find_candidates(requests, twin, viewer_agency=viewer, as_of=DAY)
    _same(a.message, b.message)
    _same(a.requests, b.requests)
    _same(allocate(a).message, allocate(b).message)
    a, b = (find_candidates(requests, s, viewer_agency=viewer, as_of=DAY) for s in shown)
    _same(a.candidates, b.candidates)
    _same(allocate(a).assignments, allocate(b).assignments)


# --------------------------------------------------------------------------- print maps and packs


def _svg_text(built) -> str:
    buffer = io.BytesIO()
    save_map(built.figure, buffer, format="svg", dpi=150)
    text = buffer.getvalue().decode("utf-8")
    return " ".join(re.findall(r"<!-- (.*?) -->", text))  # matplotlib writes each text here


@pytest.mark.parametrize("viewer", ATTACKERS[:2], ids=["nobody", "other_agency"])
def test_print_maps_of_any_place_or_cell_say_nothing(twins, viewer):
    secret, twin = twins
    lsoa = "Maidstone"  # a district; the LSOA and the viewer's own cells follow
    for kind, place, localities in [
        ("sites", lsoa, None),
        ("density", lsoa, "lsoa"),
        ("density", None, _grid(10.0)),
        ("clusters", lsoa, None),
    ]:
        options = {"place": place, "drawn_on": DAY, "viewer": viewer, "tiles": None}
        if localities is not None:
            options["localities"] = localities
        a, b = build_map(kind, secret, **options), build_map(kind, twin, **options)
        assert (a.sites_drawn, a.legend, a.notes) == (b.sites_drawn, b.legend, b.notes), kind
        assert _svg_text(a) == _svg_text(b), kind


def _pack_files(folder: Path) -> dict[str, str]:
    """Every table and the index of a pack, as text."""
    return {
        str(p.relative_to(folder)): p.read_text(encoding="utf-8")
        for p in sorted(folder.rglob("*.csv"))
    }


def test_the_map_pack_says_nothing(twins, tmp_path):
    secret, twin = twins
    options = {"format": "svg", "dpi": 150, "drawn_on": DAY, "tiles": None, "viewer": None}
    a = export_pack(secret, "Maidstone", "district", tmp_path / "a", **options)
    b = export_pack(twin, "Maidstone", "district", tmp_path / "b", **options)
    assert a.notes == b.notes
    assert _pack_files(a.folder) == _pack_files(b.folder)
    for name in ("maps/01_sites.svg", "maps/02_density.svg"):
        assert (a.folder / name).read_bytes() == (b.folder / name).read_bytes(), name


# ------------------------------------------------------------------ the store: flags, reports


def _probe(uprn: str) -> bytes:
    return (
        "Site name,UPRN,Postcode,Easting,Northing,GIA (sq ft)\n"
        f"Probe,{uprn},ME15 6AP,576100,155900,100\n"
        f"Custody suite,,ME15 6AP,576100,155900,100\n"
    ).encode()


def _stores(tmp_path, twins) -> tuple[Path, Path]:
    secret, twin = twins
    a = write_store(tmp_path / "secret.gpkg", secret)
    b = write_store(tmp_path / "twin.gpkg", twin)
    return a, b


def test_shared_site_probes_by_uprn_name_and_postcode_flag_nothing(tmp_path, twins):
    attacker = ATTACKERS[2]
    reports, flags = [], []
    for path in _stores(tmp_path, twins):
        report = import_register(
            _probe(SECRET["uprn"]), name="probe.csv", store=path, viewer=attacker, sector="health"
        )
        sites = open_store(path).sites()
        reports.append((report.shared_sites, report.reasons, report.accepted))
        flags.append(sites.loc[sites["source_file"] == "probe.csv", "shared_group"].tolist())
    assert reports[0] == reports[1] and flags[0] == flags[1] == ["", ""]


def test_the_owner_is_not_flagged_by_a_restricted_twin_either(tmp_path, twins):
    """The flag is never set through a restricted site, even for its own agency's probe."""
    path = _stores(tmp_path, twins)[0]
    import_register(
        _probe(SECRET["uprn"]), name="probe.csv", store=path, agency=OWNER, sector="police"
    )
    sites = open_store(path).sites()
    assert (sites.loc[sites["sensitivity"] == "restricted", "shared_group"] == "").all()


def test_a_look_alike_agency_cannot_probe_a_restricted_sites_reference(tmp_path):
    """Site ids compare agencies by their letters and digits, so "Kent-Police" makes the
    ids "Kent Police" does; its import is told of no duplicate it may not see."""
    header = "Property reference,Site name,Postcode,Easting,Northing,Sensitivity\n"
    custody = "KP-CUSTODY-1,Custody suite,ME15 6AP,576123,155987,restricted\n"
    office = "KP-OFFICE-1,Police office,ME15 6AP,576000,155900,\n"
    probe = (header + "KP-CUSTODY-1,Probe,ME15 6AP,576100,155900,\n").encode()
    look_alike = Viewer(user="x@example", agency="Kent-Police", signed_in=True)
    outcomes = []
    for name, rows in (("secret", office + custody), ("twin", office)):
        path = tmp_path / f"{name}.gpkg"
        import_register(
            (header + rows).encode(), name="kp.csv", store=path, agency=OWNER, sector="police"
        )
        report = import_register(
            probe, name="probe.csv", store=path, viewer=look_alike, sector="police"
        )
        quarantine = access.visible_quarantine(open_store(path).quarantine(), look_alike)
        outcomes.append((report.accepted, report.reasons, quarantine["reason"].tolist()))
    assert outcomes[0] == outcomes[1] == (1, {}, [])
    # the clash is real: the local user, who holds the file, is told of it
    check = tmp_path / "check.gpkg"
    import_register(
        (header + office + custody).encode(),
        name="kp.csv",
        store=check,
        agency=OWNER,
        sector="police",
    )
    told = import_register(
        probe, name="probe.csv", store=check, agency="Kent-Police", sector="police"
    )
    assert told.reasons == {"duplicate": 1}


def test_importing_as_another_agency_is_refused_and_the_store_is_unchanged(tmp_path, twins):
    path = _stores(tmp_path, twins)[0]
    before = path.read_bytes()
    with pytest.raises(PermissionDeniedError, match=r"may import rows only as Kent and Medway"):
        import_register(
            _probe(SECRET["uprn"]), name="x.csv", store=path, viewer=ATTACKERS[2], agency=OWNER
        )
    assert path.read_bytes() == before


def test_another_agencys_source_name_replaces_nothing_of_theirs(tmp_path, twins):
    path = _stores(tmp_path, twins)[0]
    store = open_store(path)
    before = store.sites()
    name = str(before["source_file"].iloc[0])
    report = import_register(_probe("1"), name=name, store=path, viewer=ATTACKERS[2])
    assert report.replaced_rows == 0
    after = open_store(path).sites()
    theirs = after[after["source_owner"] != ATTACKERS[2].agency]
    pd.testing.assert_frame_equal(
        theirs.drop(columns="shared_group").reset_index(drop=True),
        before.drop(columns="shared_group").reset_index(drop=True),
    )
    before_bytes = path.read_bytes()
    with pytest.raises(PermissionDeniedError, match=r"you may remove only your own agency's"):
        remove_register(name, store=path, owner="", viewer=ATTACKERS[2])
    assert path.read_bytes() == before_bytes
    # its own source of that name is its to remove, and only that one
    assert remove_register(name, store=path, viewer=ATTACKERS[2]) == 2
    assert len(open_store(path).sites()) == len(before)


def test_a_reopened_import_report_shows_only_that_imports_rows(tmp_path, monkeypatch):
    from assetmap.app import registers_page, state

    path = tmp_path / "estate.gpkg"
    bad = "Site name,Easting,Northing\nNo place,,\n"
    mine = import_register(
        bad.encode(), name="estate.csv", store=path, viewer=ATTACKERS[2], sector="health"
    )
    police = Viewer(user="pc@police.example", agency=OWNER, signed_in=True)
    theirs = "Site name,Easting,Northing,Sensitivity\nCustody suite,,,restricted\n"
    import_register(theirs.encode(), name="estate.csv", store=path, viewer=police, sector="police")
    monkeypatch.setattr(state, "quarantine", lambda: open_store(path).quarantine())
    assert len(open_store(path).quarantine()) == 2  # the store holds both agencies' rows
    rows = registers_page.quarantine_table(mine)
    assert len(rows) == 1  # only this import's row, not Kent Police's
    assert "Custody suite" not in rows.to_string() and "restricted" not in rows.to_string()


# --------------------------------------------------------------------------- the command line


def _cli(argv: list[str], capsys, store: Path) -> str:
    assert main([*argv, "--store", str(store)]) == 0
    return capsys.readouterr().out.replace(str(store), "STORE")


def test_the_command_line_says_the_same_of_both_estates(tmp_path, twins, capsys, monkeypatch):
    monkeypatch.delenv("ASSETMAP_AGENCY", raising=False)
    a, b = _stores(tmp_path, twins)
    for argv in (
        ["summary", "--json"],
        ["summary"],
        ["density", "--level", "lsoa", "--metric", "floor_area_sqft", "--per", "total"],
        ["colocate", "--distance", "5000"],
    ):
        assert _cli(argv, capsys, a) == _cli(argv, capsys, b), argv
    cells = tmp_path / "cells.geojson"
    _grid(10.0).to_file(cells, driver="GeoJSON")
    argv = ["density", "--level", "cell", "--boundaries", str(cells), "--per", "total"]
    assert _cli(argv, capsys, a) == _cli(argv, capsys, b)
    # the files written: clusters and their members, and the plan (every column, labels too)
    from assetmap.sample import sample_registers

    requests = {r["path"].name: r["path"] for r in sample_registers()}["space_requests.csv"]
    written = []
    for store in (a, b):
        folder = tmp_path / f"out_{store.stem}"
        folder.mkdir()
        _cli(["colocate", "--distance", "5000", "--out", str(folder / "c.csv")], capsys, store)
        argv = ["match", "--requests", str(requests), "--out", str(folder / "plan.gpkg")]
        _cli(argv, capsys, store)
        _cli([*argv[:3], "--out", str(folder / "plan.csv")], capsys, store)
        files = {p.name: p.read_bytes() for p in folder.glob("*.csv")}
        layers = {
            layer: gpd.read_file(folder / "plan.gpkg", layer=layer)
            for layer, _ in gpd.list_layers(folder / "plan.gpkg").values
        }
        written.append((files, layers))
    (files_a, layers_a), (files_b, layers_b) = written
    assert sorted(files_a) == ["c.csv", "c_members.csv", "plan.csv"]
    assert files_a == files_b
    assert sorted(layers_a) == sorted(layers_b) and layers_a
    for layer, frame in layers_a.items():
        _same(frame, layers_b[layer])
    monkeypatch.setenv("ASSETMAP_AGENCY", OWNER)  # the owner's summary does change
    assert _cli(["summary", "--json"], capsys, a) != _cli(["summary", "--json"], capsys, b)


# --------------------------------------------------------------------------- the app


def _page_text(at) -> tuple[str, list[pd.DataFrame]]:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    return "\n".join(map(str, parts)), [d.value for d in at.dataframe]


@pytest.mark.usefixtures("fresh_caches")
def test_the_density_and_registers_pages_say_the_same_of_both_estates(tmp_path, twins, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from assetmap.app import shell
    from assetmap.app.navigation import page_path
    from tests.app.conftest import run_app

    root = Path(__file__).resolve().parents[1]
    monkeypatch.delenv("ASSETMAP_AGENCY", raising=False)
    seen = []
    for path in _stores(tmp_path, twins):
        copy = tmp_path / "app" / path.name
        copy.parent.mkdir(exist_ok=True)
        shutil.copyfile(path, copy)
        monkeypatch.setenv(STORE_ENV, str(copy))
        # boundary sets the attacker drew, kept in the store as the sidebar's upload keeps
        # them: as the Density page's localities and then as the place (the cell of the site)
        for name, cell_m in (("cells_10m", 10.0), ("cells_1m", 1.0)):
            user_places.add_boundary_set(open_store(copy), name, _grid(cell_m))
        import streamlit as st

        st.cache_data.clear()
        pages = []
        at = run_app(AppTest.from_file(str(root / "streamlit_app.py"), default_timeout=300))
        for page in ("density", "registers", "colocation"):
            at.switch_page(str(page_path(page).relative_to(root)))
            run_app(at)
            text, frames = _page_text(at)
            pages.append((page, text.replace(copy.name, "STORE"), frames))
        for level in ("boundary set cells_10m", "boundary set cells_1m"):
            at.switch_page(str(page_path("density").relative_to(root)))
            run_app(at)
            at.selectbox(key="density_level").set_value(level)
            run_app(at)
            pages.append((f"density by {level}", *_page_text(at)))
            at.selectbox(key=shell.LEVEL_KEY).set_value(level)
            run_app(at)
            at.selectbox(key=shell.PLACE_KEY).set_value(MIDDLE_CELL)
            run_app(at)
            pages.append((f"density of the middle cell of {level}", *_page_text(at)))
            assert "of cell" in pages[-1][1], "the place is the attacker's own cell"
            at.selectbox(key=shell.LEVEL_KEY).set_value("")
            run_app(at)
        seen.append(pages)
    for (page, text_a, frames_a), (_, text_b, frames_b) in zip(*seen, strict=True):
        assert frames_a and text_a, f"the {page} page drew nothing to compare"
        assert text_a == text_b, page
        assert len(frames_a) == len(frames_b), page
        for a, b in zip(frames_a, frames_b, strict=True):
            drop = [c for c in ("SHA-256", "imported at") if c in a.columns]
            _same(a.drop(columns=drop), b.drop(columns=drop))


def test_no_file_of_figures_names_a_count_of_what_was_withheld(twins):
    """The words "restricted" and "fewer than" appear in no attacker's table."""
    secret, _ = twins
    summary = density.place_summary(secret, _grid(10.0))
    text = summary.to_csv()
    assert "fewer than" not in text and "suppressed" not in text
    assert json.dumps(summary["restricted_sites"].tolist()) == json.dumps([0] * len(summary))
