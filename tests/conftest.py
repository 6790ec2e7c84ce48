"""Shared fixtures: the real data folder beside the project, fresh stores, the sample estate.

The markers (``browser``, ``slow``, ``realdata``) are registered in ``pyproject.toml``.
Under pytest-xdist (``-n`` in its ``addopts``) every ``browser`` test also joins the
``xdist_group`` "browser", so that with ``--dist loadgroup`` the Chromium and server
tests run one after another in one worker while the other tests share the cores.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pg import pg_empty, pg_server, pg_store  # noqa: F401 (fixtures for every test)

ROOT = Path(__file__).resolve().parents[1]
#: Real public data, kept beside the project (never copied into it).
SHARED_DATA = ROOT.parent / "shared" / "data"


def shared_file(*parts: str) -> Path:
    """A file of ../shared/data, or skip the test with the reason."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not available: {path} is missing (../shared sits beside the repo)")
    return path


# --------------------------------------------------------------------------- xdist groups
#
# pytest-xdist 3.8's --dist=loadgroup tells the controller a test's group by appending
# "@group" to the test's id in the worker. pytest 9.2 keeps ids in another attribute, so
# that rename no longer takes effect and every group is silently ignored (pytest-xdist
# issue 1386). Until a release mends it, each worker writes down its tests' groups in a
# folder the controller names, and the controller's scheduler reads them. Once xdist
# renames ids again, the "@group" ids it sends are grouped as before.

#: The key of :attr:`workerinput` naming the folder of the workers' group lists.
_GROUPS_KEY = "assetmap_xdist_groups"
_groups_folder = pytest.StashKey[Path]()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """(The xdist controller, for each worker.) Name the folder of the group lists."""
    config = node.config
    if _groups_folder not in config.stash:
        config.stash[_groups_folder] = Path(tempfile.mkdtemp(prefix="assetmap-xdist-groups-"))
    node.workerinput[_GROUPS_KEY] = str(config.stash[_groups_folder])


def pytest_unconfigure(config: pytest.Config) -> None:
    """(The xdist controller.) Remove the folder of the group lists."""
    if _groups_folder in config.stash:
        shutil.rmtree(config.stash[_groups_folder], ignore_errors=True)


def _xdist_group(item: pytest.Item) -> str | None:
    """The test's group as xdist names it (several groups joined), or None."""
    names = {
        str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
        for mark in item.iter_markers("xdist_group")
    }
    return "_".join(sorted(names)) or None


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """(The xdist controller.) ``--dist=loadgroup`` that reads the workers' group lists."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class ListedGroupScheduling(LoadGroupScheduling):
        groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self.groups is None:  # first called once every worker has collected
                folder = config.stash.get(_groups_folder, None)
                self.groups = {}
                for path in sorted(folder.glob("*.json")) if folder else ():
                    self.groups.update(json.loads(path.read_text(encoding="utf-8")))
            return self.groups.get(nodeid) or super()._split_scope(nodeid)

    return ListedGroupScheduling(config, log)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Put every ``browser`` test in the xdist group "browser" (one worker runs them all).

    In an xdist worker, also write down each test's group for the controller (see above),
    and hand out the ``slow`` tests first (after the groups, which xdist sends first,
    largest first), so that no long test starts last while the other workers have
    finished. ``tryfirst``: the group must be on the test before xdist's own hook reads it.
    """
    for item in items:
        if item.get_closest_marker("browser") is not None:
            item.add_marker(pytest.mark.xdist_group("browser"))
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None:
        return
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
    if _GROUPS_KEY in workerinput:
        groups = {item.nodeid: group for item in items if (group := _xdist_group(item))}
        target = Path(workerinput[_GROUPS_KEY], f"{workerinput['workerid']}.json")
        partial = target.with_suffix(".tmp")
        partial.write_text(json.dumps(groups), encoding="utf-8")
        os.replace(partial, target)


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    """A store file that does not exist yet."""
    return tmp_path / "estate.gpkg"


@pytest.fixture(params=["geopackage", "postgis"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """A store that does not hold anything yet, once of each kind: for store-level tests.

    A GeoPackage file that does not exist yet (as :func:`store_path`), or the app
    role's URL of a fresh PostGIS database with the schema (``pg_store``; the server
    is started only for this parameter).
    """
    if request.param == "postgis":
        _, app_url = request.getfixturevalue("pg_store")
        return app_url
    return tmp_path / "estate.gpkg"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def sample_store_built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The bundled sample estate's store, imported once per session (per xdist worker).

    Shared by every test of the session: read it, never write to it (a test that writes
    takes :func:`sample_store`, a fresh copy). The session fails at its end if the
    file's bytes changed.
    """
    from assetmap.sample import build_sample_store

    path = tmp_path_factory.mktemp("sample") / "estate.gpkg"
    build_sample_store(path)
    built = _sha256(path)
    yield path
    assert _sha256(path) == built, (
        f"a test wrote to the shared sample store {path}: take the sample_store fixture (a copy)"
    )


@pytest.fixture
def sample_store(sample_store_built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh copy of the sample estate's store, for this test alone.

    In a folder of its own, so that ``tmp_path`` holds only what the test writes.
    """
    path = tmp_path_factory.mktemp("sample-copy") / "sample.gpkg"
    shutil.copyfile(sample_store_built, path)
    return path


@pytest.fixture(scope="session")
def trafford_store_built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The second sample estate's store (Trafford, outside Kent), imported once per session.

    Read it, never write to it (copy it to ``tmp_path`` first): the session fails at its
    end if the file's bytes changed.
    """
    from assetmap.sample import build_sample_store

    path = tmp_path_factory.mktemp("trafford") / "trafford.gpkg"
    build_sample_store(path, place="trafford")
    built = _sha256(path)
    yield path
    assert _sha256(path) == built, (
        f"a test wrote to the shared Trafford sample store {path}: copy it to tmp_path first"
    )
