"""The settings (assetmap.settings): every variable read and checked in one place."""

from __future__ import annotations

import argparse
import ast
import doctest
import re
from pathlib import Path

import pytest

from assetmap import access, audit, cli, postcodes, settings, store
from assetmap.cli import print_maps
from assetmap.errors import InvalidArgumentError
from assetmap.maps import interactive
from assetmap.maps.static.tiles import tile_setting
from assetmap.settings import (
    AGENCY_ENV,
    AUDIT_ENV,
    CACHE_ENV,
    STORE_ENV,
    TILE_ATTRIBUTION_ENV,
    TILE_URL_ENV,
    Settings,
    TileSetting,
    read_settings,
)

ROOT = Path(__file__).resolve().parents[1]
TILES = "https://tiles.example.org/{z}/{x}/{y}.png"
#: Every variable assetmap reads, set to a value it cannot use.
WRONG = {
    STORE_ENV: "~nosuchuser-for-assetmap/estate.gpkg",
    AUDIT_ENV: "~nosuchuser-for-assetmap/audit.jsonl",
    CACHE_ENV: "~nosuchuser-for-assetmap",
    TILE_URL_ENV: "ftp://tiles.example.org/tile.png",
}


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No assetmap variable set; the home folder is ``tmp_path``."""
    for name in settings.VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def test_the_defaults(clean_env):
    assert read_settings() == Settings(
        store=Path("estate.gpkg"),
        agency=None,
        audit_log=None,
        cache_dir=clean_env / ".cache" / "assetmap",
        tiles=None,
    )
    # empty, or only spaces, is the default too
    blank = {name: "  " for name in settings.VARIABLES}
    assert read_settings(blank) == read_settings({}) == read_settings()


def test_every_variable_is_read(clean_env):
    found = read_settings(
        {
            STORE_ENV: " /data/kent.gpkg ",
            AGENCY_ENV: "  Kent   Police ",
            AUDIT_ENV: "~/logs/audit.jsonl",
            CACHE_ENV: "~/cache",
            TILE_URL_ENV: f" {TILES} ",
            TILE_ATTRIBUTION_ENV: " © Example ",
        }
    )
    assert found == Settings(
        store=Path("/data/kent.gpkg"),
        agency="Kent Police",
        audit_log=clean_env / "logs" / "audit.jsonl",
        cache_dir=clean_env / "cache",
        tiles=TileSetting(TILES, "© Example"),
    )


def test_the_cache_follows_xdg_and_tiles_name_their_host_without_an_attribution(clean_env):
    found = read_settings({"XDG_CACHE_HOME": "/var/cache", TILE_URL_ENV: TILES})
    assert found.cache_dir == Path("/var/cache/assetmap")
    assert found.tiles == TileSetting(TILES, "Tiles: tiles.example.org")
    # an attribution without a tile URL draws no tiles
    assert read_settings({TILE_ATTRIBUTION_ENV: "© Example"}).tiles is None


def test_every_wrong_value_is_named_in_one_error(clean_env):
    with pytest.raises(
        InvalidArgumentError,
        match=r"^ASSETMAP_STORE='~nosuchuser-for-assetmap/estate\.gpkg' is not valid: the home "
        r"folder '~nosuchuser-for-assetmap' is not known on this machine; expected a path such "
        r"as /data/estate\.gpkg; "
        r"ASSETMAP_AUDIT_LOG='~nosuchuser-for-assetmap/audit\.jsonl' is not valid: .*; "
        r"ASSETMAP_CACHE='~nosuchuser-for-assetmap' is not valid: .*/var/cache/assetmap; "
        r"ASSETMAP_TILE_URL='ftp://tiles\.example\.org/tile\.png' is not valid: it must start "
        r"with https:// \(or http://\) and name a host; it must contain \{z\}, \{x\} and \{y\} "
        r"\(for example https://tiles\.example\.org/\{z\}/\{x\}/\{y\}\.png\)$",
    ):
        read_settings(WRONG)


def test_without_a_home_folder_the_cache_must_be_named(clean_env, monkeypatch):
    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    with pytest.raises(
        InvalidArgumentError,
        match=r"^ASSETMAP_CACHE is not set and the home folder is not known, so assetmap has "
        r"nowhere to keep its postcode table; expected a folder, such as "
        r"ASSETMAP_CACHE=/var/cache/assetmap$",
    ):
        settings.cache_dir({})
    assert settings.cache_dir({CACHE_ENV: "/var/cache/assetmap"}) == Path("/var/cache/assetmap")


@pytest.mark.parametrize(
    ("read", "name"),
    [
        (settings.default_store_path, STORE_ENV),
        (settings.audit_log, AUDIT_ENV),
        (settings.cache_dir, CACHE_ENV),
        (settings.configured_tiles, TILE_URL_ENV),
    ],
)
def test_one_setting_is_checked_alone(clean_env, read, name):
    """A wrong tile URL turns the tiles off where they are drawn; it stops no import."""
    others = {k: v for k, v in WRONG.items() if k != name}
    read(others)  # the other variables are not this setting's business
    with pytest.raises(InvalidArgumentError, match=rf"^{name}='[^']*' is not valid: ") as caught:
        read({name: WRONG[name]})
    assert re.findall(r"ASSETMAP_\w+", str(caught.value)) == [name]


def test_a_change_to_the_environment_is_seen_on_the_next_call(clean_env, monkeypatch):
    monkeypatch.setenv(STORE_ENV, "/data/first.gpkg")
    assert settings.default_store_path() == Path("/data/first.gpkg")
    monkeypatch.setenv(STORE_ENV, "/data/second.gpkg")
    assert store.default_store_path() == Path("/data/second.gpkg")
    monkeypatch.setenv(AGENCY_ENV, "Medway Council")
    assert read_settings().agency == "Medway Council"
    monkeypatch.delenv(AGENCY_ENV)
    assert read_settings().agency is None


def test_each_module_takes_its_setting_from_settings(clean_env, monkeypatch, tmp_path):
    monkeypatch.setenv(STORE_ENV, "~/stores/kent.gpkg")
    monkeypatch.setenv(AGENCY_ENV, " Kent  Police ")
    monkeypatch.setenv(AUDIT_ENV, "~/logs/audit.jsonl")
    monkeypatch.setenv(CACHE_ENV, "~/cache")
    monkeypatch.setenv(TILE_URL_ENV, TILES)
    monkeypatch.setenv(TILE_ATTRIBUTION_ENV, "© Example")
    assert store.default_store_path() == tmp_path / "stores" / "kent.gpkg"
    assert store.open_store().path == tmp_path / "stores" / "kent.gpkg"
    assert access.local_viewer().agency == "Kent Police"
    assert audit.audit_path(tmp_path / "other.gpkg") == tmp_path / "logs" / "audit.jsonl"
    assert postcodes.PostcodeDirectory()._cache_dir == tmp_path / "cache"
    tiles = TileSetting(TILES, "© Example")
    assert interactive.configured_tiles() == tiles
    assert print_maps.chosen_tiles(argparse.Namespace(no_tiles=False)) == tiles
    assert print_maps.chosen_tiles(argparse.Namespace(no_tiles=True)) is None
    assert isinstance(tile_setting(TILES), settings.TileSetting)
    # the names callers import from the modules are the settings' own
    assert (store.STORE_ENV, access.AGENCY_ENV, audit.AUDIT_ENV) == (
        STORE_ENV,
        AGENCY_ENV,
        AUDIT_ENV,
    )
    assert (interactive.TILE_URL_ENV, interactive.TILE_ATTRIBUTION_ENV) == (
        TILE_URL_ENV,
        TILE_ATTRIBUTION_ENV,
    )
    assert interactive.TileSetting is TileSetting


def test_the_command_line_help_names_the_store_setting(capsys):
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["remove", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "(default: $ASSETMAP_STORE or ./estate.gpkg)" in shown


def test_each_module_says_which_variable_is_wrong(clean_env, monkeypatch):
    for name, value in WRONG.items():
        monkeypatch.setenv(name, value)
    expected = {name: rf"^{name}='[^']*' is not valid" for name in WRONG}
    with pytest.raises(InvalidArgumentError, match=expected[STORE_ENV]):
        store.open_store()
    with pytest.raises(InvalidArgumentError, match=expected[AUDIT_ENV]):
        audit.audit_path("estate.gpkg")
    with pytest.raises(InvalidArgumentError, match=expected[CACHE_ENV]):
        postcodes.PostcodeDirectory()
    with pytest.raises(InvalidArgumentError, match=expected[TILE_URL_ENV]):
        interactive.configured_tiles()
    with pytest.raises(InvalidArgumentError, match=expected[TILE_URL_ENV]):
        print_maps.chosen_tiles(argparse.Namespace(no_tiles=False))
    assert print_maps.chosen_tiles(argparse.Namespace(no_tiles=True)) is None


def _reads_the_environment(source: str) -> bool:
    """Whether code (not a docstring) uses ``os.environ``, ``os.getenv`` or the like."""
    readers = {"environ", "environb", "getenv", "getenvb"}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in readers:
            return True
        if isinstance(node, ast.ImportFrom) and any(a.name in readers for a in node.names):
            return True
    return False


def test_no_other_module_reads_the_environment():
    assert _reads_the_environment("import os\nx = os.environ.get('A')")
    assert _reads_the_environment("from os import getenv")
    assert not _reads_the_environment('"""The environment (default :data:`os.environ`)."""')
    offenders = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "assetmap").rglob("*.py"))
        if path.name != "settings.py" and _reads_the_environment(path.read_text("utf-8"))
    ]
    assert offenders == []
    named = set()
    for path in (ROOT / "assetmap").rglob("*.py"):
        named |= set(re.findall(r"ASSETMAP_[A-Z_]+", path.read_text(encoding="utf-8")))
    assert named <= set(settings.VARIABLES), named - set(settings.VARIABLES)


def test_the_readme_lists_every_setting():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = re.search(r"^### Settings\n(.*?)(?=^#|\Z)", readme, re.MULTILINE | re.DOTALL)
    assert table is not None
    listed = re.findall(r"^\| `(ASSETMAP_[A-Z_]+)` \|", table.group(1), re.MULTILINE)
    assert listed == list(settings.VARIABLES)


def test_the_examples_in_the_docstrings_hold():
    result = doctest.testmod(settings)
    assert result.attempted >= 3 and result.failed == 0
