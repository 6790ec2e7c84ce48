"""The commands that keep places in the store: ``boundaries`` and ``places``.

``boundaries add FILE --name NAME`` keeps a boundary file's areas (wards, parishes...)
in the store as a level every command and the app then offer (``--level NAME``), and
its areas as places (``--place``); ``places save NAME --level district --codes ...``
keeps several localities together as one place ("Greater Manchester"). Both are kept
for every user and every later session; ``list`` shows them and ``remove`` removes one.
What is added belongs to ``--agency`` (or to no agency); the command line runs as the
local single user, who may remove any (:mod:`assetmap.user_places`). Each change is
recorded in the store's audit log. :func:`add_commands` adds the commands to the parser.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .._validate import raise_if_any
from .common import STORE_HELP, audit, national_ready, print_notes, viewer

__all__ = ["add_commands"]


def _cmd_boundaries_add(args: argparse.Namespace) -> int:
    from ..io.boundaries import read_boundary_file
    from ..store import open_store
    from ..user_places import add_boundary_set

    if not Path(args.file).is_file():
        raise_if_any([f"FILE {args.file!r} is not a file; expected a boundary file"])
    areas, notes = read_boundary_file(args.file, layer=args.layer)
    national_ready()
    store = open_store(args.store)
    kept = add_boundary_set(store, args.name, areas, viewer=viewer(), agency=args.agency)
    audit(args.store, "import", f"boundary set {args.name}", counts={"areas": kept})
    owner = f" of {args.agency}" if args.agency else ""
    print(f"Kept the boundary set {args.name!r}{owner}: {kept:,} areas from {args.file}")
    print_notes(notes)
    print(f"  use it as --level {args.name!r}, or an area of it as --place")
    return 0


def _cmd_boundaries_list(args: argparse.Namespace) -> int:
    from ..store import open_store

    store = open_store(args.store)
    sets = store.boundary_sets() if store.exists() else None
    if sets is None or not len(sets):
        print("No boundary sets are kept in the store; add one with `boundaries add FILE --name`")
        return 0
    print(f"Boundary sets kept in {store.path}:")
    for name, areas in sets.groupby("set_name", sort=False):
        owner = str(areas["owner"].iloc[0]) or "no agency"
        shown = ", ".join(areas["name"].astype(str).head(5))
        more = ", ..." if len(areas) > 5 else ""
        print(f"  {name} ({owner}): {len(areas):,} areas: {shown}{more}")
    return 0


def _cmd_boundaries_remove(args: argparse.Namespace) -> int:
    from ..store import open_store
    from ..user_places import remove_boundary_set

    store = open_store(args.store)
    removed = remove_boundary_set(store, args.name, viewer=viewer(), agency=args.agency)
    audit(args.store, "remove", f"boundary set {args.name}", counts={"areas": removed})
    print(f"Removed the boundary set {args.name!r}: {removed:,} areas")
    return 0


def _cmd_places_save(args: argparse.Namespace) -> int:
    from ..store import open_store
    from ..user_places import save_place

    national_ready()
    store = open_store(args.store)
    localities = [c.strip() for c in args.codes.split(",") if c.strip()]
    if not localities:
        raise_if_any([f"--codes {args.codes!r} names no locality; expected codes or names"])
    place = save_place(
        store, args.name, args.level, localities, viewer=viewer(), agency=args.agency
    )
    audit(args.store, "import", f"place {place.name}", counts={"localities": len(place.codes)})
    print(
        f"Saved the place {place.name!r}: {len(place.codes):,} {place.level} localities, "
        f"{place.geometry.area / 1e6:,.0f} km²"
    )
    print(f"  use it as --place {place.name!r}")
    return 0


def _cmd_places_list(args: argparse.Namespace) -> int:
    from ..store import open_store

    store = open_store(args.store)
    saved = store.places() if store.exists() else None
    if saved is None or not len(saved):
        print("No places are saved in the store; save one with `places save NAME --level --codes`")
        return 0
    print(f"Places saved in {store.path}:")
    for name, level, joined, owner in saved[["name", "level", "codes", "owner"]].itertuples(
        index=False
    ):
        codes = str(joined).split(";")
        shown = ", ".join(codes[:10]) + (", ..." if len(codes) > 10 else "")
        print(f"  {name} ({owner or 'no agency'}): {len(codes):,} {level}: {shown}")
    return 0


def _cmd_places_remove(args: argparse.Namespace) -> int:
    from ..store import open_store
    from ..user_places import remove_saved_place

    store = open_store(args.store)
    removed = remove_saved_place(store, args.name, viewer=viewer(), agency=args.agency)
    audit(args.store, "remove", f"place {args.name}", counts={"places": removed})
    print(f"Removed the place {args.name!r}")
    return 0


def _add_boundaries(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = sub.add_parser(
        "boundaries", help="boundary sets kept in the store (wards, parishes...): add, list, remove"
    )
    actions = group.add_subparsers(dest="action", required=True)
    p = actions.add_parser("add", help="keep a boundary file's areas in the store as a level")
    p.add_argument("file", help="GeoJSON, GeoPackage or zipped Shapefile with a code and a name")
    p.add_argument("--name", required=True, help="the set's name, used as --level NAME")
    p.add_argument("--agency", help="the agency it belongs to (default: none)")
    p.add_argument("--layer", help="the layer of a GeoPackage, or the shapefile of a zip")
    p.add_argument("--store", help=STORE_HELP)
    p.set_defaults(func=_cmd_boundaries_add)
    p = actions.add_parser("list", help="list the boundary sets kept in the store")
    p.add_argument("--store", help=STORE_HELP)
    p.set_defaults(func=_cmd_boundaries_list)
    p = actions.add_parser("remove", help="remove a boundary set from the store")
    p.add_argument("name", help="the set's name, as `boundaries list` shows it")
    p.add_argument("--agency", help="only if it is this agency's set")
    p.add_argument("--store", help=STORE_HELP)
    p.set_defaults(func=_cmd_boundaries_remove)


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``boundaries`` and ``places`` (each with add or save, list, remove)."""
    _add_boundaries(sub)
    group = sub.add_parser(
        "places", help="named places kept in the store (several localities): save, list, remove"
    )
    actions = group.add_subparsers(dest="action", required=True)
    p = actions.add_parser("save", help="keep several localities together as a named place")
    p.add_argument("name", help="the place's name, used as --place NAME")
    p.add_argument(
        "--level",
        required=True,
        help="the localities' level: country, icb, nhs_area, district, lsoa, or a boundary set",
    )
    p.add_argument(
        "--codes",
        required=True,
        metavar="A,B,...",
        help="the localities, by ONS code or name, separated by commas",
    )
    p.add_argument("--agency", help="the agency it belongs to (default: none)")
    p.add_argument("--store", help=STORE_HELP)
    p.set_defaults(func=_cmd_places_save)
    p = actions.add_parser("list", help="list the places saved in the store")
    p.add_argument("--store", help=STORE_HELP)
    p.set_defaults(func=_cmd_places_list)
    p = actions.add_parser("remove", help="remove a saved place from the store")
    p.add_argument("name", help="the place's name, as `places list` shows it")
    p.add_argument("--agency", help="only if it is this agency's place")
    p.add_argument("--store", help=STORE_HELP)
    p.set_defaults(func=_cmd_places_remove)
