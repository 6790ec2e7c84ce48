"""Every setting assetmap takes from the environment: its name, its default, its check.

This is the one module that reads the environment: every variable's name, its
default and its check are here, and the engine asks the function for a setting
(:func:`default_store_path`, :func:`local_agency`, :func:`audit_log`,
:func:`cache_dir`, :func:`configured_tiles`) instead of reading the variable
itself. :data:`VARIABLES` lists them with their meanings and defaults (as does
the README's Settings table).

A variable that is unset, empty or only spaces takes its default; values are
read without the spaces around them, and ``~`` in a path is the home folder.
A value assetmap cannot use is one :class:`~assetmap.errors.InvalidArgumentError`
naming the variable, its value and what was expected. :func:`read_settings`
reads and checks them all and lists every wrong one in one error; the function
for one setting checks only its own, so that a wrong tile URL, say, turns the
optional tiles off where they are drawn (as it always has) without stopping an
import.

The checks are of the values themselves, never of the files they name: whether
the store or the audit log can be opened is found, and said, where it is opened.

Every call reads the environment afresh (it costs microseconds): a variable
changed while the program runs, or by a test, is seen on the next call.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from ._validate import raise_if_any
from .errors import InvalidArgumentError

__all__ = [
    "AGENCY_ENV",
    "AUDIT_ENV",
    "CACHE_ENV",
    "DEFAULT_STORE",
    "POPULATION_ENV",
    "STORE_ENV",
    "TILE_ATTRIBUTION_ENV",
    "TILE_URL_ENV",
    "VARIABLES",
    "Settings",
    "TileSetting",
    "audit_log",
    "cache_dir",
    "configured_tiles",
    "default_store_path",
    "is_database_url",
    "local_agency",
    "population_file",
    "read_settings",
    "store_location",
]

#: The environment variable naming the store file.
STORE_ENV = "ASSETMAP_STORE"
#: The environment variable naming the local single user's agency.
AGENCY_ENV = "ASSETMAP_AGENCY"
#: The environment variable naming the audit log file.
AUDIT_ENV = "ASSETMAP_AUDIT_LOG"
#: The environment variable naming the folder of the postcode table.
CACHE_ENV = "ASSETMAP_CACHE"
#: The environment variable holding an optional background tile URL template
#: (``https://host/{z}/{x}/{y}.png``). Unset: no tiles; the boundaries are the basemap.
TILE_URL_ENV = "ASSETMAP_TILE_URL"
#: The environment variable holding the attribution text the tile provider requires.
TILE_ATTRIBUTION_ENV = "ASSETMAP_TILE_ATTRIBUTION"
#: The environment variable naming a population table (ONS mid-year estimates CSV) that
#: the national overview divides by: per 1,000 residents. Unset: per km².
POPULATION_ENV = "ASSETMAP_POPULATION"
#: The store file when ``$ASSETMAP_STORE`` is not set (in the working folder).
DEFAULT_STORE = "estate.gpkg"
#: The folder that holds ``assetmap``, the cache, when ``$ASSETMAP_CACHE`` is not set.
_XDG_CACHE_ENV = "XDG_CACHE_HOME"
_T = TypeVar("_T")

#: Every ``ASSETMAP_*`` variable, with what it means and its default.
VARIABLES: dict[str, str] = {
    STORE_ENV: f"the estate store file (default: {DEFAULT_STORE} in the working folder)",
    AGENCY_ENV: "the local single user's agency, whose restricted sites they see (default: none)",
    AUDIT_ENV: "the audit log file (default: <store>.audit.jsonl beside the store)",
    CACHE_ENV: "the folder of the postcode table and the national boundaries "
    "(default: $XDG_CACHE_HOME/assetmap, else ~/.cache/assetmap)",
    TILE_URL_ENV: "a background tile URL template, https://host/{z}/{x}/{y}.png "
    "(default: none, no tiles)",
    TILE_ATTRIBUTION_ENV: "the attribution the tile provider requires "
    "(default: Tiles: <the tile server's host>)",
    POPULATION_ENV: "a population table (ONS mid-year estimates CSV) for the national "
    "overview's figures per 1,000 residents (default: none, figures per km²)",
}


def _tile_url_problems(url: str) -> list[str]:
    """Return what is wrong with a tile URL template (nothing: ``[]``)."""
    parts = urlsplit(url)
    problems = []
    if parts.scheme not in ("http", "https") or not parts.netloc:
        problems.append("it must start with https:// (or http://) and name a host")
    if not all(k in url for k in ("{z}", "{x}", "{y}")):
        problems.append("it must contain {z}, {x} and {y}")
    return problems


@dataclass(frozen=True)
class TileSetting:
    """An optional background tile layer.

    Attributes
    ----------
    url
        Tile URL template with ``{z}``, ``{x}`` and ``{y}`` (``{s}`` optional).
    attribution
        Attribution text the provider requires (plain text; it is escaped).

    Raises
    ------
    InvalidArgumentError
        If ``url`` is not a tile URL template.
    """

    url: str
    attribution: str

    def __post_init__(self) -> None:
        """Check the URL template."""
        problems = _tile_url_problems(self.url)
        if problems:
            raise InvalidArgumentError(f"tile URL {self.url!r} is not valid: {'; '.join(problems)}")


@dataclass(frozen=True)
class Settings:
    """Every setting, as read from the environment by :func:`read_settings`.

    Attributes
    ----------
    store
        The store file (``$ASSETMAP_STORE``, else ``estate.gpkg``).
    agency
        The local single user's agency, spacing collapsed (``$ASSETMAP_AGENCY``), or
        ``None``.
    audit_log
        The audit log file (``$ASSETMAP_AUDIT_LOG``), or ``None``: beside the store
        (see :func:`assetmap.audit.audit_path`).
    cache_dir
        The folder of the postcode table.
    tiles
        The background tiles (``$ASSETMAP_TILE_URL`` and
        ``$ASSETMAP_TILE_ATTRIBUTION``), or ``None``: no tiles.
    population
        The population table (``$ASSETMAP_POPULATION``), or ``None``.
    """

    store: Path
    agency: str | None
    audit_log: Path | None
    cache_dir: Path
    tiles: TileSetting | None
    population: Path | None = None


# --------------------------------------------------------------------------------------
# One reader per setting: each adds a problem naming its variable when the value is wrong
# --------------------------------------------------------------------------------------


def _text(env: Mapping[str, str], name: str) -> str:
    return str(env.get(name) or "").strip()


def _path(env: Mapping[str, str], name: str, problems: list[str], example: str) -> Path | None:
    """Return the path a variable names, ``~`` expanded; ``None`` when unset (or wrong)."""
    text = _text(env, name)
    if not text:
        return None
    try:
        return Path(text).expanduser()
    except RuntimeError:  # "~someone" with no such user, or no home folder at all
        home = Path(text).parts[0]
        problems.append(
            f"{name}={text!r} is not valid: the home folder {home!r} is not known on this "
            f"machine; expected a path such as {example}"
        )
        return None


def _read_store(env: Mapping[str, str], problems: list[str]) -> Path:
    return _path(env, STORE_ENV, problems, "/data/estate.gpkg") or Path(DEFAULT_STORE)


def _read_agency(env: Mapping[str, str], problems: list[str]) -> str | None:
    return " ".join(_text(env, AGENCY_ENV).split()) or None


def _read_audit_log(env: Mapping[str, str], problems: list[str]) -> Path | None:
    return _path(env, AUDIT_ENV, problems, "/data/estate.audit.jsonl")


def _read_cache_dir(env: Mapping[str, str], problems: list[str]) -> Path:
    if _text(env, CACHE_ENV):
        own = _path(env, CACHE_ENV, problems, "/var/cache/assetmap")
        return own if own is not None else Path()  # ``Path()`` only beside a problem
    xdg = _text(env, _XDG_CACHE_ENV)
    if xdg:
        return Path(xdg) / "assetmap"
    try:
        return Path.home() / ".cache" / "assetmap"
    except RuntimeError:
        problems.append(
            f"{CACHE_ENV} is not set and the home folder is not known, so assetmap has "
            "nowhere to keep its postcode table; expected a folder, such as "
            f"{CACHE_ENV}=/var/cache/assetmap"
        )
        return Path()


def _read_population(env: Mapping[str, str], problems: list[str]) -> Path | None:
    return _path(env, POPULATION_ENV, problems, "/data/population.csv")


def _read_tiles(env: Mapping[str, str], problems: list[str]) -> TileSetting | None:
    url = _text(env, TILE_URL_ENV)
    if not url:
        return None
    wrong = _tile_url_problems(url)
    if wrong:
        problems.append(
            f"{TILE_URL_ENV}={url!r} is not valid: {'; '.join(wrong)} (for example "
            "https://tiles.example.org/{z}/{x}/{y}.png)"
        )
        return None
    attribution = _text(env, TILE_ATTRIBUTION_ENV)
    return TileSetting(url, attribution or f"Tiles: {urlsplit(url).netloc}")


def _read(
    reader: Callable[[Mapping[str, str], list[str]], _T], environ: Mapping[str, str] | None
) -> _T:
    """One setting, read from ``environ`` (default :data:`os.environ`); raise if wrong."""
    problems: list[str] = []
    value = reader(os.environ if environ is None else environ, problems)
    raise_if_any(problems)
    return value


# --------------------------------------------------------------------------------------
# The settings, all at once or one at a time
# --------------------------------------------------------------------------------------


def read_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and check every setting; one error lists every variable that is wrong.

    Parameters
    ----------
    environ
        The environment to read (default :data:`os.environ`).

    Returns
    -------
    Settings

    Raises
    ------
    InvalidArgumentError
        If any variable has a value assetmap cannot use; the message names each.

    Examples
    --------
    >>> from assetmap.settings import read_settings
    >>> read_settings({"ASSETMAP_AGENCY": " Kent  Police "}).agency
    'Kent Police'
    """
    env = os.environ if environ is None else environ
    problems: list[str] = []
    settings = Settings(
        store=_read_store(env, problems),
        agency=_read_agency(env, problems),
        audit_log=_read_audit_log(env, problems),
        cache_dir=_read_cache_dir(env, problems),
        tiles=_read_tiles(env, problems),
        population=_read_population(env, problems),
    )
    raise_if_any(problems)
    return settings


def default_store_path(environ: Mapping[str, str] | None = None) -> Path:
    """Return the store file: ``$ASSETMAP_STORE``, else ``estate.gpkg`` in the working folder.

    Like every function below, it reads ``environ`` (default :data:`os.environ`) and
    raises an :class:`~assetmap.errors.InvalidArgumentError` naming the variable when
    its value cannot be used: here, the home folder of a user who is not known.
    """
    return _read(_read_store, environ)


def is_database_url(text: object) -> bool:
    """Return whether a store's location is a PostgreSQL database's URL (else a file's path).

    A URL begins ``postgresql://`` or ``postgres://`` (any case, spaces around ignored).

    Examples
    --------
    >>> is_database_url("postgresql://assetmap_app@db.example/estate")
    True
    >>> is_database_url("estate.gpkg")
    False
    """
    if not isinstance(text, str | os.PathLike):
        return False
    return str(text).strip().lower().startswith(("postgresql://", "postgres://"))


def store_location(environ: Mapping[str, str] | None = None) -> str | Path:
    """Return the store ``$ASSETMAP_STORE`` names: a database's URL as written, else a path.

    A URL is returned as text (a path would fold its ``//``); anything else is
    :func:`default_store_path`.
    """
    text = _text(os.environ if environ is None else environ, STORE_ENV)
    return text if is_database_url(text) else default_store_path(environ)


def local_agency(environ: Mapping[str, str] | None = None) -> str | None:
    """Return the local single user's agency (``$ASSETMAP_AGENCY``, spacing collapsed).

    ``None`` when the variable is not set: nobody's agency.
    """
    return _read(_read_agency, environ)


def audit_log(environ: Mapping[str, str] | None = None) -> Path | None:
    """Return the audit log file named by ``$ASSETMAP_AUDIT_LOG``, or ``None``: beside the store.

    The name of the home folder of a user who is not known is an error.
    """
    return _read(_read_audit_log, environ)


def cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Return the folder of the postcode table.

    ``$ASSETMAP_CACHE`` if set, else ``assetmap`` in ``$XDG_CACHE_HOME``, else
    ``~/.cache/assetmap``. The name of the home folder of a user who is not known
    is an error, and so is no home folder when neither variable is set.
    """
    return _read(_read_cache_dir, environ)


def population_file(environ: Mapping[str, str] | None = None) -> Path | None:
    """Return the population table ``$ASSETMAP_POPULATION`` names, or ``None`` (not set).

    The file is read where it is used (:func:`assetmap.io.read_population`).
    """
    return _read(_read_population, environ)


def configured_tiles(environ: Mapping[str, str] | None = None) -> TileSetting | None:
    """Return the background tiles configured in the environment, or ``None`` (no tiles).

    Reads :data:`TILE_URL_ENV` and :data:`TILE_ATTRIBUTION_ENV`. With no
    attribution given, the tile server's host name is shown; a URL that is set
    but is not a tile URL template is an error.

    Examples
    --------
    >>> from assetmap.settings import configured_tiles
    >>> url = "https://tiles.example.org/{z}/{x}/{y}.png"
    >>> configured_tiles({"ASSETMAP_TILE_URL": url}).attribution
    'Tiles: tiles.example.org'
    """
    return _read(_read_tiles, environ)
