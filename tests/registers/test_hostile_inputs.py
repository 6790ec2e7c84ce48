"""Hostile and broken register files: each gets one clear message, and the store is safe.

Every file is made here, from fixed seeds (nothing big is committed). For each,
:func:`import_register` into a copy of a small store either raises the project's
own error with a message a person can act on (and the store file is byte for byte
as it was, with no stray files beside it), or returns a report that says what
happened to the odd rows (and only that source changed in the store).
:mod:`tests.app.test_hostile_uploads` feeds the same files to the app.
"""

from __future__ import annotations

import csv
import http.server
import io
import json
import random
import re
import shutil
import sqlite3
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import Point

from assetmap.errors import (
    AssetmapError,
    InvalidArgumentError,
    RegisterReadError,
    UnsafeArchiveError,
)
from assetmap.registers import read
from assetmap.registers.importer import ImportReport, import_register
from assetmap.registers.read import read_register
from assetmap.store import open_store
from tests.servers import local_http_server

ROOT = Path(__file__).resolve().parents[2]
BASE_REGISTER = ROOT / "sample_estates" / "kent_fire_rescue_stations.csv"
HOSTILE_TEXT = "<script>alert(1)</script><img src=x onerror=alert(2)> ${x} `y`"
FORMULAS = ["=cmd|' /C calc'!A0", "+SUM(1,2)", "-2+3", "@SUM(A1)", '=HYPERLINK("http://x","y")']


@dataclass(frozen=True)
class Case:
    """One hostile file: how to make it, and what must come of importing it.

    ``error``/``match`` for a file refused as a whole; otherwise ``reason`` (a
    quarantine reason code some row must have) and/or ``note`` (a regex one of
    the report's notes must match), and ``check`` for anything more.
    """

    name: str
    make: Callable[[str], bytes]  # given the URL of a local server that must never be hit
    error: type[AssetmapError] | None = None
    match: str = ""
    reason: str | None = None
    note: str | None = None
    check: Callable[[ImportReport, pd.DataFrame], None] | None = None
    max_rows: int | None = None


def _csv(rows: list[list[str]], *, encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buf.getvalue().encode(encoding)


HEADER = ["Site name", "Postcode", "Latitude", "Longitude", "Agency", "Sector", "GIA (sq ft)"]


def _sites(n: int = 3, **cells: list[str]) -> list[list[str]]:
    """A small valid register (Maidstone, lat/lon), with some columns replaced."""
    rows = [HEADER]
    for i in range(n):
        row = [f"Site {i}", "ME14 1XX", f"{51.27 + i / 1000:.4f}", f"{0.52 + i / 1000:.4f}"]
        rows.append([*row, "Kent Police", "police", str(1000 + i)])
    for column, values in cells.items():
        at = HEADER.index(column.replace("_", " "))
        for i, value in enumerate(values):
            rows[i + 1][at] = value
    return rows


def _zip(members: dict[str, bytes], *, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


def _shapefile_parts() -> dict[str, bytes]:
    import tempfile

    frame = gpd.GeoDataFrame(
        {"name": ["Depot", "Hall"], "postcode": ["ME14 1XX", "TN1 1AA"]},
        geometry=[Point(576000, 156000), Point(558300, 139100)],
        crs="EPSG:27700",
    )
    with tempfile.TemporaryDirectory() as folder:
        frame.to_file(Path(folder) / "assets.shp")
        return {p.name: p.read_bytes() for p in Path(folder).iterdir()}


def _shapefile_without(suffix: str) -> bytes:
    parts = _shapefile_parts()
    return _zip({f"assets/{n}": b for n, b in parts.items() if not n.endswith(suffix)})


def _feature(geometry: dict, name: str = "Hall") -> dict:
    props = {"name": name, "agency": "Kent Police", "sector": "police"}
    return {"type": "Feature", "properties": props, "geometry": geometry}


def _geojson(features: list[dict], **top) -> bytes:
    return json.dumps({"type": "FeatureCollection", **top, "features": features}).encode()


def _point(lon: float = 0.52, lat: float = 51.27) -> dict:
    return {"type": "Point", "coordinates": [lon, lat]}


def _gpkg(
    edit: Callable[[sqlite3.Connection], None] | None = None,
    *,
    geometry: bool = True,
    crs: str = "EPSG:27700",
) -> bytes:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.gpkg"
        table = pd.DataFrame(
            {
                "name": ["Depot", "Hall"],
                "postcode": ["ME14 1XX", "TN1 1AA"],
                "agency": "Kent Police",
                "sector": "police",
            }
        )
        if geometry:
            table = gpd.GeoDataFrame(
                table, geometry=[Point(576000, 156000), Point(558300, 139100)], crs=crs
            )
        pyogrio.write_dataframe(table, path, layer="sites", driver="GPKG")
        if edit is not None:
            with sqlite3.connect(path) as db:
                edit(db)
            db.close()
        return path.read_bytes()


def _srs_is_a_url(url: str) -> Callable[[sqlite3.Connection], None]:
    def edit(db: sqlite3.Connection) -> None:
        db.execute(
            "UPDATE gpkg_spatial_ref_sys SET definition = ? WHERE srs_id = 27700",
            (f"{url}/gpkg-srs",),
        )

    return edit


def _xlsx_bomb() -> bytes:
    """An XLSX-shaped archive whose shared strings expand 20 MB from a few kB."""
    return _zip(
        {
            "[Content_Types].xml": b"<Types/>",
            "xl/workbook.xml": b"<workbook/>",
            "xl/sharedStrings.xml": b"<sst>" + b"<si><t>A</t></si>" * 1_300_000 + b"</sst>",
        }
    )


def _real_xlsx() -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    for row in _sites(5):
        book.active.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _noise(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


def _names_stored_verbatim(values: list[str]) -> Callable[[ImportReport, pd.DataFrame], None]:
    def check(report: ImportReport, sites: pd.DataFrame) -> None:
        mine = sites[sites["source_file"] == report.source_file]
        assert set(values) <= set(mine["name"]), "text must be stored exactly as written"

    return check


def _accepted(n: int) -> Callable[[ImportReport, pd.DataFrame], None]:
    def check(report: ImportReport, sites: pd.DataFrame) -> None:
        assert report.accepted == n, report.summary()

    return check


CASES: list[Case] = [
    # --- nothing, noise and not-a-table
    Case("empty.csv", lambda url: b"", RegisterReadError, "the file is empty"),
    Case("blank.csv", lambda url: b" \r\n\t\n" * 50, RegisterReadError, "the file is empty"),
    Case("noise.csv", lambda url: _noise(1, 64_000), RegisterReadError, "it is binary"),
    Case("header_only.csv", lambda url: _csv([HEADER]), RegisterReadError, "header but no rows"),
    Case(
        "page.csv",
        lambda url: b"<!DOCTYPE html><html><script>alert(1)</script></html>",
        RegisterReadError,
        "looks like HTML or XML",
    ),
    Case(
        "prose.txt",
        lambda url: b"Dear estates officer. Here is no table at all\n" * 3,
        RegisterReadError,
        "no comma, tab, semicolon",
    ),
    Case(
        "unbalanced_quote.csv",
        lambda url: b'name,postcode\n"A,TN1 1AA\nB,ME14 1XX\n',
        RegisterReadError,
        "not a readable table: .*EOF inside string",
    ),
    # --- encodings
    Case(
        "utf16_no_bom.csv",
        lambda url: _csv(_sites(), encoding="utf-16-le"),
        RegisterReadError,
        r"it is binary.*UTF-16 with a byte-order mark",
    ),
    Case(
        "utf16_excel_unicode_text.txt",
        lambda url: _csv(_sites(), encoding="utf-16", delimiter="\t"),
        note="UTF-16 with tab delimiters",
        check=_accepted(3),
    ),
    Case(
        "cp1252.csv",
        lambda url: _csv(_sites(Site_name=["Café £", "Ætna", "naïve"]), encoding="cp1252"),
        note="cp1252",
        check=_names_stored_verbatim(["Café £", "Ætna", "naïve"]),
    ),
    Case(
        "latin1_undefined_in_cp1252.csv",
        lambda url: _csv(_sites(), encoding="utf-8").replace(b"Site 0", b"Site \x81\x8d"),
        note="latin-1",
    ),
    # --- zip archives
    Case(
        "bomb.zip",
        lambda url: _zip({"assets.shp": b"\0" * 100, "assets.dbf": b"\0" * 30_000_000}),
        UnsafeArchiveError,
        "possible zip bomb",
    ),
    Case(
        "bomb.xlsx",
        lambda url: _xlsx_bomb(),
        UnsafeArchiveError,
        r"xl/sharedStrings\.xml' is compressed .* possible zip bomb",
    ),
    Case(
        "traversal.zip",
        lambda url: _zip({"../../etc/assets.shp": b"x", "assets.dbf": b"x"}),
        UnsafeArchiveError,
        r"'\.\./\.\./etc/assets\.shp' points outside the archive",
    ),
    Case(
        "absolute.zip",
        lambda url: _zip({"/tmp/assets.shp": b"x", "C:/x/assets.prj": b"x"}),
        UnsafeArchiveError,
        r"'/tmp/assets\.shp' points outside.*'C:/x/assets\.prj' points outside",
    ),
    Case(
        "nested.zip",
        lambda url: _zip({"inner.zip": _shapefile_without(".none")}),
        UnsafeArchiveError,
        "is itself an archive",
    ),
    Case(
        "many_members.zip",
        lambda url: _zip({f"part{i}.shp": b"" for i in range(1_001)}, method=zipfile.ZIP_STORED),
        UnsafeArchiveError,
        "it holds 1,001 members",
    ),
    Case(
        "no_prj.zip",
        lambda url: _shapefile_without(".prj"),
        RegisterReadError,
        r"coordinate system \(\.prj\) is missing",
    ),
    Case(
        "no_shx.zip",
        lambda url: _shapefile_without(".shx"),
        RegisterReadError,
        r"shape index \(\.shx\) is missing",
    ),
    Case(
        "truncated.xlsx",
        lambda url: _real_xlsx()[:3000],
        RegisterReadError,
        "looks like a zip archive but cannot be read",
    ),
    Case(
        "noise.xls",
        lambda url: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + _noise(2, 20_000),
        RegisterReadError,
        "the workbook cannot be read",
    ),
    # --- GeoJSON
    Case(
        "unclosed_ring.geojson",
        lambda url: _geojson(
            [
                _feature(
                    {
                        "type": "Polygon",
                        "coordinates": [[[0.52, 51.27], [0.53, 51.27], [0.53, 51.28]]],
                    },
                    name="Unclosed",
                ),
                _feature(
                    {"type": "Polygon", "coordinates": [[[0.52, 51.27]]]},
                    name="One point",
                ),
            ]
        ),
        reason="missing_location",
        note="unclosed polygon rings were closed; 1 features have no usable geometry",
        check=_accepted(1),
    ),
    Case(
        "crs_link.geojson",
        lambda url: _geojson(
            [_feature(_point())],
            crs={"type": "link", "properties": {"href": f"{url}/crs", "type": "ogcwkt"}},
        ),
        RegisterReadError,
        r"coordinate system is given as .*\"link\".*does not follow links",
    ),
    Case(
        "crs_path_in_geometry.geojson",
        lambda url: _geojson(
            [_feature({**_point(), "crs": {"type": "name", "properties": {"name": "/etc/passwd"}}})]
        ),
        RegisterReadError,
        r"/etc/passwd.*not a name such as EPSG:27700",
    ),
    Case(
        "mars.geojson",
        lambda url: _geojson(
            [_feature(_point())], crs={"type": "name", "properties": {"name": "IAU_2015:49900"}}
        ),
        RegisterReadError,
        "IAU_2015:49900",
    ),
    Case(
        "deep.geojson",
        lambda url: b'{"type": "FeatureCollection", "features": ' + b"[" * 200_000,
        RegisterReadError,
        "nested too deeply",
    ),
    Case(
        "not_geojson.json",
        lambda url: b"[1, 2, 3]",
        RegisterReadError,
        "JSON but not GeoJSON",
    ),
    Case(
        "truncated.geojson",
        lambda url: _geojson([_feature(_point())] * 3)[:-20],
        RegisterReadError,
        "not valid JSON",
    ),
    # --- GeoPackage
    Case(  # GDAL falls back on the system's EPSG code, and fetches nothing
        "srs_url.gpkg",
        lambda url: _gpkg(_srs_is_a_url(url)),
        check=_accepted(2),
    ),
    Case(
        "mars.gpkg",
        lambda url: _gpkg(crs="IAU_2015:49900"),
        RegisterReadError,
        r"coordinate system \(.*Mars.*\) cannot be converted to British National Grid",
    ),
    Case(
        "noise.gpkg",
        lambda url: b"SQLite format 3\x00" + _noise(3, 8_192),
        RegisterReadError,
        "GeoPackage file cannot be read",
    ),
    Case(
        "attributes_only.gpkg",
        lambda url: _gpkg(geometry=False),
        note="has no geometry: located from its columns",
        check=_accepted(2),
    ),
    # --- locations
    Case(
        "outside_gb.csv",
        lambda url: _csv(_sites(Latitude=["0", "54.6", "40.7"], Longitude=["0", "-5.93", "-74.0"])),
        reason="outside_gb",
        check=_accepted(0),
    ),
    Case(
        "swapped.csv",
        lambda url: _csv(_sites(Latitude=["0.52", "0.53"], Longitude=["51.27", "51.28"])),
        reason="latlon_swapped",
        check=_accepted(1),
    ),
    Case(
        "infinite.geojson",
        lambda url: _geojson([_feature(_point(1e308, 1e308), "Far"), _feature(_point(), "Near")]),
        reason="outside_gb",
        check=_accepted(1),
    ),
    # --- cells that are code
    Case(
        "formulas.csv",
        lambda url: _csv(_sites(5, Site_name=FORMULAS)),
        check=_names_stored_verbatim(FORMULAS),
    ),
    Case(
        "html_names.csv",
        lambda url: _csv(_sites(2, Site_name=[HOSTILE_TEXT, "</td><td>x"])),
        check=_names_stored_verbatim([HOSTILE_TEXT, "</td><td>x"]),
    ),
    # --- too many rows or features
    Case(
        "too_many_rows.csv",
        lambda url: _csv(_sites(30)),
        RegisterReadError,
        r"the file has 30 rows, more than the limit of 20; split it or raise the limit",
        max_rows=20,
    ),
    Case(
        "too_many_features.geojson",
        lambda url: _geojson([_feature(_point(), name=f"S{i}") for i in range(30)]),
        RegisterReadError,
        "the file has 30 features, more than the limit of 20",
        max_rows=20,
    ),
]


class _Listener(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []  # noqa: RUF012 (one list per test session, reset by the fixture)

    def do_GET(self) -> None:  # GDAL fetches with GET or HEAD
        self.hits.append(self.path)
        self.send_response(404)
        self.end_headers()

    do_HEAD = do_GET  # noqa: N815 (the name http.server calls)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="session")
def trap_url() -> Iterator[str]:
    """A local web server that records every request; no hostile file may reach it."""
    with local_http_server(_Listener) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def base_store(tmp_path_factory) -> Path:
    """A store holding one real register (Kent Fire and Rescue's stations)."""
    path = tmp_path_factory.mktemp("base") / "estate.gpkg"
    import_register(BASE_REGISTER, store=path, agency="Kent Fire and Rescue Service")
    return path


def _state(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    store = open_store(path)
    log = store.imports().drop(columns=["report_json"]).sort_values("source_file")
    sites = pd.DataFrame(store.sites().drop(columns="geometry"))
    return log.reset_index(drop=True), sites


def test_there_are_enough_hostile_cases():
    assert len(CASES) >= 25
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_file(case: Case, base_store: Path, tmp_path: Path, trap_url: str):
    store = tmp_path / "estate.gpkg"
    shutil.copyfile(base_store, store)
    before = store.read_bytes()
    old_log, old_sites = _state(store)
    data = case.make(trap_url)
    _Listener.hits.clear()
    options = {"max_rows": case.max_rows} if case.max_rows else {}

    if case.error is not None:
        with pytest.raises(case.error, match=case.match):
            import_register(data, name=case.name, store=store, **options)
        assert store.read_bytes() == before, "a refused file must leave the store as it was"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["estate.gpkg"]
    else:
        report = import_register(data, name=case.name, store=store, **options)
        assert report.stored and report.rows_read == report.accepted + report.quarantined
        if case.reason is not None:
            assert case.reason in report.reasons, report.summary()
        if case.note is not None:
            assert any(re.search(case.note, n) for n in report.notes), report.notes
        new_log, new_sites = _state(store)
        # only this source changed: every other source's log line and rows are as they were
        others = new_log[new_log["source_file"] != case.name].reset_index(drop=True)
        pd.testing.assert_frame_equal(others, old_log)
        kept = new_sites[new_sites["source_file"] != case.name]
        assert sorted(kept["site_id"]) == sorted(old_sites["site_id"])
        assert (new_sites["source_file"] == case.name).sum() == report.accepted
        if case.check is not None:
            case.check(report, new_sites)
    assert _Listener.hits == [], "a value inside the file made GDAL fetch a URL"


def test_max_rows_must_be_a_positive_whole_number():
    for bad in (0, -5, 2.5, True, "10"):
        with pytest.raises(
            InvalidArgumentError, match=rf"max_rows={bad!r} is not valid; expected a whole number"
        ):
            read_register(b"a,b\n1,2\n", name="r.csv", max_rows=bad)


def test_the_default_cap_is_a_million_rows(monkeypatch: pytest.MonkeyPatch):
    assert read.DEFAULT_MAX_ROWS == 1_000_000
    monkeypatch.setattr(read, "DEFAULT_MAX_ROWS", 2)
    with pytest.raises(RegisterReadError, match="3 rows, more than the limit of 2"):
        read_register(b"a,b\n1,2\n3,4\n5,6\n", name="r.csv")
    assert len(read_register(b"a,b\n1,2\n3,4\n5,6\n", name="r.csv", max_rows=3).table) == 3
