"""The engine's layers, as the README's development section draws them.

Every module of ``assetmap/`` belongs to one layer, and imports only from its own layer or
the layers below (deferred imports inside functions count too); no modules import each
other in a cycle. A new module fails here until it is given its layer, in this table and
in the README.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.app.test_layering import _cycle, _module_name
from tests.app.test_layering import _imports as imported_names

ROOT = Path(__file__).resolve().parents[1]
ENGINE = ROOT / "assetmap"

#: Bottom to top, as in the README.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("foundation", ("errors", "_validate", "settings", "datasets")),
    ("rules", ("schema", "access", "audit", "files", "maps.style", "maps.safe_html")),
    (
        "data",
        (
            "postcodes",
            "national",
            "localities",
            "place_names",
            "places",
            "user_places",
            "io",
            "store",
            "registers",
        ),
    ),
    (
        "analyses",
        (
            "selection",
            "savings",
            "colocation",
            "matching",
            "density",
            "exchange",
            "lease_events",
            "residents_access",
            "completeness",
            "scenarios",
            "scenario_io",
            "sample",
        ),
    ),
    ("maps", ("maps.__init__", "maps.interactive", "maps.static", "maps.pack")),
    ("faces", ("__init__", "__main__", "cli", "app")),
]


def _layer_of(module: str) -> int:
    """Return the layer of ``module`` (by its longest listed prefix), or -1."""
    name = module.removeprefix("assetmap.")
    best, found = -1, -1
    for level, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > best:
                best, found = len(prefix), level
    return found


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Return the engine modules ``path`` imports, anywhere in it (deferred imports too).

    ``from package import module`` counts as importing the module, not the package's
    ``__init__`` (whose names are lazy or re-exported from below): a package is dropped
    when a module inside it is imported by name.
    """
    raw = imported_names(path)
    modules_named = {name for name in raw if name in modules}
    packages = {
        name
        for name in raw
        if f"{name}.__init__" in modules and any(m.startswith(name + ".") for m in modules_named)
    }
    return _resolved(raw - packages, modules)


def _engine() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(ENGINE.rglob("*.py"))}


def _resolved(imported: set[str], modules: dict[str, Path]) -> set[str]:
    """Return the engine modules among ``imported`` (a package counts as its __init__)."""
    out = set()
    for name in imported:
        if name in modules:
            out.add(name)
        elif f"{name}.__init__" in modules:
            out.add(f"{name}.__init__")
    return out


def test_every_module_has_a_layer():
    unplaced = [m for m in _engine() if _layer_of(m) < 0]
    assert unplaced == []


def test_no_module_imports_from_a_layer_above_its_own():
    modules = _engine()
    upward = []
    for name, path in modules.items():
        own = _layer_of(name)
        for target in sorted(_imports(path, modules)):
            if _layer_of(target) > own:
                upward.append(
                    f"{name} ({LAYERS[own][0]}) imports {target} ({LAYERS[_layer_of(target)][0]})"
                )
    assert upward == []


@pytest.mark.parametrize("layer", [name for name, _ in LAYERS])
def test_no_import_cycle_in_the_engine(layer):
    modules = _engine()
    graph = {
        name: {t for t in _imports(path, modules) if t != name}
        for name, path in modules.items()
        if LAYERS[_layer_of(name)][0] == layer
    }
    graph = {name: targets & set(graph) for name, targets in graph.items()}
    assert _cycle(graph) == []


def test_the_layers_rank_modules_as_the_readme_draws_them():
    # A rules module that imported the store, or the style that imported a print map, is upward.
    assert _layer_of("assetmap.schema") < _layer_of("assetmap.store.interface")
    assert _layer_of("assetmap.maps.style") < _layer_of("assetmap.maps.static.render")
    assert _layer_of("assetmap.nowhere") == -1
