"""Reading register files of every format, and refusing what cannot be read."""

from __future__ import annotations

import io
import zipfile

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, Polygon

from assetmap.errors import InvalidArgumentError, RegisterReadError, UnsafeArchiveError
from assetmap.registers.read import ZipLimits, inspect_zip, read_register, sniff_format

ROWS = [
    {"Site name": "Town Hall", "Postcode": "TN1 1AA", "Running cost": "£1,234"},
    {"Site name": "Café Library", "Postcode": "ME14 1XX", "Running cost": "£2,000"},
]


def _csv(text: str, encoding: str = "utf-8") -> bytes:
    return text.encode(encoding)


@pytest.mark.parametrize(
    ("data", "delimiter_word"),
    [
        (_csv("name,postcode\nA,TN1 1AA\nB,ME14 1XX\n"), "comma"),
        (_csv("name\tpostcode\nA\tTN1 1AA\nB\tME14 1XX\n"), "tab"),
        (_csv("name;postcode\nA;TN1 1AA\nB;ME14 1XX\n"), "semicolon"),
        (_csv("name|postcode\nA|TN1 1AA\nB|ME14 1XX\n"), "pipe"),
    ],
)
def test_csv_delimiters_are_sniffed(data, delimiter_word):
    raw = read_register(data, name="r.csv")
    assert raw.format == "csv"
    assert list(raw.table.columns) == ["name", "postcode"]
    assert raw.table["postcode"].tolist() == ["TN1 1AA", "ME14 1XX"]
    assert any(delimiter_word in note for note in raw.notes)


def test_csv_encodings_utf8_bom_and_cp1252():
    text = "name,cost\nCafé,£1\n"
    for data, enc in [
        (text.encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + text.encode("utf-8"), "utf-8"),
        (text.encode("cp1252"), "cp1252"),
    ]:
        raw = read_register(data, name="r.csv")
        assert list(raw.table.columns) == ["name", "cost"], enc  # no BOM left in the header
        assert raw.table.loc[0, "name"] == "Café"
        assert raw.table.loc[0, "cost"] == "£1"


@pytest.mark.parametrize("where", ["head", "past the head"])
def test_a_cp1252_byte_anywhere_makes_the_file_cp1252(where):
    """Only the file's head is decoded before the parser: a byte that is not UTF-8
    after it still makes the whole file read as cp1252."""
    filler = "".join(f"Site {i},TN1 1AA\n" for i in range(30_000 if where != "head" else 1))
    data = ("name,postcode\n" + filler).encode("utf-8") + "Café,ME14 1XX\n".encode("cp1252")
    assert (len(data) > 4 * 65536) == (where != "head")
    raw = read_register(data, name="r.csv")
    assert raw.table["name"].iloc[-1] == "Café"
    assert any("cp1252" in note for note in raw.notes)


def test_a_long_utf8_file_with_a_ragged_row_is_read_by_the_fallback():
    filler = "".join(f"Café {i},TN1 1AA\n" for i in range(30_000))
    data = ("name,postcode\n" + filler + "Library\n").encode("utf-8")  # a short row
    raw = read_register(data, name="r.csv")
    assert len(raw.table) == 30_001
    assert raw.table["name"].iloc[0] == "Café 0"
    assert raw.table.iloc[-1].tolist() == ["Library", ""]
    assert any("utf-8" in note for note in raw.notes)


def test_a_utf8_character_cut_at_the_end_of_a_short_file_makes_it_cp1252():
    raw = read_register("name,postcode\nCafé,TN1 1AA\n".encode() + b"\xc3", name="r.csv")
    assert any("cp1252" in note for note in raw.notes)


def test_csv_keeps_text_exactly_and_numbers_rows_from_two():
    raw = read_register(b"uprn,name\n000123,A\n00456,B\n", name="r.csv")
    assert raw.table["uprn"].tolist() == ["000123", "00456"]  # leading zeros kept
    assert raw.row_numbers.tolist() == [2, 3]
    assert len(raw.sha256) == 64


def test_xlsx_with_title_rows_finds_its_header(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Estate"
    ws.append(["Kent Police estate register"])
    ws.append([])
    ws.append(["Site name", "Postcode", "GIA (sq ft)"])
    ws.append(["Station A", "TN1 1AA", 1200])
    ws.append(["Station B", "ME14 1XX", 45.5])
    other = wb.create_sheet("Notes")
    other.append(["nothing here"])
    path = tmp_path / "police.xlsx"
    wb.save(path)
    raw = read_register(path)
    assert raw.format == "xlsx"
    assert raw.layer == "Estate"
    assert raw.layers == ["Estate", "Notes"]
    assert list(raw.table.columns) == ["Site name", "Postcode", "GIA (sq ft)"]
    assert raw.table["GIA (sq ft)"].tolist() == ["1200", "45.5"]
    assert raw.row_numbers.tolist() == [4, 5]
    with pytest.raises(InvalidArgumentError, match=r"layer='Nope' is not a sheet.*Estate, Notes"):
        read_register(path, layer="Nope")


def test_legacy_xls(tmp_path):
    xlwt = pytest.importorskip("xlwt")
    book = xlwt.Workbook()
    sheet = book.add_sheet("Sites")
    for c, h in enumerate(["Name", "Postcode", "Floor area m2"]):
        sheet.write(0, c, h)
    sheet.write(1, 0, "Depot")
    sheet.write(1, 1, "CT1 1AA")
    sheet.write(1, 2, 500)
    path = tmp_path / "legacy.xls"
    book.save(str(path))
    raw = read_register(path)
    assert raw.format == "xls"
    assert raw.table.to_dict("records") == [
        {"Name": "Depot", "Postcode": "CT1 1AA", "Floor area m2": "500"}
    ]


def _points() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": ["A", "B"], "size": [10.5, 20.0]},
        geometry=[Point(0.27, 51.13), Point(0.52, 51.27)],
        crs="EPSG:4326",
    )


def test_geojson_is_read_and_reprojected(tmp_path):
    path = tmp_path / "sites.geojson"
    _points().to_file(path, driver="GeoJSON")
    raw = read_register(path)
    assert raw.format == "geojson"
    assert raw.geometry.crs.to_epsg() == 27700
    assert 550_000 < raw.geometry.iloc[0].x < 570_000
    assert raw.table["size"].tolist() == ["10.5", "20"]


def test_geopackage_layers_can_be_chosen(tmp_path):
    path = tmp_path / "two.gpkg"
    _points().to_crs(27700).to_file(path, layer="first")
    _points().iloc[:1].to_crs(27700).to_file(path, layer="second")
    raw = read_register(path)
    assert raw.layer == "first"
    assert raw.layers == ["first", "second"]
    assert any("2 layers" in n for n in raw.notes)
    assert len(read_register(path, layer="second").table) == 1
    with pytest.raises(InvalidArgumentError, match=r"layer='third' is not a layer.*first, second"):
        read_register(path, layer="third")


def _zipped_shapefile(tmp_path, skip=()) -> bytes:
    shp = tmp_path / "shp"
    shp.mkdir(exist_ok=True)
    _points().to_crs(27700).to_file(shp / "assets.shp")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for part in shp.iterdir():
            if part.suffix not in skip:
                z.write(part, f"assets/{part.name}")
    return buf.getvalue()


def test_zipped_shapefile(tmp_path):
    raw = read_register(_zipped_shapefile(tmp_path), name="assets.zip")
    assert raw.format == "shapefile"
    assert raw.layer == "assets"
    assert len(raw.table) == 2
    assert raw.geometry.crs.to_epsg() == 27700


def test_shapefile_without_prj_is_refused(tmp_path):
    data = _zipped_shapefile(tmp_path, skip=(".prj",))
    with pytest.raises(RegisterReadError, match=r"coordinate system \(\.prj\) is missing"):
        read_register(data, name="assets.zip")


def test_shapefile_without_shx_is_refused(tmp_path):
    data = _zipped_shapefile(tmp_path, skip=(".shx",))
    with pytest.raises(RegisterReadError, match=r"shape index \(\.shx\) is missing"):
        read_register(data, name="assets.zip")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"   \n\n", "the file is empty"),
        (b"name,postcode\n", "header but no rows"),
        (b"\x00\x01\x02binary noise\x00" * 10, "it is binary"),
        (b"<html><body>not a table</body></html>", "looks like HTML or XML"),
        (b"just one line of prose without any delimiters\n", "no comma, tab, semicolon"),
        (b'{"type": "FeatureCollection", "features": [', "not valid JSON"),
        (b"PK\x03\x04not really a zip", "cannot be read"),
    ],
)
def test_unreadable_files_get_one_clear_error(data, message):
    with pytest.raises(RegisterReadError, match=message):
        read_register(data, name="bad")


def test_missing_path_and_nameless_bytes():
    with pytest.raises(RegisterReadError, match="there is no file at"):
        read_register("/no/such/register.csv")
    with pytest.raises(InvalidArgumentError, match="name=None is not valid with bytes"):
        read_register(b"a,b\n1,2\n")


def test_row_cap():
    with pytest.raises(RegisterReadError, match="more than the limit of 2"):
        read_register(b"a,b\n1,2\n3,4\n5,6\n", name="r.csv", max_rows=2)


def _zip(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_zip_inspection_refuses_traversal_nesting_and_bombs():
    with pytest.raises(UnsafeArchiveError, match=r"'\.\./evil\.shp' points outside"):
        inspect_zip(_zip({"../evil.shp": b"x"}))
    with pytest.raises(UnsafeArchiveError, match=r"'/abs\.shp' points outside"):
        inspect_zip(_zip({"/abs.shp": b"x"}))
    with pytest.raises(UnsafeArchiveError, match="nested archives"):
        inspect_zip(_zip({"inner.zip": b"x"}))
    bomb = _zip({"big.dbf": b"\0" * 20_000_000})
    with pytest.raises(UnsafeArchiveError, match="possible zip bomb"):
        inspect_zip(bomb)
    with pytest.raises(UnsafeArchiveError, match="it would expand to"):
        inspect_zip(bomb, limits=ZipLimits(max_total_bytes=1000, max_ratio=1e9))
    with pytest.raises(UnsafeArchiveError, match="it holds 3 members"):
        inspect_zip(_zip({"a": b"1", "b": b"2", "c": b"3"}), limits=ZipLimits(max_members=2))


def test_zip_with_neither_shapefile_nor_workbook():
    with pytest.raises(RegisterReadError, match="neither a Shapefile"):
        sniff_format(_zip({"readme.txt": b"hello"}))


def test_format_is_decided_by_content_not_name(tmp_path):
    path = tmp_path / "looks_like.xlsx"
    path.write_bytes(b"name,postcode\nA,TN1 1AA\n")
    raw = read_register(path)
    assert raw.format == "csv"


def test_geojson_polygon_features_are_kept(tmp_path):
    square = Polygon([(0.27, 51.13), (0.2705, 51.13), (0.2705, 51.1305), (0.27, 51.1305)])
    gdf = gpd.GeoDataFrame({"name": ["Hall"]}, geometry=[square], crs="EPSG:4326")
    path = tmp_path / "poly.geojson"
    gdf.to_file(path, driver="GeoJSON")
    raw = read_register(path)
    assert raw.geometry.iloc[0].geom_type == "Polygon"
    assert pd.Series(raw.table.columns).tolist() == ["name"]
