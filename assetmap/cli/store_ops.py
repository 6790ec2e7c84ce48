"""The commands that run a shared store and move estates: ``store init|upgrade|copy``.

``store init --store URL --app-role NAME`` makes the assetmap schema in a PostgreSQL
database with PostGIS (run as the role that is to own the tables) and grants the app's
role what it needs; ``store upgrade --store URL`` brings an older schema up to this
version (:mod:`assetmap.store.postgis_schema`). Both refuse a GeoPackage: it is made by
its first import and brought up to date when it is written.

``store copy SRC DST`` copies a whole estate between any two stores (a GeoPackage file
or a database URL each) through the store interface alone
(:class:`~assetmap.store.interface.EstateStore`). Every layer of SRC is read first, at
one version of it (a change meanwhile is refused); then every source, in the order it was
imported, with its rows, footprints, quarantined rows and import log (its report,
file hash and time), through :meth:`~assetmap.store.interface.EstateStore.replace_source`,
the rows keeping their ids, row numbers and shared groups as stored; then the boundary
sets and saved places, each with its owner; then the space exchange's tables (offers,
the sites they are on, matches, amendments and expressions of interest), every row with
its values and its version as stored
(:meth:`~assetmap.store.interface.EstateStore.put_exchange_rows`: a
match copied at version 3 is moved on at version 3 in the copy); then the audit log,
entry by entry in order with its time, and one more entry saying the estate was copied
in. The destination must hold nothing (no source, set, place, exchange row or audit
entry); a database is read and written as its owner role, which sees every agency's
rows: the app's role sees only what its agency may, and a copy made through it would
lose the rest. The counts of every layer, and every exchange row, are checked afterwards.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from .common import progress_bar, viewer

if TYPE_CHECKING:
    import pandas as pd

    from ..store.interface import EstateStore

__all__ = ["CopyCounts", "add_commands", "copy_estate"]

#: The layers a copy reads and writes, by the store's method that reads each.
_LAYERS = (
    "sites",
    "footprints",
    "requests",
    "quarantine",
    "imports",
    "boundary_sets",
    "places",
    "scenarios",
)
#: The space exchange's tables a copy reads (``store.exchange(table)``) and writes.
_EXCHANGE = ("offers", "offer_sites", "matches", "amendments", "interest")
#: The plural of each thing counted whose plural is not made by adding ``s``.
_PLURALS = {
    "site of an exchange offer": "sites of exchange offers",
    "exchange match": "exchange matches",
    "expression of interest": "expressions of interest",
}
#: A progress callback: ``(stage, fraction done)``.
_Progress = Callable[[str, float], None]


def _counted(n: int, what: str, plural: str = "") -> str:
    """Return ``n`` things in words: ``1 site``, ``2 sites``, ``3 audit log entries``.

    ``plural`` is the word for many where adding ``s`` (or ``ies``) does not make it.
    """
    if n == 1:
        return f"1 {what}"
    return f"{n:,} " + (plural or (what[:-1] + "ies" if what.endswith("y") else what + "s"))


@dataclass
class CopyCounts:
    """What a store holds (or a copy moved), layer by layer."""

    sources: int = 0
    sites: int = 0
    requests: int = 0
    footprints: int = 0
    quarantine: int = 0
    boundary_sets: int = 0
    boundary_areas: int = 0
    places: int = 0
    scenarios: int = 0
    offers: int = 0
    offer_sites: int = 0
    matches: int = 0
    amendments: int = 0
    interest: int = 0
    audit_entries: int = 0

    def held(self) -> list[str]:
        """Return what the store holds, in words (``[]``: nothing)."""
        parts = [
            (self.sources, "source"),
            (self.sites, "site"),
            (self.requests, "space request"),
            (self.quarantine, "quarantined row"),
            (self.boundary_sets, "boundary set"),
            (self.places, "saved place"),
            (self.scenarios, "saved scenario"),
            (self.offers, "exchange offer"),
            (self.offer_sites, "site of an exchange offer"),
            (self.matches, "exchange match"),
            (self.amendments, "amendment"),
            (self.interest, "expression of interest"),
            (self.audit_entries, "audit log entry"),
        ]
        return [_counted(n, what, _PLURALS.get(what, "")) for n, what in parts if n]

    def summary(self) -> str:
        """Return every count, in words, as ``store copy`` prints them."""
        return (
            f"{_counted(self.sources, 'source')} ({_counted(self.sites, 'site')}, "
            f"{_counted(self.requests, 'space request')}, "
            f"{_counted(self.footprints, 'footprint')}, "
            f"{_counted(self.quarantine, 'quarantined row')}), "
            f"{_counted(self.boundary_sets, 'boundary set')} "
            f"({_counted(self.boundary_areas, 'area')}), "
            f"{_counted(self.places, 'saved place')}, "
            f"{_counted(self.scenarios, 'saved scenario')}, "
            f"{_counted(self.offers, 'exchange offer')} "
            f"(with {_counted(self.offer_sites, 'site')}), "
            f"{_counted(self.matches, 'exchange match', _PLURALS['exchange match'])}, "
            f"{_counted(self.amendments, 'amendment')}, "
            + _counted(self.interest, "expression of interest", _PLURALS["expression of interest"])
            + f" and {_counted(self.audit_entries, 'audit log entry')}"
        )

    def layers(self) -> dict[str, int]:
        """Return the count of every layer, to compare two stores."""
        return dict(self.__dict__)


# --------------------------------------------------------------------------------------
# init and upgrade
# --------------------------------------------------------------------------------------


def _database_url(args: argparse.Namespace, command: str) -> str:
    """Return the database URL ``--store`` (or ``$ASSETMAP_STORE``) names, or refuse."""
    from ..errors import InvalidArgumentError
    from ..settings import STORE_ENV, is_database_url, store_location

    given = str(args.store if args.store is not None else store_location())
    if not is_database_url(given):
        raise InvalidArgumentError(
            f"`store {command}` works on a PostgreSQL database, and --store (or ${STORE_ENV}) "
            f"names the file {given!r}; give the database's URL as its owner role, such as "
            "--store postgresql://assetmap_owner@dbhost/estate (a GeoPackage store is made "
            "by its first import and kept up to date when it is written)"
        )
    return given


def _cmd_init(args: argparse.Namespace) -> int:
    from ..store.postgis_schema import SCHEMA_VERSION, init_store, redact

    url = _database_url(args, "init")
    init_store(url, app_role=args.app_role)
    parts = urlsplit(redact(url))
    host = parts.netloc.rpartition("@")[2]
    app_url = urlunsplit(parts._replace(netloc=f"{args.app_role}@{host}", query=""))
    print(
        f"The store {redact(url)} is ready (schema version {SCHEMA_VERSION}): the role "
        f"{args.app_role} may read and write its rows, held to row-level security, and add "
        f"to its audit log. Point the app at it as that role: ASSETMAP_STORE={app_url}"
    )
    return 0


def _cmd_upgrade(args: argparse.Namespace) -> int:
    from ..store.postgis_schema import SCHEMA_VERSION, redact, upgrade_store

    url = _database_url(args, "upgrade")
    applied = upgrade_store(url)
    done = f"{_counted(applied, 'migration')} applied" if applied else "it was up to date already"
    print(f"The store {redact(url)} is at schema version {SCHEMA_VERSION} ({done}).")
    return 0


# --------------------------------------------------------------------------------------
# copy
# --------------------------------------------------------------------------------------


def _counts(store: EstateStore) -> CopyCounts:
    """Return what ``store`` holds (all zero for a store that does not exist yet).

    The sites are counted by their keys alone (no geometry to read).
    """
    if not store.exists():
        return CopyCounts(audit_entries=len(store.audit_entries()))
    read = {name: "site_keys" if name == "sites" else name for name in _LAYERS}
    layers = {n: getattr(store, m)() for n, m in read.items()}
    layers.update({table: store.exchange(table) for table in _EXCHANGE})
    return _counts_of(layers, store.audit_entries())


def _counts_of(estate: dict[str, pd.DataFrame], entries: list[dict]) -> CopyCounts:
    """Return the counts of an estate's layers and exchange tables, and its audit entries."""
    sets = estate["boundary_sets"]
    return CopyCounts(
        sources=len(estate["imports"]),
        sites=len(estate["sites"]),
        requests=len(estate["requests"]),
        footprints=len(estate["footprints"]),
        quarantine=len(estate["quarantine"]),
        boundary_sets=int(sets["set_name"].nunique()),
        boundary_areas=len(sets),
        places=len(estate["places"]),
        scenarios=len(estate["scenarios"]),
        **{table: len(estate[table]) for table in _EXCHANGE},
        audit_entries=len(entries),
    )


def _check_stores(src: EstateStore, dst: EstateStore) -> None:
    """Refuse a copy that would lose rows or mix two estates, naming every reason."""
    from ..errors import StoreError

    problems = []
    if src.location == dst.location:
        problems.append(
            f"SRC and DST are the same store ({src.location}); copy into a new GeoPackage file "
            "or into a database just made with `store init`"
        )
    if not src.exists():
        problems.append(f"the store SRC {src.location} does not exist; there is nothing to copy")
    problems += [_partial_view(store, name) for name, store in (("SRC", src), ("DST", dst))]
    problems = [p for p in problems if p]
    if problems:
        raise StoreError("; ".join(problems))
    held = _counts(dst).held()
    if held:
        raise StoreError(
            f"the store DST {dst.location} is not empty (it holds {', '.join(held)}); "
            "`store copy` writes only into an empty store, so that no estate is mixed "
            "with another; nothing was copied. Give a new GeoPackage file, or a database "
            "just made with `store init`"
        )


def _partial_view(store: EstateStore, name: str) -> str:
    """Return why a database cannot be copied from or into as opened (``""``: it can).

    A database must be opened as a role that sees and keeps every agency's rows: its
    owner role. The app's role sees only what one agency may, so a copy through it
    would lose every other agency's restricted rows and audit entries, or miss rows
    already there. A database without the assetmap schema must be made first. A
    GeoPackage file holds every row.
    """
    from urllib.parse import urlsplit

    sees_every_row = getattr(store, "sees_every_row", None)
    if sees_every_row is None:
        return ""
    if not store.exists():
        if name == "SRC":
            return ""  # said already: it does not exist
        return (
            f"the database DST {store.location} holds no assetmap store yet; make it first "
            "with `python -m assetmap store init --store <the owner's URL> --app-role "
            "<the app's role>`"
        )
    if sees_every_row():
        return ""
    role = urlsplit(store.location).username
    return (
        f"the store {name} {store.location} is opened as "
        + (f"the role {role}" if role else "a role")
        + ", which sees only what one agency may (row-level security), so a copy would "
        "lose other agencies' restricted rows and audit entries; give the URL of the "
        "database's owner role (the role that ran `store init`)"
    )


def _source_rows(layer: pd.DataFrame, owner: str, name: str) -> pd.DataFrame:
    """Return the rows of one source (owner and name) of a layer, in their order."""
    hit = (layer["source_owner"] == owner) & (layer["source_file"] == name)
    return layer[hit.to_numpy()].reset_index(drop=True)


def _read_estate(src: EstateStore) -> tuple[dict[str, pd.DataFrame], list[dict]]:
    """Return every layer and exchange table of ``src`` and its audit entries, all of one state.

    Raises
    ------
    StoreError
        If an import or removal changed ``src`` while it was read.
    """
    from ..errors import StoreError

    version = src.version()
    layers = {name: getattr(src, name)() for name in _LAYERS}
    layers.update({table: src.exchange(table) for table in _EXCHANGE})
    entries = src.audit_entries()
    if src.version() != version:
        raise StoreError(
            f"the store SRC {src.location} changed while it was read (an import or removal "
            "finished meanwhile); nothing was copied. Copy it again"
        )
    return layers, entries


def _copy_sources(
    estate: dict[str, pd.DataFrame], dst: EstateStore, progress: _Progress, steps: int
) -> None:
    """Copy every source of ``estate`` into ``dst`` in import order, one transaction each."""
    import pandas as pd

    from ..store.interface import SourceUpdate

    footprints = estate["footprints"]
    for n, entry in enumerate(estate["imports"].to_dict("records")):
        owner, name, kind = entry["source_owner"], entry["source_file"], entry["kind"]
        progress(f"source {name}" + (f" of {owner}" if owner else ""), n / steps)
        rows = _source_rows(estate["sites" if kind == "sites" else "requests"], owner, name)
        mine = footprints.iloc[:0]
        if kind == "sites" and len(footprints):
            ids = pd.Index(rows["site_id"].to_numpy(dtype=object))
            mine = footprints[ids.get_indexer(footprints["site_id"].to_numpy(dtype=object)) >= 0]
        update = SourceUpdate(
            source_file=name,
            kind=kind,
            rows=rows,
            footprints=mine.reset_index(drop=True) if len(mine) else None,
            quarantine=_source_rows(estate["quarantine"], owner, name),
            log=entry,
            owner=owner,
        )
        dst.replace_source(update)


def _copy_kept(
    estate: dict[str, pd.DataFrame], dst: EstateStore, progress: _Progress, steps: int
) -> None:
    """Copy the boundary sets, saved places and saved scenarios of ``estate`` into ``dst``."""
    import geopandas as gpd

    sets = estate["boundary_sets"]
    done = len(estate["imports"])
    for (name, owner), areas in sets.groupby(["set_name", "owner"], sort=False):
        progress(f"boundary set {name}", done / steps)
        kept = gpd.GeoDataFrame(
            areas[["code", "name"]].reset_index(drop=True),
            geometry=areas.geometry.reset_index(drop=True),
            crs=sets.crs,
        )
        dst.add_boundary_set(str(name), kept, owner=str(owner))
        done += 1
    for place in estate["places"].to_dict("records"):
        progress(f"place {place['name']}", done / steps)
        codes = str(place["codes"]).split(";")
        dst.save_place(place["name"], place["level"], codes, owner=place["owner"])
        done += 1
    for scenario in estate["scenarios"].to_dict("records"):
        progress(f"scenario {scenario['name']}", done / steps)
        dst.save_scenario({str(k): v for k, v in scenario.items()}, owner=str(scenario["owner"]))
        done += 1


def _copy_exchange(
    estate: dict[str, pd.DataFrame], dst: EstateStore, progress: _Progress, steps: int
) -> None:
    """Copy the exchange's rows of ``estate`` into ``dst`` as they are, in one transaction."""
    rows = {table: estate[table] for table in _EXCHANGE if len(estate[table])}
    if rows:
        progress("the space exchange", (steps - 2) / steps)
        dst.put_exchange_rows(rows)


def _exchange_differs(estate: dict[str, pd.DataFrame], dst: EstateStore) -> list[str]:
    """Return the exchange tables whose rows ``dst`` does not hold as ``estate`` does."""
    differs = []
    for table in _EXCHANGE:
        copied = dst.exchange(table)
        if not estate[table].reset_index(drop=True).equals(copied.reset_index(drop=True)):
            differs.append(f"the rows of {table} differ")
    return differs


def copy_estate(
    src: EstateStore,
    dst: EstateStore,
    *,
    progress: _Progress | None = None,
) -> CopyCounts:
    """Copy the whole estate of ``src`` into the empty store ``dst``; return what was copied.

    Every layer of ``src`` is read first, at one version of it; then each source is
    written in one transaction, then the boundary sets and places, then the space
    exchange's rows as they are (their versions kept) in one transaction, then the
    audit entries, and one more entry recording the copy.

    Parameters
    ----------
    src, dst
        The stores, each opened so that it sees every agency's rows.
    progress
        Called with ``(stage, fraction done)`` as the copy goes.

    Returns
    -------
    CopyCounts
        What ``dst`` holds afterwards.

    Raises
    ------
    StoreError
        If ``dst`` is not empty, either store is opened as a role that cannot see
        every row, ``src`` does not exist or changed while it was read, or ``dst``
        does not hold what ``src`` held afterwards (every exchange row is compared).
    """
    from ..audit import record
    from ..errors import StoreError

    _check_stores(src, dst)
    report = progress or (lambda stage, fraction: None)
    report("reading the estate", 0.0)
    estate, entries = _read_estate(src)
    before = _counts_of(estate, entries)
    steps = before.sources + before.boundary_sets + before.places + before.scenarios + 2
    _copy_sources(estate, dst, report, steps)
    _copy_kept(estate, dst, report, steps)
    _copy_exchange(estate, dst, report, steps)
    for n, entry in enumerate(entries):
        if n % 100 == 0:
            report(
                f"the audit log ({n:,} of {len(entries):,})", (steps - 1 + n / len(entries)) / steps
            )
        dst.append_audit(dict(entry))
    after = _counts(dst)
    wrong = [
        f"{k} {before.layers()[k]:,} -> {v:,}"
        for k, v in after.layers().items()
        if before.layers()[k] != v
    ]
    if not wrong:
        wrong = _exchange_differs(estate, dst)
    if wrong:
        raise StoreError(
            f"the copy of {src.location} into {dst.location} does not hold what the source "
            f"holds ({'; '.join(wrong)}); remove the copy and try again"
        )
    record(
        dst,
        viewer=viewer(),
        action="import",
        what=f"the whole estate, copied from {src.location} by `store copy`",
        counts={"sources": after.sources, "sites": after.sites, "requests": after.requests},
    )
    report("done", 1.0)
    after.audit_entries += 1
    return after


def _cmd_copy(args: argparse.Namespace) -> int:
    from ..store import open_store

    src, dst = open_store(args.src), open_store(args.dst)

    update, bar = progress_bar("copying the estate")
    try:
        copied = copy_estate(src, dst, progress=update)
    finally:
        bar.close()
    print(
        f"Copied the estate of {src.location} into {dst.location}: {copied.summary()}, "
        "the last recording this copy."
    )
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``store init``, ``store upgrade`` and ``store copy`` to the parser's commands."""
    group = sub.add_parser("store", help="make, upgrade or copy an estate store")
    ops = group.add_subparsers(dest="store_command", required=True)

    p = ops.add_parser(
        "init", help="make the assetmap schema in a PostgreSQL database (as its owner role)"
    )
    p.add_argument(
        "--store",
        help="the database, as its owner role: postgresql://OWNER@HOST/DATABASE "
        "(default: $ASSETMAP_STORE)",
    )
    p.add_argument(
        "--app-role",
        required=True,
        metavar="NAME",
        help="the role the app connects as (LOGIN, without BYPASSRLS, not the owner)",
    )
    p.set_defaults(func=_cmd_init)

    p = ops.add_parser("upgrade", help="bring a database's schema up to this assetmap")
    p.add_argument(
        "--store",
        help="the database, as its owner role: postgresql://OWNER@HOST/DATABASE "
        "(default: $ASSETMAP_STORE)",
    )
    p.set_defaults(func=_cmd_upgrade)

    p = ops.add_parser(
        "copy", help="copy a whole estate into an empty store (GeoPackage or database)"
    )
    p.add_argument("src", metavar="SRC", help="the store to copy: a .gpkg file or a database URL")
    p.add_argument(
        "dst",
        metavar="DST",
        help="the empty store to copy into: a new .gpkg file, or a database made with "
        "`store init` (a database as its owner role)",
    )
    p.set_defaults(func=_cmd_copy)
