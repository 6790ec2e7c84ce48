"""The commands that draw print maps: ``export-map`` (one map) and ``export-pack`` (a place's pack).

Errors from the map functions are said again in the commands' own words (``--out``,
``--format``...) by :func:`as_options`. :func:`add_commands` adds the commands to the
command line's parser.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._validate import raise_if_any
from ..errors import InvalidArgumentError
from ..settings import TileSetting, configured_tiles
from .common import (
    PLACE_HELP,
    STORE_HELP,
    audit,
    guard_store_output,
    national_ready,
    print_notes,
    progress_bar,
    viewer,
)

if TYPE_CHECKING:
    from ..store.interface import EstateStore

__all__ = ["add_commands", "as_options", "chosen_tiles"]

#: Python argument names of the map functions -> the options of the export commands.
_MAP_OPTIONS = {
    "out_dir=": "--out ",
    "target ": "--out ",
    "format=": "--format ",
    "level=": "--level ",
    "localities=": "--level ",
    "paper=": "--paper ",
    "dpi=": "--dpi ",
    "place=": "--place ",
    "kind=": "--kind ",
}

#: The help of the options both commands take.
_MAP_HELP = {
    "paper": "paper size: A4 (default) or A3",
    "landscape": "landscape instead of portrait",
    "dpi": "PNG resolution (and of dense point layers in PDF and SVG): 150 or 300 (default)",
    "no_tiles": "never draw background tiles, even when a tile source is configured",
    "include_approximate": "include sites (and requests) placed only approximately, at the "
    "centre of their postcode district or sector, in the co-location clusters and the "
    "matches (left out by default, and the map says how many)",
}


def chosen_tiles(args: argparse.Namespace) -> TileSetting | None:
    """Return the configured background tiles, unless --no-tiles (never required)."""
    if args.no_tiles:
        return None
    return configured_tiles()


def as_options(exc: Exception) -> InvalidArgumentError:
    """Return the same error, naming the command's options instead of the Python arguments."""
    parts = []
    for part in str(exc).split("; "):
        for name, option in _MAP_OPTIONS.items():
            if part.startswith(name):
                part = option + part[len(name) :]
                break
        parts.append(part)
    return InvalidArgumentError("; ".join(parts))


def _paper(value: str) -> str:
    """Return the paper size as the map functions name it: ``a4`` and ``A4`` alike."""
    return value.upper() if value.upper() in ("A4", "A3") else value


def _page_and_viewer(args: argparse.Namespace) -> dict[str, Any]:
    """Return the options both commands pass on: page, tiles, viewer, approximate sites."""
    return {
        "paper": _paper(args.paper),
        "landscape": args.landscape,
        "tiles": chosen_tiles(args),
        "viewer": viewer(),
        "include_approximate": args.include_approximate,
    }


def _export_map_problems(
    args: argparse.Namespace, out: Path, fmt: str, store: EstateStore
) -> list[str]:
    """Return what is wrong with the options of ``export-map``, each in the options' words."""
    from ..maps.static.options import FORMATS, check_output_path, option_problems

    suffix = out.suffix.lower().lstrip(".")
    problems = [
        str(as_options(Exception(p)))
        for p in option_problems(
            kind=args.kind,
            paper=_paper(args.paper),
            format=fmt,
            dpi=args.dpi,
            place=args.place,
            store=store if store.exists() else None,
        )
    ]
    if args.format is None and suffix not in FORMATS:
        problems = [p for p in problems if not p.startswith("--format ")]
        problems.append(
            f"--out {str(out)!r} does not say the format; expected --format "
            f"{'|'.join(FORMATS)} or a file ending .png, .pdf or .svg"
        )
    elif args.format in FORMATS and suffix in FORMATS and suffix != args.format:
        problems.append(
            f"--out {str(out)!r} ends .{suffix} but --format is {args.format}; expected a file "
            f"ending .{args.format}"
        )
    check_output_path("--out", out, problems)
    guard_store_output(out, store, "--out", problems)
    if not store.exists():
        problems.append(
            f"--store {store.location!r} does not exist; expected an estate store (import a "
            "register first)"
        )
    return problems


def _cmd_export_map(args: argparse.Namespace) -> int:
    from ..maps.static.render import build_map, count_text, save_map
    from ..store import open_store

    out = Path(args.out)
    fmt = args.format or out.suffix.lower().lstrip(".")
    store = open_store(args.store)
    national_ready()
    raise_if_any(_export_map_problems(args, out, fmt, store))
    try:
        built = build_map(
            args.kind,
            store.sites(),
            place=args.place,
            localities=args.level,
            requests=store.requests() if args.kind == "matches" else None,
            title=args.title,
            inset=not args.no_inset,
            store=store,
            **_page_and_viewer(args),
        )
        save_map(built.figure, out, format=fmt, dpi=args.dpi)
    except InvalidArgumentError as exc:
        raise as_options(exc) from None
    audit(args.store, "export", str(out), file=out, counts={"sites": built.sites_drawn})
    print(f"Wrote {out}: {built.title}")
    print(
        f"  {_paper(args.paper)} {'landscape' if args.landscape else 'portrait'}, {fmt.upper()}"
        f"{f' at {args.dpi} dpi' if fmt == 'png' else ''}; scale 1:{built.scale_denominator:,.0f}"
        f"; {count_text(built.sites_drawn, 'site')} "
        f"{'counted' if args.kind == 'density' else 'drawn'}"
    )
    print_notes(built.notes)
    return 0


def _cmd_export_pack(args: argparse.Namespace) -> int:
    from ..maps.pack import export_pack
    from ..store import open_store

    national_ready()
    store = open_store(args.store)
    scenarios = _scenarios(store, args.scenario or [])
    update, bar = progress_bar(f"map pack of {args.place}")
    try:
        index = export_pack(
            store,
            args.place,
            args.level,
            args.out,
            format=args.format,
            dpi=args.dpi,
            progress=update,
            scenarios=scenarios,
            **_page_and_viewer(args),
        )
    except InvalidArgumentError as exc:
        raise as_options(exc) from None
    finally:
        bar.close()
    frame = index.to_frame()
    counts = frame["kind"].value_counts()
    audit(
        args.store,
        "export",
        str(index.folder),
        file=index.index_path,
        counts={"files": len(frame), **{str(k): int(v) for k, v in counts.items()}},
    )
    print(
        f"Wrote the map pack of {index.place} to {index.folder}: {counts.get('map', 0)} place "
        f"maps, an atlas of {counts.get('atlas', 0)} {index.level} maps, "
        f"{counts.get('table', 0)} tables, {counts.get('scenario map', 0)} scenarios; the list "
        f"is in {index.index_path}"
    )
    print_notes(index.notes)
    return 0


def _scenarios(store: EstateStore, names: list[str]) -> list:
    """Return the saved scenarios named (``--scenario``), as the local viewer may see them.

    Names are unique per agency, not across agencies: the viewer's own agency's
    scenario of a name is taken before another agency's shared one.

    Raises
    ------
    InvalidArgumentError
        Naming every scenario not found, and the names that are; and every name that
        several other agencies' scenarios have (none of them the viewer's).
    """
    if not names:
        return []
    from ..access import agency_key, visible_sites
    from ..scenario_io import saved_scenarios

    def named(text: str) -> str:
        return " ".join(text.split()).casefold()

    seen = viewer()
    mine = seen.key if seen is not None else ""
    saved = saved_scenarios(store, viewer=seen, sites=visible_sites(store.sites(), seen))
    by_name: dict[str, list] = {}
    for s in saved:  # the viewer's own first, then the others', oldest first
        by_name.setdefault(named(s.name), []).append(s)
    for found in by_name.values():
        found.sort(key=lambda s: not (mine and agency_key(s.agency) == mine))
    missing = [n for n in names if named(n) not in by_name]
    if missing:
        known = ", ".join(repr(s.name) for s in saved) or "none"
        raise InvalidArgumentError(
            f"--scenario: no saved scenario you may see is named "
            f"{', '.join(repr(n) for n in missing)}; the saved scenarios are: {known}"
        )
    several = [
        f"{n!r} (of {', '.join(s.agency or 'no agency' for s in by_name[named(n)])})"
        for n in names
        if len(by_name[named(n)]) > 1
        and not (mine and agency_key(by_name[named(n)][0].agency) == mine)
    ]
    if several:
        raise InvalidArgumentError(
            "--scenario: several agencies have a saved scenario named "
            + "; ".join(several)
            + "; none of them is yours: ask its agency to save it under another name"
        )
    return [by_name[named(n)][0] for n in names]


def _add_page_options(p: argparse.ArgumentParser) -> None:
    """Add the paper, orientation, resolution and approximate-sites options both commands take."""
    p.add_argument("--paper", default="A4", metavar="A4|A3", help=_MAP_HELP["paper"])
    p.add_argument("--landscape", action="store_true", help=_MAP_HELP["landscape"])
    p.add_argument("--dpi", type=int, default=300, metavar="150|300", help=_MAP_HELP["dpi"])
    p.add_argument(
        "--include-approximate", action="store_true", help=_MAP_HELP["include_approximate"]
    )


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``export-map`` and ``export-pack`` to the parser's commands."""
    p = sub.add_parser(
        "export-map", help="a print-quality map (PNG, PDF or SVG) of a place: sites, density..."
    )
    p.add_argument(
        "--kind",
        default="sites",
        metavar="sites|density|clusters|matches",
        help="what the map shows (default sites, by sector)",
    )
    p.add_argument("--place", required=True, metavar="NAME", help=PLACE_HELP)
    p.add_argument(
        "--format",
        metavar="png|pdf|svg",
        help="file format (default: from the --out file's ending)",
    )
    _add_page_options(p)
    p.add_argument(
        "--level",
        metavar="LEVEL",
        help="localities for the basemap and density: country, icb, nhs_area, district, lsoa, "
        "county, a boundary set added with `boundaries add`, or a boundary file (default: the "
        "level below the place)",
    )
    p.add_argument("--title", help="the map's title (default: the kind and the place)")
    p.add_argument("--no-inset", action="store_true", help="leave out the locator inset")
    p.add_argument("--no-tiles", action="store_true", help=_MAP_HELP["no_tiles"])
    p.add_argument("--store", help=STORE_HELP)
    p.add_argument("--out", required=True, metavar="FILE", help="the file to write")
    p.set_defaults(func=_cmd_export_map)

    p = sub.add_parser(
        "export-pack",
        help="the map pack of a place: place maps, one map per locality, tables and an index",
    )
    p.add_argument("--place", required=True, metavar="NAME", help="the place, as for export-map")
    p.add_argument(
        "--level",
        metavar="LEVEL",
        help="the atlas level: country, icb, nhs_area, district, lsoa, a boundary set added "
        "with `boundaries add`, or a boundary file (default: the level below the place: "
        "districts for Kent and Medway, an ICB or a saved union of districts; LSOAs for a "
        "district)",
    )
    p.add_argument(
        "--format", default="pdf", metavar="png|pdf|svg", help="map format (default pdf)"
    )
    _add_page_options(p)
    p.add_argument("--no-tiles", action="store_true", help=_MAP_HELP["no_tiles"])
    p.add_argument("--store", help=STORE_HELP)
    p.add_argument("--out", required=True, metavar="DIR", help="the pack's folder")
    p.add_argument(
        "--scenario",
        action="append",
        metavar="NAME",
        help="a saved scenario to put in the pack: a map of its moves and its totals before "
        "and after (repeat for several)",
    )
    p.set_defaults(func=_cmd_export_pack)
