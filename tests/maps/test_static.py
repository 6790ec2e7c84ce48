"""Print maps: page sizes, text in the SVG, pixels in the frame, the scale bar, repeatability,
empty selections, restricted sites, bad options, background tiles and the export-map command."""

from __future__ import annotations

import dataclasses
import http.server
import io
import re
import socket
import threading
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from PIL import Image

from assetmap.cli import main
from assetmap.errors import InvalidArgumentError
from assetmap.io.boundaries import read_boundary_file
from assetmap.localities import ATTRIBUTION
from assetmap.maps import static
from assetmap.maps.static import (
    FORMATS,
    KINDS,
    PAPERS,
    MapOptions,
    build_map,
    map_bytes,
    nice_scale_length,
    page,
    render_map,
    resolve_place,
    save_map,
)
from assetmap.maps.style import MAP_BACKGROUND
from assetmap.store import STORE_ENV
from tests.app.conftest import write_store
from tests.conftest import ROOT, shared_file
from tests.maps.factories import make_sites
from tests.servers import local_http_server

DAY = date(2026, 11, 23)
ARTIFACTS = ROOT / "test-artifacts"
SVG_NS = "{http://www.w3.org/2000/svg}"


# --------------------------------------------------------------------------- helpers


def make_requests(n: int = 6, *, seed: int = 1) -> gpd.GeoDataFrame:
    """Space requests near the test sites (Maidstone), each needing office space."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "request_id": [f"R{i}" for i in range(n)],
            "source_ref": [f"REQ-{i}" for i in range(n)],
            "agency": "Kent Community Health NHS Foundation Trust",
            "sector": "health",
            "space_needed_sqft": rng.uniform(500, 3_000, n).round(),
            "use_class": "office",
            "locality": "",
            "max_distance_m": 10_000.0,
            "needed_by": "2027-03-31",
            "sensitivity": "open",
        }
    )
    for column in ("request_id", "source_ref", "agency", "sector", "use_class", "locality"):
        frame[column] = frame[column].astype("str")
    points = gpd.points_from_xy(rng.uniform(570_000, 590_000, n), rng.uniform(145_000, 165_000, n))
    return gpd.GeoDataFrame(frame, geometry=points, crs="EPSG:27700")


def offering_sites(n: int = 120) -> gpd.GeoDataFrame:
    """Test sites, a third of them with surplus office space."""
    sites = make_sites(n)
    sites["surplus_sqft"] = np.where(np.arange(n) % 3 == 0, 5_000.0, 0.0)
    return sites


def svg_texts(data: bytes) -> str:
    """Every text of an SVG, joined with spaces (wrapped lines read as one)."""
    root = ET.fromstring(data)
    parts = ["".join(el.itertext()) for el in root.iter(f"{SVG_NS}text")]
    return " ".join(" ".join(parts).split())


def page_pixels(paper: str, dpi: int, *, landscape: bool = False) -> tuple[int, int]:
    """The page in pixels: the paper in inches times the dpi (to within the pixel Agg drops)."""
    width, height = (v / 25.4 * dpi for v in PAPERS[paper])
    return (height, width) if landscape else (width, height)


def assert_page(size: tuple[int, int], paper: str, dpi: int, *, landscape: bool = False) -> None:
    expected = page_pixels(paper, dpi, landscape=landscape)
    assert abs(size[0] - expected[0]) <= 1 and abs(size[1] - expected[1]) <= 1, (size, expected)


def frame_pixels(figure, image: Image.Image) -> np.ndarray:
    """The pixels inside the map frame of a rendered PNG."""
    pos = figure.axes[0].get_position()
    w, h = image.size
    x0, x1 = round(pos.x0 * w) + 3, round(pos.x1 * w) - 3
    y0, y1 = round((1 - pos.y1) * h) + 3, round((1 - pos.y0) * h) - 3
    return np.asarray(image.convert("RGB"))[y0:y1, x0:x1]


@pytest.fixture(scope="module")
def sites() -> gpd.GeoDataFrame:
    return offering_sites()


@pytest.fixture(scope="module")
def requests() -> gpd.GeoDataFrame:
    return make_requests()


@pytest.fixture(scope="module")
def maidstone(sites, requests) -> dict[str, static.StaticMap]:
    """Each kind of map of Maidstone, drawn once for the format tests."""
    return {
        kind: build_map(kind, sites, place="Maidstone", requests=requests, drawn_on=DAY)
        for kind in KINDS
    }


# --------------------------------------------------------------------------- kinds and formats


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_kind_as_svg_has_its_title_legend_attribution_and_count(kind, maidstone):
    built = maidstone[kind]
    buffer = io.BytesIO()
    save_map(built.figure, buffer, format="svg", dpi=150)
    data = buffer.getvalue()
    root = ET.fromstring(data)
    mm = 72 / 25.4
    assert float(root.get("width").removesuffix("pt")) == pytest.approx(210 * mm, abs=0.1)
    assert float(root.get("height").removesuffix("pt")) == pytest.approx(297 * mm, abs=0.1)
    text = svg_texts(data)
    assert built.title in text and built.title.endswith("Maidstone")
    assert "drawn 23 November 2026" in text and "data as at 1 January 2025" in text
    assert built.legend, "every map has a legend"
    for label in built.legend:
        assert label in text
    assert ATTRIBUTION in text
    verb = "counted" if kind == "density" else "drawn"
    assert f"{static.count_text(built.sites_drawn, 'site')} {verb}" in text
    assert "Scale 1:" in text and "N" in text.split()
    assert re.search(r"\b\d+ (m|km)\b", text), "the scale bar has a label"


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_kind_as_png_has_page_size_dpi_and_ink_in_the_frame(kind, maidstone):
    built = maidstone[kind]
    buffer = io.BytesIO()
    save_map(built.figure, buffer, format="png", dpi=150)
    image = Image.open(io.BytesIO(buffer.getvalue()))
    assert image.format == "PNG"
    assert_page(image.size, "A4", 150)
    assert image.info["dpi"] == pytest.approx((150, 150), abs=0.05)
    pixels = frame_pixels(built.figure, image).reshape(-1, 3)
    background = np.array([int(MAP_BACKGROUND[i : i + 2], 16) for i in (1, 3, 5)])
    drawn = ~(np.all(pixels == background, axis=1) | np.all(pixels == 255, axis=1))
    assert drawn.mean() > 0.2, "the map frame holds boundaries and sites, not a blank"


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_kind_as_pdf_has_the_page_size_and_repeats_byte_for_byte(kind, maidstone):
    buffers = [io.BytesIO(), io.BytesIO()]
    for buffer in buffers:
        save_map(maidstone[kind].figure, buffer, format="pdf", dpi=150)
    first, again = (b.getvalue() for b in buffers)
    assert first.startswith(b"%PDF-")
    box = re.search(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", first)
    assert float(box.group(1)) == pytest.approx(210 / 25.4 * 72, abs=0.1)
    assert float(box.group(2)) == pytest.approx(297 / 25.4 * 72, abs=0.1)
    assert b"CreationDate" not in first
    assert first == again


@pytest.mark.parametrize(("paper", "landscape"), [("A3", False), ("A4", True), ("A3", True)])
def test_paper_sizes_and_orientation(paper, landscape, sites):
    data = map_bytes("sites", sites, format="png", dpi=150, paper=paper, landscape=landscape)
    assert_page(Image.open(io.BytesIO(data)).size, paper, 150, landscape=landscape)


def test_png_at_300_dpi_has_twice_the_pixels_of_150(sites):
    small = Image.open(io.BytesIO(map_bytes("sites", sites, format="png", dpi=150)))
    large = Image.open(io.BytesIO(map_bytes("sites", sites, format="png", dpi=300)))
    assert_page(large.size, "A4", 300)
    assert large.info["dpi"] == pytest.approx((300, 300), abs=0.05)
    assert abs(large.size[0] - 2 * small.size[0]) <= 1


# --------------------------------------------------------------------------- determinism


def test_the_same_estate_and_options_give_byte_identical_svg(sites, requests):
    options = {"place": "Maidstone", "requests": requests, "drawn_on": DAY, "format": "svg"}
    for kind in KINDS:
        first = map_bytes(kind, sites, **options)
        assert first == map_bytes(kind, sites, **options), kind
    assert b"<dc:date>" not in first
    moved = sites.copy()
    moved.geometry = moved.geometry.translate(250, 0)
    assert map_bytes("sites", moved, **options) != map_bytes("sites", sites, **options)


def test_svg_text_is_text_in_dejavu_sans(sites):
    data = map_bytes("sites", sites, format="svg", place="Maidstone", drawn_on=DAY)
    assert b"font-family: 'DejaVu Sans'" in data
    assert b"<text" in data


# --------------------------------------------------------------------------- scale bar


def _measured_scale(built) -> tuple[float, float, float, float]:
    """(label metres, bar length in mm on paper, metres per mm in x, metres per mm in y)."""
    fig = built.figure
    fig.canvas.draw()
    ax = fig.axes[0]
    bar = next(p for p in ax.patches if p.get_gid() == "scale-bar")
    label = next(t for t in ax.texts if t.get_gid() == "scale-bar-label").get_text()
    number, unit = label.split()
    metres = float(number) * (1000 if unit == "km" else 1)
    px_per_mm = fig.dpi / 25.4
    bar_mm = bar.get_window_extent().width / px_per_mm
    frame = ax.get_window_extent()
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    per_mm_x = (x1 - x0) / (frame.width / px_per_mm)
    per_mm_y = (y1 - y0) / (frame.height / px_per_mm)
    return metres, bar_mm, per_mm_x, per_mm_y


@pytest.mark.parametrize(
    ("place", "paper", "landscape"),
    [
        ("Kent and Medway", "A4", False),
        ("Maidstone", "A3", True),
        ("Maidstone 001A", "A4", True),
        ("Dartford", "A3", False),
    ],
)
def test_the_scale_bar_measures_the_map_within_two_percent(place, paper, landscape, sites):
    built = build_map("sites", sites, place=place, paper=paper, landscape=landscape, inset=False)
    metres, bar_mm, per_mm_x, per_mm_y = _measured_scale(built)
    assert per_mm_x == pytest.approx(per_mm_y, rel=0.005), "one scale in x and y"
    assert bar_mm * per_mm_x == pytest.approx(metres, rel=0.02)
    assert built.scale_denominator == pytest.approx(per_mm_x * 1000, rel=0.02)
    width_m = per_mm_x * built.figure.axes[0].get_window_extent().width / (built.figure.dpi / 25.4)
    assert 0.08 < metres / width_m < 0.4, "about a fifth of the map's width"
    text = svg_texts(
        map_bytes(
            "sites", sites, format="svg", place=place, paper=paper, landscape=landscape, inset=False
        )
    )
    printed = float(re.search(r"Scale 1:([\d,]+)", text).group(1).replace(",", ""))
    assert printed == pytest.approx(per_mm_x * 1000, rel=0.02)


@pytest.mark.parametrize(
    ("width", "expected"),
    [(1_000, 200), (4_600, 1_000), (27_000, 5_000), (95_000, 20_000), (150, 20), (3.0e5, 50_000)],
)
def test_scale_lengths_are_round_and_about_a_fifth(width, expected):
    assert nice_scale_length(width) == expected
    assert page.scale_label(5_000) == "5 km" and page.scale_label(200) == "200 m"


def test_a_scale_for_no_width_is_refused():
    with pytest.raises(InvalidArgumentError, match=r"map_width_m=0 is not valid; expected a pos"):
        nice_scale_length(0)


# --------------------------------------------------------------------------- empty and restricted


@pytest.mark.parametrize("kind", list(KINDS))
def test_an_empty_selection_gives_a_valid_map_that_says_no_sites(kind, sites):
    # Thanet is far from the test sites around Maidstone: nothing is in it.
    built = build_map(kind, sites, place="Thanet", requests=make_requests(0), drawn_on=DAY)
    buffer = io.BytesIO()
    save_map(built.figure, buffer, format="svg", dpi=150)
    text = svg_texts(buffer.getvalue())
    assert built.sites_drawn == 0
    assert "in Thanet" in text and "No sites" in text
    verb = "counted" if kind == "density" else "drawn"
    assert f"0 sites {verb}" in text
    assert ATTRIBUTION in text
    png = Image.open(
        io.BytesIO(
            map_bytes(kind, sites.iloc[:0], format="png", dpi=150, requests=make_requests(0))
        )
    )
    assert_page(png.size, "A4", 150)


def test_restricted_sites_are_never_drawn_as_points(sites):
    marked = sites.copy()
    marked["sensitivity"] = np.where(np.arange(len(marked)) % 4 == 0, "restricted", "open")
    restricted_xy = shapely.get_coordinates(marked.geometry[marked["sensitivity"] == "restricted"])
    for kind in ("sites", "clusters", "matches"):
        built = build_map(kind, marked, requests=make_requests(), drawn_on=DAY)
        drawn = np.concatenate(
            [
                c.get_offsets()
                for c in built.figure.axes[0].collections
                if str(c.get_gid()).startswith("sites-")
            ]
        )
        open_count = int((marked["sensitivity"] == "open").sum())
        assert len(drawn) == open_count, kind
        assert not (drawn[:, None, :] == restricted_xy[None, :, :]).all(axis=2).any(), kind
        assert not any("restricted" in note for note in built.notes), kind
    density = build_map("density", marked, place="Kent and Medway", drawn_on=DAY)
    opened = marked[marked["sensitivity"] == "open"]
    in_county = int(static.in_place(opened, resolve_place("Kent and Medway").geometry).sum())
    assert density.sites_drawn == in_county, "restricted sites are withheld from density too"


# --------------------------------------------------------------------------- bad options


def test_every_bad_option_is_reported_at_once(sites):
    with pytest.raises(InvalidArgumentError) as caught:
        render_map("heat", sites, place="Maidstne", paper="A5", landscape="yes", title=3)
    message = str(caught.value)
    assert "kind='heat' is not a map kind; expected one of: sites, density, clusters, matches" in (
        message
    )
    assert "paper='A5' is not a paper size; expected one of: A4, A3" in message
    assert "landscape='yes' is not valid; expected True or False" in message
    assert "title=3 is not valid; expected None or a text" in message
    assert "did you mean: Maidstone" in message


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda s: render_map("sites", s, place="Nowhere Town"),
            r"place='Nowhere Town' is not a pl",
        ),
        (lambda s: render_map("sites", s, place=""), r"place='' is not valid; expected the name"),
        (lambda s: render_map("sites", pd.DataFrame(s)), r"sites is a DataFrame; expected a GeoD"),
        (lambda s: render_map("matches", s), r"requests=None but kind='matches' needs the space"),
        (lambda s: render_map("density", s, metric="rooms"), r"metric='rooms' is not valid"),
        (lambda s: render_map("density", s, scheme="jenks"), r"scheme='jenks' is not a class"),
        (lambda s: render_map("clusters", s, distance=-1), r"distance=-1 is not valid"),
        (lambda s: render_map("sites", s, localities="parishes"), r"localities='parishes' is no"),
        (lambda s: map_bytes("sites", s, format="gif"), r"format='gif' is not a map file forma"),
        (lambda s: map_bytes("sites", s, dpi=72), r"dpi=72 is not valid; expected one of: 150, "),
        (lambda s: render_map("sites", s, tiles="ftp://x"), r"tiles: tile URL 'ftp://x' is not v"),
    ],
)
def test_bad_options_are_named_with_what_was_expected(call, match, sites):
    with pytest.raises(InvalidArgumentError, match=match):
        call(sites)


def test_one_options_object_or_its_fields_by_name_draw_the_same_map(sites):
    options = MapOptions(place="Maidstone", drawn_on=DAY, paper="A3", inset=False)
    by_object = map_bytes("sites", sites, options, format="svg", dpi=150)
    by_name = map_bytes(
        "sites",
        sites,
        format="svg",
        dpi=150,
        place="Maidstone",
        drawn_on=DAY,
        paper="A3",
        inset=False,
    )
    assert by_object == by_name
    # a field given by name changes that field of the options object, and only that one
    changed = build_map("sites", sites, options, place="Thanet")
    assert changed.place.name == "Thanet" and changed.subtitle.endswith("data as at no data")
    assert options.place == "Maidstone"
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.paper = "A4"


def test_an_unknown_option_or_options_object_is_named(sites):
    with pytest.raises(InvalidArgumentError) as caught:
        render_map("sites", sites, {"place": "Maidstone"}, plac="Maidstone", paper="A5")
    message = str(caught.value)
    assert "options is a dict; expected assetmap.maps.static.MapOptions or None" in message
    assert "option='plac' is not a map option; expected one of: place, localities, " in message
    assert "paper='A5' is not a paper size" in message


def test_places_are_found_by_name_or_code_without_regard_to_case():
    assert resolve_place("maidstone").code == "E07000110"
    assert resolve_place("  KENT AND   medway ").level == "county"
    assert resolve_place("E07000110").name == "Maidstone"
    assert resolve_place("maidstone 001a").level == "lsoa"
    assert resolve_place("NHS Kent and Medway ICB - 91Q").level == "nhs_area"
    with pytest.raises(InvalidArgumentError, match=r"did you mean: Kent and Medway, NHS Kent"):
        resolve_place("Kent")


def test_saving_to_an_unwritable_place_fails_cleanly(tmp_path, sites):
    figure = render_map("sites", sites)
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with pytest.raises(InvalidArgumentError, match=r"target .* cannot be written: .* is a file"):
        save_map(figure, blocker / "map.png", format="png", dpi=150)
    with pytest.raises(InvalidArgumentError, match=r"target .* is a folder; expected the path"):
        save_map(figure, tmp_path, format="png", dpi=150)
    with pytest.raises(InvalidArgumentError, match=r"figure is a str; expected the matplotlib"):
        save_map("figure", tmp_path / "m.png", format="png", dpi=150)
    with pytest.raises(InvalidArgumentError, match=r"target is a int; expected a file path"):
        save_map(figure, 3, format="png", dpi=150)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


def test_a_failure_while_writing_leaves_no_half_written_file(tmp_path, sites, monkeypatch):
    figure = render_map("sites", sites)
    target = tmp_path / "map.svg"
    target.write_bytes(b"the old map")

    def broken(path, **kwargs):
        Path(path).write_bytes(b"<svg half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(figure, "savefig", broken)
    with pytest.raises(InvalidArgumentError, match=r"cannot be written \(No space left on dev"):
        save_map(figure, target, format="svg", dpi=150)
    assert target.read_bytes() == b"the old map"
    assert [p.name for p in tmp_path.iterdir()] == ["map.svg"]


# --------------------------------------------------------------------------- the Kent sample


def test_kent_sample_estate_by_sector_at_a4_300_dpi(sample_store_built):
    """The artefact checked by eye: test-artifacts/kent_sample_sites_a4_300dpi.png."""
    from assetmap.store import open_store

    store = open_store(sample_store_built)
    built = build_map("sites", store.sites(), place="Kent and Medway", drawn_on=DAY)
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / "kent_sample_sites_a4_300dpi.png"
    save_map(built.figure, target, format="png", dpi=300)
    with Image.open(target) as image:
        assert_page(image.size, "A4", 300)
        assert image.info["dpi"] == pytest.approx((300, 300), abs=0.05)
    restricted = int((store.sites()["sensitivity"] == "restricted").sum())
    assert restricted > 0 and not any("restricted" in note for note in built.notes)
    assert built.sites_drawn > 1_500
    assert [label.split(" (")[0] for label in built.legend] == [
        "Police",
        "Health",
        "DWP / Jobcentre Plus",
        "Council",
        "Fire and rescue",
    ]


@pytest.mark.realdata
def test_a_ward_choropleth_from_a_boundary_file(sites):
    path = shared_file("boundaries", "kent_wards_dec2023_bsc.geojson")
    wards, _ = read_boundary_file(path)
    built = build_map("density", sites, place="Kent and Medway", localities=wards, drawn_on=DAY)
    assert built.figure.axes[0].collections, "the wards are drawn"
    assert built.legend[-1] == "No data"
    in_county = int(static.in_place(sites, resolve_place("Kent and Medway").geometry).sum())
    assert 0.97 * in_county <= built.sites_drawn <= in_county


# --------------------------------------------------------------------------- background tiles


class _TileHandler(http.server.BaseHTTPRequestHandler):
    colour = (200, 30, 200)

    def do_GET(self):
        buffer = io.BytesIO()
        Image.new("RGB", (256, 256), self.colour).save(buffer, format="PNG")
        body = buffer.getvalue()
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # keep the test output quiet
        pass


@pytest.fixture
def tile_server():
    with local_http_server(_TileHandler) as port:
        yield f"http://127.0.0.1:{port}/{{z}}/{{x}}/{{y}}.png"


def test_tiles_are_drawn_when_the_source_answers(tile_server):
    from assetmap.maps.interactive import TileSetting

    setting = TileSetting(tile_server, "Tiles © Test Tiles")
    built = build_map("sites", make_sites(0), place="Maidstone 001A", tiles=setting, inset=False)
    assert not any("could not be used" in n for n in built.notes)
    assert [im.get_gid() for im in built.figure.axes[0].images] == ["background-tiles"]
    plain = build_map("sites", make_sites(0), place="Maidstone 001A", inset=False)

    def magenta(figure) -> float:
        buffer = io.BytesIO()
        save_map(figure, buffer, format="png", dpi=150)
        pixels = frame_pixels(figure, Image.open(buffer)).reshape(-1, 3).astype(int)
        return float((pixels[:, 0] - pixels[:, 1]).mean())  # red minus green

    assert magenta(built.figure) > magenta(plain.figure) + 60, "the tiles show under the map"
    text = svg_texts(
        map_bytes(
            "sites", make_sites(0), format="svg", place="Maidstone 001A", tiles=setting, inset=False
        )
    )
    assert "Tiles © Test Tiles" in text and ATTRIBUTION in text


def test_unreachable_tiles_leave_the_map_without_them():
    with socket.socket() as sock:  # a port with nothing listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/{{z}}/{{x}}/{{y}}.png"
    built = build_map("sites", make_sites(20), place="Maidstone 001A", tiles=url, inset=False)
    assert any("could not be used" in n and "drawn without them" in n for n in built.notes)
    assert not any(im.get_gid() == "background-tiles" for im in built.figure.axes[0].images)


def test_drawing_from_another_thread_gives_the_same_file(sites):
    here = map_bytes("sites", sites, format="svg", place="Maidstone", drawn_on=DAY)
    out = {}
    worker = threading.Thread(
        target=lambda: out.setdefault(
            "svg", map_bytes("sites", sites, format="svg", place="Maidstone", drawn_on=DAY)
        )
    )
    worker.start()
    worker.join()
    assert out["svg"] == here


# --------------------------------------------------------------------------- the command


@pytest.fixture
def sample_env(sample_store_built, monkeypatch) -> Path:
    path = sample_store_built
    monkeypatch.setenv(STORE_ENV, str(path))
    monkeypatch.delenv("ASSETMAP_TILE_URL", raising=False)
    return path


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_export_map_writes_the_file(fmt, sample_env, tmp_path, capsys):
    out = tmp_path / f"maidstone.{fmt}"
    code = main(
        [
            "export-map",
            "--kind",
            "clusters",
            "--place",
            "maidstone",
            "--out",
            str(out),
            "--dpi",
            "150",
            "--paper",
            "a3",
            "--landscape",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert f"Wrote {out}: Co-location clusters: Maidstone" in printed
    assert "A3 landscape" in printed
    assert out.read_bytes()[:5] in (b"\x89PNG\r", b"%PDF-", b"<?xml")


def test_export_map_reports_every_bad_option_once_and_writes_nothing(sample_env, tmp_path, capsys):
    out = tmp_path / "map.png"
    code = main(
        [
            "export-map",
            "--kind",
            "heat",
            "--place",
            "Maidstne",
            "--format",
            "gif",
            "--paper",
            "A5",
            "--out",
            str(out),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("assetmap: error:") == 1
    assert "--kind 'heat' is not a map kind; expected one of: sites, density" in err
    assert "--place 'Maidstne' is not a place" in err and "did you mean: Maidstone" in err
    assert "--format 'gif' is not a map file format; expected one of: png, pdf, svg" in err
    assert "--paper 'A5' is not a paper size; expected one of: A4, A3" in err
    assert not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["--out", "{tmp}/m.png", "--format", "pdf"], r"--out '.*m.png' ends .png but --format i"),
        (["--out", "{tmp}/map"], r"--out '.*map' does not say the format; expected --format"),
        (["--out", "{tmp}/file/m.png"], r"--out '.*m.png' cannot be written: '.*file' is a file"),
        (["--out", "{tmp}/m.png", "--dpi", "96"], r"--dpi 96 is not valid; expected one of: 150"),
    ],
)
def test_export_map_refuses_unusable_output(argv, match, sample_env, tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(["export-map", "--place", "Maidstone", *argv]) == 2
    assert re.search(match, capsys.readouterr().err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_export_map_of_an_empty_place_says_no_sites(tmp_path, monkeypatch, capsys):
    store = write_store(tmp_path / "estate.gpkg", make_sites(30))
    monkeypatch.setenv(STORE_ENV, str(store))
    out = tmp_path / "thanet.svg"
    assert main(["export-map", "--place", "Thanet", "--out", str(out)]) == 0
    assert "No sites to show in Thanet" in svg_texts(out.read_bytes())
    assert "note: no sites to show in thanet" in capsys.readouterr().out.lower()


def test_dense_point_layers_are_rasterised_in_svg_but_the_legend_stays_text():
    dense = make_sites(static.RASTERIZE_ABOVE + 600)
    data = map_bytes("sites", dense, format="svg", dpi=150, drawn_on=DAY)
    root = ET.fromstring(data)
    assert len(list(root.iter(f"{SVG_NS}image"))) == 1, "the point layers became one image"
    text = svg_texts(data)
    assert f"Council ({(dense['sector'] == 'council').sum():,})" in text
    assert f"{len(dense):,} sites drawn" in text
    sparse = map_bytes("sites", dense.iloc[:300], format="svg", dpi=150, drawn_on=DAY)
    assert not list(ET.fromstring(sparse).iter(f"{SVG_NS}image"))


def test_dollar_signs_in_names_are_text_not_formulas():
    """matplotlib reads "$...$" as a formula: a name such as "$\\nosuchcmd$" (from a
    boundary file, a title, a register) must be drawn as it is, not fail the map."""
    hostile = "Ward $\\nosuchcmd$ and $x^2$"
    built = build_map("sites", make_sites(20), place="Maidstone", title=hostile, drawn_on=DAY)
    buffer = io.BytesIO()
    save_map(built.figure, buffer, format="svg", dpi=150)
    assert hostile in svg_texts(buffer.getvalue())


def test_counts_read_as_english_for_one_site():
    two = make_sites(2)
    two["sensitivity"] = ["open", "restricted"]
    built = build_map("sites", two, drawn_on=DAY)
    buffer = io.BytesIO()
    save_map(built.figure, buffer, format="svg", dpi=150)
    text = svg_texts(buffer.getvalue())
    assert "1 site drawn." in text and "restricted" not in text  # nothing says one was withheld
    assert built.notes == []
    assert static.count_text(1_549, "site") == "1,549 sites"


# --------------------------------------------------------------------------- places anywhere

GM_ICB = "E54000057"  # NHS Greater Manchester Integrated Care Board
TRAFFORD, SALFORD = "E08000009", "E08000006"


def sites_within(outline, n: int, *, seed: int = 3) -> gpd.GeoDataFrame:
    """``n`` test sites at random points inside ``outline`` (EPSG:27700)."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = outline.bounds
    xs: list[float] = []
    ys: list[float] = []
    while len(xs) < n:
        x, y = rng.uniform(x0, x1, 4 * n), rng.uniform(y0, y1, 4 * n)
        inside = shapely.contains_xy(outline, x, y)
        xs.extend(x[inside]), ys.extend(y[inside])
    sites = offering_sites(n)
    return sites.set_geometry(gpd.points_from_xy(xs[:n], ys[:n]), crs="EPSG:27700")


def halves(outline) -> gpd.GeoDataFrame:
    """Two 'wards' splitting ``outline`` at the middle of its width."""
    x0, y0, x1, y1 = outline.bounds
    mid = (x0 + x1) / 2
    parts = [outline.intersection(shapely.box(x0, y0, mid, y1)), outline]
    parts[1] = outline.intersection(shapely.box(mid, y0, x1, y1))
    return gpd.GeoDataFrame(
        {"code": ["W1", "W2"], "name": ["West Half", "East Half"]},
        geometry=[shapely.make_valid(p) for p in parts],
        crs="EPSG:27700",
    )


@pytest.fixture(scope="module")
def trafford() -> static.Place:
    return resolve_place("Trafford")


@pytest.fixture(scope="module")
def trafford_sites(trafford) -> gpd.GeoDataFrame:
    return sites_within(trafford.geometry, 60)


def store_keeping_places(folder: Path):
    """A store of 60 sites in Trafford keeping a union of two districts and a boundary set.

    The union is "Trafford and Salford"; the set "halves" splits Trafford into "West
    Half" and "East Half".
    """
    from assetmap.store import open_store
    from assetmap.user_places import add_boundary_set, save_place

    outline = resolve_place("Trafford").geometry
    store = open_store(write_store(folder / "estate.gpkg", sites_within(outline, 60)))
    save_place(store, "Trafford and Salford", "district", [TRAFFORD, SALFORD])
    add_boundary_set(store, "halves", halves(outline))
    return store


@pytest.fixture
def kept_places(tmp_path):
    return store_keeping_places(tmp_path)


def _inset(figure):
    return next(ax for ax in figure.axes if ax.get_gid() == "locator-inset")


def test_a_district_anywhere_draws_with_no_boundary_file(trafford, trafford_sites):
    from assetmap.places import place_localities

    built = build_map("density", trafford_sites, place="Trafford", drawn_on=DAY)
    lsoas = len(place_localities(trafford))
    assert built.place.codes == (TRAFFORD,) and built.place.sublevel == "lsoa"
    assert built.sites_drawn == len(trafford_sites) == 60
    assert sum(int(re.search(r"\((\d+) localit", e).group(1)) for e in built.legend[:-1]) == lsoas
    # classes of real counts: the top class reaches above nought (no "0 – 0" legend)
    assert float(re.search(r"– ([\d.]+)", built.legend[-2]).group(1)) > 0
    assert built.title == "Density of the public estate: Trafford"
    assert not [n for n in built.notes if "inset" in n]
    # the inset shows Trafford within its integrated care board (Greater Manchester)
    inset = _inset(built.figure)
    icb = resolve_place(GM_ICB).geometry
    (x0, x1), (y0, y1) = inset.get_xlim(), inset.get_ylim()
    gx0, gy0, gx1, gy1 = icb.bounds
    assert x0 <= gx0 and gx1 <= x1 and y0 <= gy0 and gy1 <= y1
    assert inset.get_title() == "Where Trafford lies"
    svg = svg_texts(
        map_bytes("sites", trafford_sites, place="trafford", format="svg", drawn_on=DAY)
    )
    assert "Public estate by sector: Trafford" in svg and "60 sites drawn" in svg


def test_an_icb_place_counts_in_its_districts():
    icb = resolve_place(GM_ICB)
    sites = sites_within(icb.geometry, 80)
    built = build_map("density", sites, place=GM_ICB, drawn_on=DAY)
    assert built.place.level == "icb" and built.place.sublevel == "district"
    counted = sum(int(re.search(r"\((\d+) localit", e).group(1)) for e in built.legend[:-1])
    assert counted == 10  # Greater Manchester's ten districts
    assert built.sites_drawn == 80
    assert "by district" in svg_texts(
        map_bytes("density", sites, place=GM_ICB, format="svg", drawn_on=DAY)
    )


def test_a_saved_union_and_an_area_of_a_boundary_set_are_places(kept_places, trafford_sites):
    assert len(kept_places.sites()) == len(trafford_sites)  # the same 60 sites
    union = build_map("density", trafford_sites, place="Trafford and Salford", store=kept_places)
    assert union.place.source == "saved place" and set(union.place.codes) == {TRAFFORD, SALFORD}
    counted = sum(int(re.search(r"\((\d+) localit", e).group(1)) for e in union.legend[:-1])
    assert counted == 2 and union.sites_drawn == 60
    west = build_map("sites", trafford_sites, place="West Half", store=kept_places)
    east = build_map("sites", trafford_sites, place="east half", store=kept_places)
    assert west.place.level == "boundary set halves"
    assert 0 < west.sites_drawn < 60 and west.sites_drawn + east.sites_drawn == 60
    by_halves = map_bytes(
        "density",
        trafford_sites,
        place="Trafford",
        localities="boundary set halves",
        store=kept_places,
        format="svg",
        drawn_on=DAY,
    )
    text = svg_texts(by_halves)
    assert "by halves" in text and "(1 locality)" in text and "60 sites counted" in text
    with pytest.raises(InvalidArgumentError, match=r"place='West Half' is not a place"):
        build_map("sites", trafford_sites, place="West Half")  # not without its store
