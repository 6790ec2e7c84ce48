"""The sites layer made per view: hexagons far out, points close in, nothing capped."""

from __future__ import annotations

import json
import math
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from assetmap.errors import InvalidArgumentError
from assetmap.maps.interactive import viewport
from assetmap.maps.interactive.sites import SitesLayer
from assetmap.maps.interactive.viewport import (
    POINTS_ZOOM,
    EstateIndex,
    HexLayer,
    ShapeIndex,
    View,
    degrees_precision,
    hex_cells,
    hex_size,
    metres_per_pixel,
    view_layer,
)

MAIDSTONE = (51.2724, 0.5290)  # lat, lon


def _estate(n: int, *, seed: int = 1, centre=(575_000.0, 155_000.0), spread=20_000.0):
    rng = np.random.default_rng(seed)
    x = centre[0] + rng.normal(0, spread, n)
    y = centre[1] + rng.normal(0, spread, n)
    sectors = np.array(["police", "health", "council"])[rng.integers(0, 3, n)]
    return gpd.GeoDataFrame(
        {
            "site_id": [f"S{i}" for i in range(n)],
            "name": [f"Site <b>{i}</b>" for i in range(n)],
            "agency": ["Kent Police"] * n,
            "sector": sectors,
        },
        geometry=gpd.points_from_xy(x, y),
        crs="EPSG:27700",
    )


def _layer_data(layer) -> dict:
    html = layer._template.module.script(layer, {})
    found = re.search(r"var d = (\{.*?\});\n", html, re.S)
    assert found, html[:500]
    return json.loads(found.group(1))


def test_each_point_lies_in_its_hexagon_and_no_nearer_centre_exists():
    rng = np.random.default_rng(7)
    x, y = rng.uniform(0, 700_000, 20_000), rng.uniform(0, 1_200_000, 20_000)
    size = 1_000.0
    q, r = hex_cells(x, y, size)
    cx, cy = size * math.sqrt(3) * (q + r / 2), size * 1.5 * r
    own = np.hypot(x - cx, y - cy)
    assert (own <= size + 1e-6).all()  # inside the circumcircle of its own hexagon
    for dq, dr in [(1, 0), (-1, 0), (0, 1), (0, -1), (1, -1), (-1, 1)]:
        nx = size * math.sqrt(3) * (q + dq + (r + dr) / 2)
        ny = size * 1.5 * (r + dr)
        assert (own <= np.hypot(x - nx, y - ny) + 1e-6).all()


def test_the_grid_scales_with_the_zoom():
    assert hex_size(11) == pytest.approx(hex_size(10) / 2)
    assert metres_per_pixel(0) == pytest.approx(156_543.034 * math.cos(math.radians(52.5)))
    assert degrees_precision(6) == 0.001
    assert degrees_precision(19) == 1e-6


def test_the_hexagons_count_every_located_site_once_by_sector():
    sites = _estate(5_000)
    sites.loc[[3, 4], "geometry"] = None
    index = EstateIndex(sites)
    assert (len(index), index.unlocated, index.total) == (4_998, 2, 5_000)
    for zoom in (6, 9, 12):
        grid = index.grid(zoom)
        assert grid.count.sum() == 4_998
        assert (grid.by_sector.sum(axis=1) == grid.count).all()
        police = index.sectors.index("police")
        assert (
            grid.by_sector[:, police].sum()
            == (sites["sector"] == "police").sum() - (sites.loc[[3, 4], "sector"] == "police").sum()
        )
    assert index.grid(9) is index.grid(9)  # worked out once per zoom


def test_a_far_view_draws_hexagons_whose_counts_add_up_to_the_sites_in_it():
    sites = _estate(20_000)
    index = EstateIndex(sites)
    view = View.around(MAIDSTONE, 8, width_px=900, height_px=640)
    made = view_layer(index, view)
    assert made.mode == "hexagons"
    assert isinstance(made.layer, HexLayer)
    data = _layer_data(made.layer)
    assert sum(data["n"]) == made.in_view == 20_000  # the whole estate is in this view
    k = len(data["labels"])
    assert sum(data["s"]) == 20_000 and len(data["s"]) == k * len(data["n"])
    assert sorted(data["labels"]) == ["council", "health (nhs)", "police"]
    # the corners drawn (centre + the view's offsets) are the cells' own, to a tenth of a pixel
    grid = index.grid(8)
    size = grid.size
    cell = int(np.argmax(grid.count))
    exact = shapely.Point(
        size * math.sqrt(3) * (grid.q[cell] + grid.r[cell] / 2) + size * math.cos(math.pi / 6),
        size * 1.5 * grid.r[cell] + size * math.sin(math.pi / 6),
    )
    at = data["x"].index(round(float(grid.lon[cell]), 5))
    drawn = gpd.GeoSeries(
        [shapely.Point(data["x"][at] + data["o"][0], data["y"][at] + data["o"][1])], crs=4326
    ).to_crs(27700)
    assert drawn.iloc[0].distance(exact) < metres_per_pixel(8) / 10
    assert "sites" in made.message and "zoom in" in made.message
    assert made.legend[0][0].startswith("1")


def test_a_near_view_draws_its_sites_one_by_one_with_escaped_tips():
    sites = _estate(20_000)
    index = EstateIndex(sites)
    view = View.around(MAIDSTONE, 15, width_px=900, height_px=640)
    made = view_layer(index, view)
    assert made.mode == "points"
    assert isinstance(made.layer, SitesLayer)
    data = _layer_data(made.layer)
    west, south, east, north = view.data_bounds()
    inside = index.in_bounds(west, south, east, north)
    assert 0 < len(data["id"]) == len(inside) <= viewport.POINT_LIMIT
    assert sorted(data["id"]) == sorted(index.sites["site_id"].iloc[inside])
    assert all("<b>" not in tip for tip in data["tip"])  # names escaped
    assert any("&lt;b&gt;" in tip for tip in data["tip"])


def test_nothing_is_capped_close_in_however_many_sites_one_spot_holds():
    sites = _estate(6_000, spread=5.0)  # 6,000 sites within metres of one another
    index = EstateIndex(sites)
    below = view_layer(index, View.around(MAIDSTONE, POINTS_ZOOM - 1, width_px=900, height_px=640))
    assert below.mode == "hexagons"
    lat, lon = _centre_latlon(sites)
    close = view_layer(index, View.around((lat, lon), POINTS_ZOOM, width_px=900, height_px=640))
    assert close.mode == "points"
    assert len(_layer_data(close.layer)["id"]) == 6_000


def _centre_latlon(sites):
    point = sites.to_crs(4326).geometry.union_all().centroid
    return point.y, point.x


def test_a_small_pan_asks_for_the_same_data_and_a_big_one_does_not():
    view = View.around(MAIDSTONE, 12, width_px=900, height_px=640)
    nudged = View(view.south + 0.001, view.west + 0.001, view.north + 0.001, view.east + 0.001, 12)
    assert view.data_bounds() == nudged.data_bounds()
    moved = View(view.south + 1, view.west + 1, view.north + 1, view.east + 1, 12)
    assert moved.data_bounds() != view.data_bounds()
    west, south, east, north = view.data_bounds()
    assert west < view.west and east > view.east and south < view.south and north > view.north


def test_the_view_st_folium_reports_is_read_and_anything_else_is_not():
    returned = {
        "bounds": {
            "_southWest": {"lat": 51.2, "lng": 0.4},
            "_northEast": {"lat": 51.3, "lng": 0.6},
        },
        "zoom": 13,
    }
    assert View.from_returned(returned) == View(51.2, 0.4, 51.3, 0.6, 13)
    for wrong in (
        None,
        {},
        {"bounds": None, "zoom": 3},
        {**returned, "zoom": "x"},
        {**returned, "zoom": 10**9},  # the browser sends the view: nothing made-up is worked
        {**returned, "zoom": -1},
        {**returned, "bounds": {**returned["bounds"], "_northEast": {"lat": "nan", "lng": 1}}},
    ):
        assert View.from_returned(wrong) is None
    world = {"_southWest": {"lat": -90, "lng": -500}, "_northEast": {"lat": 90, "lng": 500}}
    assert View.from_returned({"bounds": world, "zoom": 0}) == View(-85, -180, 85, 180, 0)
    flipped = {"bounds": {"_southWest": {"lat": 52, "lng": 0}, "_northEast": {"lat": 51, "lng": 1}}}
    assert View.from_returned({**flipped, "zoom": 9}) is None


def test_a_point_limit_below_one_is_refused():
    with pytest.raises(
        InvalidArgumentError, match=r"point_limit=0 is not valid; expected 1 or more"
    ):
        view_layer(EstateIndex(_estate(10)), View(51, 0, 52, 1, 9), point_limit=0)


def test_shapes_in_view_are_those_that_reach_into_it_simplified_for_the_zoom():
    boxes = [shapely.box(x, 150_000, x + 10_000, 160_000) for x in range(500_000, 700_000, 10_000)]
    wiggly = [shapely.Polygon(shapely.segmentize(b, 10).exterior) for b in boxes]
    frame = gpd.GeoDataFrame(
        {"code": [f"C{i}" for i in range(len(boxes))]}, geometry=wiggly, crs="EPSG:27700"
    )
    shapes = ShapeIndex(frame)
    near = View.around(MAIDSTONE, 12, width_px=900, height_px=640)
    found = shapes.in_view(near)
    assert 0 < len(found) < len(frame)
    west, south, east, north = near.data_bounds()
    box = gpd.GeoSeries([shapely.box(west, south, east, north)], crs=4326).to_crs(27700).iloc[0]
    assert set(found["code"]) == set(frame.loc[frame.intersects(box), "code"])
    far = shapes.in_view(View.around(MAIDSTONE, 7, width_px=900, height_px=640))
    assert len(far) == len(frame)
    assert (
        shapely.get_num_coordinates(far.geometry.to_numpy()).sum()
        < shapely.get_num_coordinates(frame.geometry.to_numpy()).sum() / 10
    )
    assert shapes.in_view(near) is found  # kept for the next run with the same view


def test_an_empty_estate_draws_no_point_and_says_nothing_is_missing():
    empty = _estate(0)
    made = view_layer(EstateIndex(empty), View.around(MAIDSTONE, 9, width_px=900, height_px=640))
    assert made.mode == "points" and made.in_view == 0 and made.message == ""
    assert pd.Series(_layer_data(made.layer)["id"]).empty


def test_warming_works_out_every_zooms_hexagons_once():
    index = EstateIndex(_estate(2_000))
    index.warm(range(6, 9)).join(timeout=60)
    assert sorted(index._grids) == [6, 7, 8]  # made by the warming, before any view asked
    grids = {z: index.grid(z) for z in range(6, 9)}
    assert all(grids[z] is index._grids[z] for z in grids)
    assert {z: int(g.count.sum()) for z, g in grids.items()} == {6: 2_000, 7: 2_000, 8: 2_000}


def _same_grid(a, b) -> None:
    assert a.size == b.size and a.breaks == b.breaks
    for field in ("q", "r", "lon", "lat", "count", "by_sector"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field


def test_a_subset_is_indexed_as_if_from_its_own_rows():
    sites = _estate(4_000, seed=5)
    sites.loc[[3, 4, 10], "geometry"] = None
    whole = EstateIndex(sites)
    rng = np.random.default_rng(2)
    keep = (sites["sector"] != "health").to_numpy() & (rng.random(len(sites)) < 0.7)
    keep[[3, 10]] = True  # two of the unlocated are chosen
    part = whole.subset(keep)
    fresh = EstateIndex(sites[keep].reset_index(drop=True))
    assert (len(part), part.unlocated, part.total) == (len(fresh), 2, int(keep.sum()))
    for zoom in (6, 9, 13):
        _same_grid(part.grid(zoom), _regrid(fresh, whole, zoom))
    box = (0.3, 51.1, 0.7, 51.4)
    assert np.array_equal(part.in_bounds(*box), fresh.in_bounds(*box))
    positions = part.in_bounds(*box)[:50]
    assert (
        part.rows(positions)["site_id"].tolist() == fresh.sites.iloc[positions]["site_id"].tolist()
    )
    assert part.sites["site_id"].tolist() == fresh.sites["site_id"].tolist()
    # a subset of a subset
    again = part.subset(_every_other(part.total))
    fresh_again = EstateIndex(
        sites[keep].reset_index(drop=True)[_every_other(part.total)].reset_index(drop=True)
    )
    assert again.sites["site_id"].tolist() == fresh_again.sites["site_id"].tolist()
    assert again.grid(9).count.sum() == len(fresh_again)


def _every_other(n: int) -> np.ndarray:
    return np.arange(n) % 2 == 0


def _regrid(fresh, whole, zoom):
    # a subset keeps its parent's sector order; a fresh index orders the sectors it
    # meets first: put the fresh grid's columns in the parent's order to compare
    grid = fresh.grid(zoom)
    order = [fresh.sectors.index(s) if s in fresh.sectors else None for s in whole.sectors]
    columns = [
        grid.by_sector[:, i] if i is not None else np.zeros(len(grid.count), dtype=np.int64)
        for i in order
    ]
    return viewport.HexGrid(
        grid.size,
        grid.q,
        grid.r,
        grid.lon,
        grid.lat,
        grid.count,
        np.column_stack(columns),
        grid.breaks,
    )


def test_a_subset_takes_one_flag_per_site():
    whole = EstateIndex(_estate(10))
    with pytest.raises(InvalidArgumentError, match=r"keep must be 10 true or false flags"):
        whole.subset(np.ones(9, dtype=bool))
    with pytest.raises(InvalidArgumentError, match=r"got int64 of shape \(10,\)"):
        whole.subset(np.ones(10, dtype=np.int64))


def test_a_choropleth_image_paints_each_locality_in_its_class_colour():
    import base64
    import io
    import json

    from PIL import Image

    from assetmap.maps.style import NO_DATA_COLOUR, class_colours

    view = View.around(MAIDSTONE, 11, width_px=900, height_px=640)
    lat, lon = MAIDSTONE
    d = 0.01
    outer = shapely.box(lon - 4 * d, lat - 4 * d, lon + 4 * d, lat + 4 * d).difference(
        shapely.box(lon - d, lat - d, lon + d, lat + d)
    )
    frame = gpd.GeoDataFrame(
        {"class": pd.array([0, 4, None], dtype="Int64")},
        geometry=[
            outer,  # a locality with a hole...
            shapely.box(lon - d, lat - d, lon + d, lat + d),  # ...holding another
            shapely.box(lon + 6 * d, lat, lon + 8 * d, lat + 2 * d),  # no data
        ],
        crs="EPSG:4326",
    )
    layer = viewport.choropleth_image(frame, view, k=5, attribution="ONS")
    url = json.loads(layer.url_js)
    image = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGBA")
    bounds = json.loads(layer.bounds_js)
    west, south, east, north = view.data_bounds()
    assert bounds == [[south, west], [north, east]]

    def pixel(lat_: float, lon_: float) -> str:
        world = 256 * 2**view.zoom
        x = (lon_ + 180) / 360 * world - (west + 180) / 360 * world
        merc = lambda v: math.log(math.tan(math.pi / 4 + math.radians(v) / 2))  # noqa: E731
        y = (merc(north) - merc(lat_)) / (2 * math.pi) * world
        r, g, b, a = image.getpixel((int(x), int(y)))
        return "none" if a == 0 else f"#{r:02x}{g:02x}{b:02x}"

    colours = class_colours(5)
    assert pixel(lat + 3 * d, lon) == colours[0]  # the ring
    assert pixel(lat, lon) == colours[4]  # the locality in its hole, painted over it
    assert pixel(lat + d, lon + 7 * d) == NO_DATA_COLOUR
    assert pixel(lat - 10 * d, lon - 10 * d) == "none"


def test_transformations_for_views_run_on_one_long_lived_thread():
    import threading

    from assetmap.maps.interactive.features import on_transform_thread

    seen: list[str] = []

    def where() -> str:
        name = threading.current_thread().name
        # a call from the transform thread itself runs there, without waiting on itself
        assert on_transform_thread(lambda: threading.current_thread().name) == name
        return name

    runs = [threading.Thread(target=lambda: seen.append(on_transform_thread(where))) for _ in "ab"]
    for run in runs:
        run.start()
        run.join(timeout=30)
    assert len(seen) == 2 and seen[0] == seen[1] and seen[0].startswith("assetmap-transforms")
    with pytest.raises(ZeroDivisionError):  # its errors reach the caller
        on_transform_thread(lambda: 1 / 0)
