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
import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from .._validate import raise_if_any
from .common import STORE_HELP, audit, national_ready, print_notes, viewer

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["add_commands"]

#: What a command does with its parsed arguments; returns the exit code.
_Command = Callable[[argparse.Namespace], int]


def _list(args: argparse.Namespace, *, command: str) -> int:
    """Print what the store keeps for ``command`` (see :data:`_KEPT`), under a heading."""
    from ..store import open_store

    kept = _KEPT[command]
    store = open_store(args.store)
    frame = getattr(store, kept.table)() if store.exists() else None
    if frame is None or not len(frame):
        print(kept.empty)
        return 0
    print(f"{kept.kept.capitalize()} in {store.location}:")
    for line in kept.lines(frame):
        print(line)
    return 0


def _remove(args: argparse.Namespace, what: str, remove: Callable[..., int], unit: str) -> int:
    """Remove the ``what`` ``--name`` names with ``remove``, audited; return what it removed."""
    from ..store import open_store

    store = open_store(args.store)
    removed = remove(store, args.name, viewer=viewer(), agency=args.agency)
    audit(args.store, "remove", f"{what} {args.name}", counts={unit: removed})
    return removed


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


def _set_lines(sets: pd.DataFrame) -> Iterator[str]:
    for name, areas in sets.groupby("set_name", sort=False):
        owner = str(areas["owner"].iloc[0]) or "no agency"
        shown = ", ".join(areas["name"].astype(str).head(5))
        more = ", ..." if len(areas) > 5 else ""
        yield f"  {name} ({owner}): {len(areas):,} areas: {shown}{more}"


def _cmd_boundaries_remove(args: argparse.Namespace) -> int:
    from ..user_places import remove_boundary_set

    removed = _remove(args, "boundary set", remove_boundary_set, "areas")
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


def _place_lines(saved: pd.DataFrame) -> Iterator[str]:
    for name, level, joined, owner in saved[["name", "level", "codes", "owner"]].itertuples(
        index=False
    ):
        codes = str(joined).split(";")
        shown = ", ".join(codes[:10]) + (", ..." if len(codes) > 10 else "")
        yield f"  {name} ({owner or 'no agency'}): {len(codes):,} {level}: {shown}"


def _cmd_places_remove(args: argparse.Namespace) -> int:
    from ..user_places import remove_saved_place

    _remove(args, "place", remove_saved_place, "places")
    print(f"Removed the place {args.name!r}")
    return 0


class _Kept(NamedTuple):
    """What a command keeps: the words its help and ``list`` use, and its ``remove``."""

    one: str
    kept: str
    removed: str
    table: str
    empty: str
    lines: Callable[[pd.DataFrame], Iterator[str]]
    remove: _Command


#: Per command, what it keeps (``table``: the store's method that lists them).
_KEPT = {
    "boundaries": _Kept(
        "set",
        "boundary sets kept",
        "a boundary set",
        "boundary_sets",
        "No boundary sets are kept in the store; add one with `boundaries add FILE --name`",
        _set_lines,
        _cmd_boundaries_remove,
    ),
    "places": _Kept(
        "place",
        "places saved",
        "a saved place",
        "places",
        "No places are saved in the store; save one with `places save NAME --level --codes`",
        _place_lines,
        _cmd_places_remove,
    ),
}


def _add_list_remove(
    actions: argparse._SubParsersAction[argparse.ArgumentParser], command: str
) -> None:
    """Add the ``list`` and ``remove`` actions of ``command`` (see :data:`_KEPT`)."""
    kept = _KEPT[command]
    p = actions.add_parser("list", help=f"list the {kept.kept} in the store")
    p.add_argument("--store", help=STORE_HELP)
    p.set_defaults(func=functools.partial(_list, command=command))
    p = actions.add_parser("remove", help=f"remove {kept.removed} from the store")
    p.add_argument("name", help=f"the {kept.one}'s name, as `{command} list` shows it")
    p.add_argument("--agency", help=f"only if it is this agency's {kept.one}")
    p.add_argument("--store", help=STORE_HELP)
    p.set_defaults(func=kept.remove)


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
    _add_list_remove(actions, "boundaries")


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
    _add_list_remove(actions, "places")
