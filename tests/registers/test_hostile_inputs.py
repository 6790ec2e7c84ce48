"""Hostile and broken register files: each gets one clear message, and the store is safe.

Every file is made here, from fixed seeds (nothing big is committed). For each,
:func:`import_register` into a copy of a small store either raises the project's
own error with a message a person can act on (and the store file is byte for byte
as it was, with no stray files beside it), or returns a report that says what
happened to the odd rows (and only that source changed in the store).
:mod:`tests.app.test_hostile_uploads` feeds the same files to the app.

Bounded work for bounded input: a header of repeated names, a profile of 100,000
headers, a deeply nested profile, and a named pipe, a device, a folder or a socket
given as a file are each refused with one line and exit code 2 by the command line
(``python -m assetmap import``, run as a program), in bounded time; before, they took
minutes, crashed with a traceback or never finished.
"""

from __future__ import annotations

import csv
import http.server
import io
import json
import os
import random
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
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
    ProfileError,
    RegisterReadError,
    UnsafeArchiveError,
)
from assetmap.registers import delimited, read
from assetmap.registers.columns import load_profile
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


def _repeated_header(n: int) -> bytes:
    """One line of ``n`` columns all called ``a``: ``a,a,a,...``."""
    return b",".join([b"a"] * n) + b"\n"


def _wide_geojson(n: int) -> bytes:
    feature = _feature(_point())
    feature["properties"] = {f"p{i}": "x" for i in range(n)}
    return _geojson([feature])


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
    # --- too many columns: a text header is counted before any parser sees it
    Case(
        "repeated_header.csv",
        lambda url: _repeated_header(100_000),  # 200 KB: more than 25 s before the limit
        RegisterReadError,
        r"the file has more than 2,000 columns \(the limit\); check that its first row is its "
        r"header",
    ),
    Case(
        "wide_header.csv",
        lambda url: _csv([[f"c{i}" for i in range(2_001)], ["1"] * 2_001]),
        RegisterReadError,
        r"the file has more than 2,000 columns \(the limit\)",
    ),
    Case(
        "wide.geojson",
        lambda url: _wide_geojson(2_001),
        RegisterReadError,
        "the file has 2,001 columns, more than the limit of 2,000; keep only the columns",
    ),
    Case(  # repeated names under the limit are read, each kept as its own column
        "repeated_names.csv",
        lambda url: _csv([HEADER + ["Notes"] * 1_900] + [r + ["x"] * 1_900 for r in _sites()[1:]]),
        check=_accepted(3),
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


def test_max_columns_must_be_a_positive_whole_number():
    for bad in (0, -5, 2.5, True, "10"):
        with pytest.raises(
            InvalidArgumentError,
            match=rf"max_columns={bad!r} is not valid; expected a whole number of columns",
        ):
            read_register(b"a,b\n1,2\n", name="r.csv", max_columns=bad)


def test_the_default_column_limit_is_two_thousand_and_can_be_changed():
    assert read.DEFAULT_MAX_COLUMNS == 2_000
    data = b"a,b,c\n1,2,3\n"
    with pytest.raises(RegisterReadError, match=r"more than 2 columns \(the limit\)"):
        read_register(data, name="r.csv", max_columns=2)
    assert list(read_register(data, name="r.csv", max_columns=3).table.columns) == ["a", "b", "c"]
    with pytest.raises(RegisterReadError, match="the file has 3 columns, more than the limit of 2"):
        read_register(_wide_geojson(3), name="r.geojson", max_columns=2)


@pytest.mark.parametrize("megabytes", [0.2, 2, 20])
def test_a_header_of_repeated_names_is_refused_before_any_parser_sees_it(
    megabytes: float, monkeypatch: pytest.MonkeyPatch
):
    """``a,a,a,...`` took more than 25 s at 200 KB and was still running after 120 s at
    2 MB: pandas' reader renames each repeat by searching the whole header."""

    def parse(*args, **kwargs):
        raise AssertionError("a parser was given a header over the column limit")

    monkeypatch.setattr(delimited, "_parse_utf8", parse)
    monkeypatch.setattr(delimited, "_parse_text", parse)
    data = _repeated_header(int(megabytes * 1_000_000) // 2)
    started = time.perf_counter()
    with pytest.raises(RegisterReadError, match=r"more than 2,000 columns \(the limit\)"):
        read_register(data, name="repeated.csv")
    assert time.perf_counter() - started < 10


def test_the_header_is_counted_only_up_to_the_limit():
    header = _repeated_header(10_000_000)  # 20 MB
    assert delimited._header_width(header, ",", 2_000) == 2_001  # the count stops there
    assert delimited._header_width(memoryview(header[:199_999]), ",", 200_000) == 100_000
    quoted = '\n\n"a,b","c\n""d""",e\r\nf,g'  # blank lines, quoted delimiters and line breaks
    assert delimited._header_width(quoted, ",", 10) == 3
    assert delimited._header_width(quoted.encode(), ",", 10) == 3
    assert delimited._header_width("a;b;c\n1;2;3", ";", 10) == 3


def test_repeated_names_are_numbered_as_pandas_numbers_them():
    names = ["x", "x", "x.1", "y", "x", "y", "x.2", "x"]
    data = ",".join(names).encode() + b"\n" + b",".join([b"1"] * len(names)) + b"\n"
    expected = list(pd.read_csv(io.BytesIO(data), dtype=str).columns)
    assert expected == ["x", "x.3", "x.1", "y", "x.4", "y.1", "x.2", "x.5"]
    assert delimited._numbered_like_pandas(names) == expected
    assert list(read_register(data, name="r.csv").table.columns) == expected  # pyarrow's path
    ragged = data + b"1,2\n"  # pyarrow refuses ragged rows: pandas' reader reads them
    assert list(read_register(ragged, name="r.csv").table.columns) == expected
    wide = _repeated_header(2_000) + b",".join([b"1"] * 2_000) + b"\n"
    started = time.perf_counter()
    columns = list(read_register(wide, name="wide.csv").table.columns)
    assert time.perf_counter() - started < 10
    assert columns == ["a"] + [f"a.{i}" for i in range(1, 2_000)]


def test_a_repeated_name_never_takes_the_place_of_another_column():
    frame = pd.DataFrame([["1", "2", "3", "4"]], columns=["a", "a", "a (2)", "a"])
    table = read._as_text_frame(frame)
    assert list(table.columns) == ["a", "a (2)", "a (2) (2)", "a (3)"]
    assert table.iloc[0].tolist() == ["1", "2", "3", "4"]


# --- profiles: size, list lengths, depth, and what a file is -----------------------------


def _headers_toml(headers: list[str], field: str = "running_cost") -> str:
    return f"[columns]\n{field} = [" + ", ".join(f'"{h}"' for h in headers) + "]\n"


PROFILES: dict[str, tuple[Callable[[], str], str]] = {
    "hundred_thousand_headers.toml": (  # took 26 s (or 114 s with one header repeated)
        lambda: _headers_toml([f"Cost {i}" for i in range(100_000)]),
        r"the profile file 'hundred_thousand_headers\.toml' is larger than the limit of "
        r"262,144 bytes",
    ),
    "long_list.toml": (
        lambda: _headers_toml([f"Cost {i}" for i in range(2_001)]),
        r"columns\.running_cost lists 2,001 headers, more than the limit of 2,000",
    ),
    "repeated_header.toml": (
        lambda: _headers_toml(["Rates", "Rent", "Rates", "Soft FM", "Rent"]),
        r"columns\.running_cost names 'Rates', 'Rent' more than once; name each header once",
    ),
    "deep_arrays.toml": (  # a RecursionError and a traceback before
        lambda: "x = " + "[" * 100_000 + "]" * 100_000 + "\n",
        r"the profile 'deep_arrays\.toml' is nested too deeply to read \(more than 10 levels",
    ),
    "deep_tables.toml": (
        lambda: "x = " + "{a = " * 20_000 + "1" + "}" * 20_000 + "\n",
        r"'deep_tables\.toml' is nested too deeply to read",
    ),
    "deep_under_recursion.toml": (  # deep enough to refuse, not to exhaust the recursion
        lambda: "[columns]\nrunning_cost = " + "[" * 50 + '"x"' + "]" * 50 + "\n",
        r"'deep_under_recursion\.toml' is nested too deeply to read",
    ),
    "dotted_key.toml": (  # tomllib's memory grows as the square of a key's parts: GBs
        lambda: "a" + ".a" * 100_000 + " = 1\n",
        r"'dotted_key\.toml' is nested too deeply to read \(more than 10 levels of brackets, "
        r"or parts of a dotted key\)",
    ),
    "many_problems.toml": (
        lambda: "".join(f"k{i} = 1\n" for i in range(5_000)),
        r"has problems: unknown key 'k0' .*; and 4,990 more problems$",
    ),
    "wrong_types.toml": (  # options = 3 was an AttributeError
        lambda: 'agency = 5\noptions = 3\nunits = "sqm"\n[columns]\nname = 3\n',
        r"columns\.name must be a header name in quotes; \[units\] must be a table of "
        r'field = "unit"; \[options\] must be a table of floor_area_basis and crs; agency '
        r"must be text in quotes, not 5",
    ),
}


@pytest.mark.parametrize("name", PROFILES)
def test_a_hostile_profile_is_refused_in_bounded_time(name: str, tmp_path: Path):
    make, match = PROFILES[name]
    path = tmp_path / name
    path.write_text(make(), encoding="utf-8")
    started = time.perf_counter()
    with pytest.raises(ProfileError, match=match):
        load_profile(path)
    assert time.perf_counter() - started < 10


def test_a_profile_at_the_limits_is_read(tmp_path: Path):
    path = tmp_path / "wide.toml"
    headers = [f"Cost {i}" for i in range(2_000)]
    path.write_text(_headers_toml(headers) + "[options]\ncrs = 'EPSG:27700'\n", encoding="utf-8")
    assert load_profile(path).columns["running_cost"] == headers
    nested = tmp_path / "nested.toml"  # ten levels of brackets, a key of ten parts
    nested.write_text("a.b.c.d.e.f.g.h.i.j = " + "[" * 9 + "]" * 9 + "\n", encoding="utf-8")
    with pytest.raises(ProfileError, match=r"unknown key 'a'"):  # read, then refused
        load_profile(nested)


#: The profiles of the issue (the rest are checked on the engine alone).
NAMED_PROFILES = [
    "hundred_thousand_headers.toml",
    "deep_arrays.toml",
    "deep_tables.toml",
    "dotted_key.toml",
]


def _special_file(kind: str, folder: Path) -> Path:
    """A path that is not a regular file: a named pipe, a device, a folder or a socket."""
    if kind == "fifo":
        path = folder / "pipe.csv"
        os.mkfifo(path)
    elif kind == "device":
        path = Path("/dev/zero")
    elif kind == "folder":
        path = folder / "folder.csv"
        path.mkdir()
    else:
        path = folder / "s.csv"
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind(str(path))
    return path


SPECIAL = {
    "fifo": "a named pipe \\(FIFO\\)",
    "device": "a device",
    "folder": "a folder",
    "socket": "a socket",
}


def _cli(*args: str, timeout: float = 120, **kwargs) -> tuple[subprocess.CompletedProcess, float]:
    """``python -m assetmap ARGS`` as a program; the result and the seconds it took."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "assetmap", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **kwargs,
    )
    return result, time.perf_counter() - started


def _one_line_exit_2(result: subprocess.CompletedProcess, match: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("assetmap: error: "), result.stderr
    assert re.search(match, lines[0]), lines[0]


def _cli_cases() -> list[tuple[str, Callable[[Path], list[str]], str]]:
    """Every hostile input of issue 13's bounded-work item, as command-line arguments."""

    def register(data: bytes) -> Callable[[Path], list[str]]:
        def args(folder: Path) -> list[str]:
            path = folder / "register.csv"
            path.write_bytes(data)
            return [str(path)]

        return args

    def profile(name: str) -> Callable[[Path], list[str]]:
        def args(folder: Path) -> list[str]:
            path = folder / name
            path.write_text(PROFILES[name][0](), encoding="utf-8")
            return [str(BASE_REGISTER), "--profile", str(path)]

        return args

    def special(kind: str, *, as_profile: bool) -> Callable[[Path], list[str]]:
        def args(folder: Path) -> list[str]:
            path = str(_special_file(kind, folder))
            return [str(BASE_REGISTER), "--profile", path] if as_profile else [path]

        return args

    cases = [
        ("repeated_header_200KB", register(_repeated_header(100_000)), "more than 2,000 columns"),
        ("repeated_header_2MB", register(_repeated_header(1_000_000)), "more than 2,000 columns"),
        *[(f"profile_{n}", profile(n), PROFILES[n][1]) for n in NAMED_PROFILES],
    ]
    for kind, what in SPECIAL.items():
        cases.append((f"{kind}_as_register", special(kind, as_profile=False), what))
        cases.append((f"{kind}_as_profile", special(kind, as_profile=True), what))
    return cases


CLI_CASES = _cli_cases()


@pytest.mark.parametrize("case", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_the_command_line_refuses_each_hostile_input_with_one_line(case, tmp_path: Path):
    name, make, match = case
    store = tmp_path / "estate.gpkg"
    result, seconds = _cli("import", *make(tmp_path), "--store", str(store), "--agency", "X")
    _one_line_exit_2(result, match)
    assert seconds < 30, f"{name} took {seconds:.0f} s"  # it took minutes, or for ever
    assert not store.exists()
