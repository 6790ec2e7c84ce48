"""The package as a Python user and an installer meet it.

``import assetmap`` is cheap and its public names (``assetmap.__all__``) resolve lazily;
the engine never imports streamlit; and ``pip install .`` into a fresh virtual
environment gives a working ``assetmap`` command, away from the project's folder,
with the bundled boundaries and sample estate inside the installed package.
"""

from __future__ import annotations

import ast
import importlib
import os
import pkgutil
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import assetmap

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "assetmap"

#: Heavy libraries that ``import assetmap`` must leave unloaded.
HEAVY = ("pandas", "numpy", "geopandas", "shapely", "matplotlib", "folium", "streamlit")


def _run(args: list[str], *, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run a command with this environment less any PYTHONPATH (so only installs count)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def _engine_modules() -> list[str]:
    """Every module of the engine: all of assetmap but the app and ``__main__``."""
    names = ["assetmap"]
    for info in pkgutil.walk_packages([str(PACKAGE)], prefix="assetmap."):
        if info.name == "assetmap.app" or info.name.startswith("assetmap.app."):
            continue
        if info.name.endswith(".__main__"):
            continue  # running it is the command line
        names.append(info.name)
    return names


# --------------------------------------------------------------------------- the public API


def test_import_assetmap_loads_no_heavy_library():
    code = (
        "import sys, assetmap; assetmap.__version__; assetmap.__all__; dir(assetmap); "
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = _run([sys.executable, "-c", code], cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == []


def test_a_public_name_loads_its_module_only_when_asked_for():
    code = (
        "import sys, assetmap; before = 'assetmap.store' in sys.modules; "
        "from assetmap import open_store; "
        "print(before, 'assetmap.store' in sys.modules, open_store.__module__)"
    )
    done = _run([sys.executable, "-c", code], cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True", "assetmap.store"]


@pytest.mark.parametrize("name", assetmap.__all__)
def test_every_public_name_resolves_to_its_module_object(name):
    module = importlib.import_module(assetmap._EXPORTS[name], "assetmap")
    assert getattr(assetmap, name) is getattr(module, name)
    assert name in dir(assetmap)


def test_all_lists_every_export_once_and_every_error_class():
    assert len(assetmap.__all__) == len(set(assetmap.__all__))
    assert set(assetmap.__all__) == set(assetmap._EXPORTS)
    errors = importlib.import_module("assetmap.errors")
    classes = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and value.__module__ == errors.__name__
    }
    assert "StoreError" in classes
    assert classes <= set(assetmap.__all__)


def test_star_import_gives_every_public_name():
    namespace: dict = {}
    exec("from assetmap import *", namespace)
    assert set(assetmap.__all__) <= set(namespace)


def test_type_checking_imports_name_the_same_modules_as_the_lazy_table():
    """The ``if TYPE_CHECKING:`` imports (for type checkers) and ``_EXPORTS`` agree."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8"))
    block = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    )
    imported = {
        alias.name: "." * node.level + (node.module or "")
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert imported == assetmap._EXPORTS


def test_no_public_name_is_also_a_submodule():
    """``import assetmap.X`` would replace a public ``assetmap.X`` with the module."""
    submodules = {info.name for info in pkgutil.iter_modules([str(PACKAGE)])}
    assert submodules.isdisjoint(assetmap.__all__)


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="module 'assetmap' has no attribute 'no_such_name'"):
        assetmap.no_such_name  # noqa: B018
    assert not hasattr(assetmap, "visible_mask")  # two modules define one: neither is public


# --------------------------------------------------------------------------- no streamlit


def _streamlit_imports(path: Path) -> list[str]:
    """``file:line module`` of every import of streamlit or streamlit_folium in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        else:
            continue
        found += [f"{path.name}:{node.lineno} {n}" for n in names]
    return [f for f in found if f.split()[-1].split(".")[0] in ("streamlit", "streamlit_folium")]


def test_engine_source_never_imports_streamlit():
    """Not even inside a function: every ``import`` statement outside assetmap/app/."""
    files = [p for p in PACKAGE.rglob("*.py") if (PACKAGE / "app") not in p.parents]
    assert len(files) > 20
    hits = {str(p.relative_to(ROOT)): _streamlit_imports(p) for p in sorted(files)}
    assert {path: found for path, found in hits.items() if found} == {}


def test_importing_every_engine_module_loads_no_streamlit():
    modules = _engine_modules()
    assert "assetmap.store" in modules and "assetmap.registers.importer" in modules
    code = (
        f"import importlib, sys\nfor name in {modules!r}:\n    importlib.import_module(name)\n"
        "print(' '.join(m for m in sys.modules if m.split('.')[0] "
        "in ('streamlit', 'streamlit_folium')))"
    )
    done = _run([sys.executable, "-c", code], cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == []


def test_the_source_check_sees_an_import_inside_a_function(tmp_path):
    path = tmp_path / "probe.py"
    path.write_text(
        "import os\n\n\ndef f():\n    import streamlit.components.v1 as components\n"
        "    from streamlit_folium import st_folium\n    from .streamlit import x\n",
        encoding="utf-8",
    )
    assert _streamlit_imports(path) == [
        "probe.py:5 streamlit.components.v1",
        "probe.py:6 streamlit_folium",
    ]


# --------------------------------------------------------------------------- pip install .


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with ``pip install --no-deps --no-build-isolation .``.

    The project is copied first, so that the build writes no ``build/`` or
    ``*.egg-info`` into the work tree. The environment is made without pip and given a
    ``.pth`` file that adds this environment's site-packages (with their own ``.pth``
    files): it then has the dependencies, pip and setuptools installed here, and no
    copy of assetmap but its own. (``--system-site-packages`` would not do: a virtual
    environment made from another one sees the base interpreter's packages, not the
    other environment's.)
    """
    base = tmp_path_factory.mktemp("package")
    source = base / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "__pycache__", "*.egg-info", "build", "test-artifacts",
            ".hypothesis", ".pytest_cache", ".ruff_cache", "estate.gpkg*",
        ),
    )  # fmt: skip
    venv = base / "venv"
    done = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=base)
    assert done.returncode == 0, done.stderr
    python = venv / "bin" / "python"
    purelib = _run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], cwd=base
    ).stdout.strip()
    ours = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    lines = "".join(f"import site; site.addsitedir({p!r})\n" for p in sorted(ours))
    Path(purelib, "_assetmap_test_dependencies.pth").write_text(lines, encoding="utf-8")
    done = _run(
        [
            str(python), "-m", "pip", "install", "--no-deps", "--no-build-isolation",
            "--no-index", "--disable-pip-version-check", "-q", str(source),
        ],
        cwd=base,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return venv


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A working folder that is not the project's."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


@pytest.mark.slow
@pytest.mark.xdist_group("package")
def test_installed_command_shows_its_help(installed, elsewhere):
    done = _run([str(installed / "bin" / "assetmap"), "--help"], cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    for command in ("import", "summary", "remove", "sample", "density", "export-pack"):
        assert command in done.stdout


@pytest.mark.slow
@pytest.mark.xdist_group("package")
def test_installed_package_imports_from_the_environment_with_its_version(installed, elsewhere):
    code = "import assetmap; print(assetmap.__version__); print(assetmap.__file__)"
    done = _run([str(installed / "bin" / "python"), "-c", code], cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    version, file = done.stdout.splitlines()
    assert version == assetmap.__version__
    assert Path(file).is_relative_to(installed)


@pytest.mark.slow
@pytest.mark.xdist_group("package")
def test_installed_command_passes_on_its_exit_code(installed, elsewhere):
    command = str(installed / "bin" / "assetmap")
    done = _run([command, "remove", "nothing", "--store", "estate.gpkg"], cwd=elsewhere)
    assert done.returncode == 2
    assert done.stderr.startswith("assetmap: error: source_file='nothing' is not in the store")


@pytest.mark.slow
@pytest.mark.xdist_group("package")
def test_installed_command_finds_the_bundled_sample_and_boundaries(installed, elsewhere):
    command = str(installed / "bin" / "assetmap")
    done = _run([command, "sample", "--store", "estate.gpkg"], cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    assert "space_requests.csv (csv, requests)" in done.stdout
    done = _run([command, "density", "--store", "estate.gpkg"], cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    assert "13 localities in Kent and Medway" in done.stdout  # its home place, bundled
    code = (
        "from assetmap.datasets import get_path\n"
        "for name in ('boundaries', 'sample_estate'): print(get_path(name))"
    )
    done = _run([str(installed / "bin" / "python"), "-c", code], cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    assert all(Path(line).is_relative_to(installed) for line in done.stdout.splitlines())


@pytest.mark.slow
@pytest.mark.xdist_group("package")
def test_installed_package_holds_every_module_and_py_typed(installed):
    code = "import pathlib, assetmap; print(pathlib.Path(assetmap.__file__).parent)"
    done = _run([str(installed / "bin" / "python"), "-c", code], cwd=installed)
    assert done.returncode == 0, done.stderr
    target = Path(done.stdout.strip())
    wanted = {p.relative_to(PACKAGE) for p in PACKAGE.rglob("*.py")} | {Path("py.typed")}
    missing = sorted(str(p) for p in wanted if not (target / p).is_file())
    assert missing == [], (
        "the installed package lacks these files: add their packages to "
        f"[tool.setuptools] packages in pyproject.toml: {missing}"
    )
