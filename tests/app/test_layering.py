"""The app's layers: no import cycle among its modules, and the pure selection in the engine."""

from __future__ import annotations

import ast
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from assetmap import selection
from assetmap.app import shell
from tests.maps.factories import make_sites

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "assetmap" / "app"


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in it (deferred imports in functions too)."""
    package = _module_name(path).rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found.add(base)
            # ``from assetmap.app import shell`` imports the module assetmap.app.shell.
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def _app_graph() -> dict[str, set[str]]:
    files = [*sorted(APP.rglob("*.py")), ROOT / "streamlit_app.py"]
    modules = {_module_name(p): p for p in files}
    return {name: _imports(path) & set(modules) for name, path in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of ``graph`` (module -> imported modules), or ``[]``."""
    done: set[str] = set()
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        if node in stack:
            return [*stack[stack.index(node) :], node]
        if node in done:
            return []
        stack.append(node)
        for target in sorted(graph[node]):
            if found := visit(target):
                return found
        stack.pop()
        done.add(node)
        return []

    for node in sorted(graph):
        if found := visit(node):
            return found
    return []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_the_graph_sees_the_app_imports():
    graph = _app_graph()
    assert "assetmap.app.shell" in graph["assetmap.app.map_page"]
    assert "assetmap.app.sidebar" in graph["assetmap.app.shell"]
    assert "assetmap.app.downloads" in graph["assetmap.app.shell"]
    assert "assetmap.app.state" in graph["assetmap.app.auth"]
    assert "assetmap.app.map_page" in graph["assetmap.app.pages.map"]


def test_the_app_modules_import_no_cycle():
    """Not even through an import inside a function."""
    assert _cycle(_app_graph()) == []


def test_the_shared_modules_import_no_page():
    graph = _app_graph()
    for name in ("auth", "state", "sidebar", "downloads", "shell"):
        imported = graph[f"assetmap.app.{name}"]
        assert not {m for m in imported if m.endswith("_page")}, name
        assert "assetmap.app.shell" not in imported or name == "shell"


def test_shell_gives_the_pure_selection_under_the_old_names():
    assert shell.Selection is selection.Selection
    assert shell.filter_sites is selection.filter_sites


# --------------------------------------------------------------------------- pure selection


def test_filter_options_are_the_non_blank_values_sorted():
    sites = make_sites(4)
    sites["use"] = ["Office", None, "  ", "Depot"]
    assert selection.filter_options(sites, "use") == ["Depot", "Office"]


def test_inside_place_takes_a_point_on_the_surface_and_no_missing_geometry():
    square = shapely.box(0, 0, 10, 10)
    # A "C" inside the square whose centroid lies in its gap: the point on its surface is in.
    c_shape = shapely.box(1, 1, 9, 9).difference(shapely.box(3, 3, 9, 7))
    frame = gpd.GeoDataFrame(
        geometry=[
            shapely.Point(5, 5),
            shapely.Point(15, 5),
            None,
            shapely.Polygon(),
            c_shape,
            shapely.box(20, 20, 30, 30),
        ],
        crs=27700,
    )
    assert selection.inside_place(frame, None).tolist() == [True] * 6
    assert not c_shape.contains(c_shape.centroid)
    got = selection.inside_place(frame, c_shape)
    assert got.tolist() == [False, False, False, False, True, False]
    got = selection.inside_place(frame, square)
    assert got.tolist() == [True, False, False, False, True, False]


def test_place_outline_is_the_union_of_the_code_or_of_all():
    localities = gpd.GeoDataFrame(
        {"code": ["A", "B"], "name": ["a", "b"]},
        geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)],
        crs=27700,
    )
    assert selection.place_outline(localities, "A").equals(shapely.box(0, 0, 1, 1))
    assert selection.place_outline(localities, "").area == pytest.approx(2.0)
    assert selection.place_outline(localities, "C") is None


def test_select_sites_is_the_place_then_the_filters():
    sites = make_sites(12)
    outline = shapely.union_all(np.asarray(sites.geometry.iloc[:6].buffer(1.0), dtype=object))
    chosen = selection.Selection(sectors=("police",))
    got = selection.select_sites(sites, outline, chosen)
    expected = selection.filter_sites(sites.iloc[:6], ["police"])
    assert len(got) == 1
    assert got.index.tolist() == expected.index.tolist()
    assert len(selection.select_sites(sites, None, selection.Selection())) == 12


def test_select_requests_keeps_the_requests_with_no_point():
    requests = gpd.GeoDataFrame(
        {"request_id": ["in", "out", "nowhere"]},
        geometry=[shapely.Point(1, 1), shapely.Point(50, 50), None],
        crs=27700,
    )
    got = selection.select_requests(requests, shapely.box(0, 0, 10, 10))
    assert got["request_id"].tolist() == ["in", "nowhere"]


def test_a_selection_describes_its_filters():
    assert selection.Selection().describe() == "no filters"
    chosen = selection.Selection(sectors=(), agencies=("Kent Police",), min_surplus=1000)
    assert chosen.describe() == "no sector; Kent Police; at least 1,000 sq ft surplus"
    assert chosen.key() == ("", "", (), ("Kent Police",), (), (), 1000)
