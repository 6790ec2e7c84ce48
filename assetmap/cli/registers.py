"""The commands that fill and read the store: ``import``, ``remove``, ``sample`` and ``summary``.

:func:`add_commands` adds them to the command line's parser; each command's function
takes the parsed arguments and returns the exit code.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._validate import raise_if_any
from ..registers.locate import POSTCODE_TOLERANCE_M
from ..schema import SECTORS
from .common import (
    PLACE_HELP,
    STORE_HELP,
    audit,
    guard_store_output,
    level_option,
    place_option,
    print_json,
    progress_bar,
    viewer,
)

if TYPE_CHECKING:
    from ..store.interface import EstateStore

__all__ = ["add_commands"]

#: The import log's columns that ``summary`` lists for each source.
_SOURCE_COLUMNS = [
    "source_file",
    "source_owner",
    "kind",
    "imported_at",
    "rows_read",
    "accepted",
    "quarantined",
    "source_sha256",
]


def _tolerance(text: str) -> float | None:
    """Read ``--postcode-tolerance``: metres greater than 0, or ``off``."""
    if text.strip().lower() == "off":
        return None
    try:
        metres = float(text)
    except ValueError:
        metres = float("nan")
    if not metres > 0 or metres == float("inf"):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a distance: give metres greater than 0, or 'off'"
        )
    return metres


def _cmd_import(args: argparse.Namespace) -> int:
    from ..registers.importer import import_register
    from ..store import open_store

    if args.report:
        problems: list[str] = []
        guard_store_output(args.report, open_store(args.store), "--report", problems)
        raise_if_any(problems)
    update, bar = progress_bar(Path(args.path).name)
    try:
        report = import_register(
            Path(args.path),
            store=args.store,
            profile=args.profile,
            agency=args.agency,
            sector=args.sector,
            kind=args.kind,
            layer=args.layer,
            name=args.name,
            postcode_tolerance_m=args.postcode_tolerance,
            progress=update,
            viewer=viewer(),
        )
    finally:
        bar.close()
    audit(
        args.store,
        "import",
        report.source_file,
        digest=report.sha256,
        counts=report.counts(),
    )
    print(report.summary())
    if args.report:
        Path(args.report).write_text(report.to_json(), encoding="utf-8")
    return 0


def _summary_figures(
    store: EstateStore, place: Any = None, level: str | None = None
) -> dict[str, Any]:
    """Return the figures ``summary`` shows, of what the local user may see.

    With ``place``, of the sites and requests in it; with ``level``, the sites per
    locality of that level too.
    """
    from ..access import visible_imports, visible_quarantine, visible_requests, visible_sites
    from ..schema import in_place

    local = viewer()
    sites = visible_sites(store.sites(), local)
    requests = visible_requests(store.requests(), local)
    where: dict[str, Any] = {}
    if place is not None:
        sites = sites[in_place(sites, place.geometry)]
        requests = requests[in_place(requests, place.geometry)]
        where["place"] = place.name
    if level is not None:
        where["by_locality"] = _by_locality(sites, place, level, store)
    quarantine = visible_quarantine(store.quarantine(), local)
    log = visible_imports(store.imports(), local)
    return {
        "store": store.location,
        "sites": len(sites),
        "requests": len(requests),
        "quarantined_rows": int(quarantine.drop_duplicates(["source_file", "row"]).shape[0]),
        "shared_sites": int((sites["shared_group"] != "").sum()),
        "restricted_sites": int((sites["sensitivity"] == "restricted").sum()),
        "floor_area_sqft": float(sites["floor_area_sqft"].sum()),
        "surplus_sqft": float(sites["surplus_sqft"].sum()),
        "running_cost_gbp": float(sites["running_cost_gbp"].sum()),
        "by_sector": sites["sector"].value_counts().to_dict(),
        "by_agency": sites["agency"].value_counts().to_dict(),
        "sources": log[_SOURCE_COLUMNS].to_dict("records"),
        **where,
    }


def _by_locality(sites: Any, place: Any, level: str, store: EstateStore) -> dict[str, int]:
    """Return the sites per locality of ``level`` (in ``place``, when given), most first."""
    from ..localities import assign_localities
    from ..places import level_localities, place_localities

    kept = store if store.exists() else None
    localities = (
        level_localities(level, store=kept)
        if place is None
        else place_localities(place, level, store=kept)
    )
    found = assign_localities(sites, localities)
    counts = found.loc[~found["outside"], "locality_name"].value_counts()
    return {str(k): int(v) for k, v in counts.items()}


def _print_summary(out: dict[str, Any]) -> None:
    """Print the figures of :func:`_summary_figures` for people."""
    import pandas as pd

    print(f"Estate in {out['store']}" + (f", in {out['place']}" if "place" in out else ""))
    print(
        f"  {out['sites']:,} sites, {out['requests']:,} space requests, "
        f"{out['quarantined_rows']:,} rows in quarantine"
    )
    print(
        f"  floor area {out['floor_area_sqft']:,.0f} sq ft, surplus "
        f"{out['surplus_sqft']:,.0f} sq ft, running cost £{out['running_cost_gbp']:,.0f} a year"
    )
    print(
        f"  {out['shared_sites']:,} sites reported by more than one agency, "
        f"{out['restricted_sites']:,} restricted"
    )
    print("  by sector: " + ", ".join(f"{k} {v:,}" for k, v in out["by_sector"].items()))
    if "by_locality" in out:
        shown = list(out["by_locality"].items())
        print(
            "  by locality: "
            + (", ".join(f"{k} {v:,}" for k, v in shown[:20]) or "none")
            + (f" and {len(shown) - 20:,} more" if len(shown) > 20 else "")
        )
    print("  sources:")
    for s in out["sources"]:
        owner = f" of {s['source_owner']}" if s["source_owner"] else ""
        counts = (
            f"{s['accepted']:,} accepted, {s['quarantined']:,} quarantined, "
            if not pd.isna(s["accepted"])
            else "(counts shown only to its agency), "
        )
        hashed = f", sha256 {s['source_sha256'][:12]}" if not pd.isna(s["source_sha256"]) else ""
        print(
            f"    {s['source_file']}{owner} ({s['kind']}): {counts}"
            f"imported {s['imported_at']}{hashed}"
        )


def _cmd_summary(args: argparse.Namespace) -> int:
    from ..store import open_store

    store = open_store(args.store)
    if not store.exists():
        print(f"The store {store.location} does not exist yet: import a register first.")
        return 0
    problems: list[str] = []
    place, level = place_option(args, store, problems), level_option(args, store, problems)
    raise_if_any(problems)
    out = _summary_figures(store, place, level)  # of what the local user may see
    if args.json:
        print_json(out)
    else:
        _print_summary(out)
    return 0


def _cmd_remove(args: argparse.Namespace) -> int:
    from ..registers.importer import remove_register

    removed = remove_register(args.source, store=args.store, owner=args.agency, viewer=viewer())
    audit(args.store, "remove", args.source, counts={"rows": int(removed)})
    print(f"Removed {args.source}: {removed:,} rows")
    return 0


def _cmd_sample(args: argparse.Namespace) -> int:
    from ..sample import build_sample_store
    from ..store import open_store

    store = open_store(args.store)
    if store.exists() and not args.force:
        print(f"The store {store.location} exists already; use --force to add the sample to it.")
        return 0
    update, bar = progress_bar(f"sample estate ({args.place})")
    try:
        reports = build_sample_store(args.store, place=args.place, progress=update)
    finally:
        bar.close()
    for r in reports:
        print(r.summary().splitlines()[0])
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``import``, ``summary``, ``remove`` and ``sample`` to the parser's commands."""
    p = sub.add_parser("import", help="import a register into the store")
    p.add_argument(
        "path", help="the register: CSV, XLSX, XLS, GeoJSON, GeoPackage or zipped Shapefile"
    )
    p.add_argument("--profile", help="a TOML profile mapping the register's columns")
    p.add_argument(
        "--agency",
        help="the agency every row belongs to (required when the register's rows name none)",
    )
    p.add_argument("--sector", choices=SECTORS, help="the sector every row belongs to")
    p.add_argument(
        "--kind",
        choices=("sites", "requests"),
        help="sites or space requests (decided from the columns when omitted)",
    )
    p.add_argument("--layer", help="GeoPackage layer, workbook sheet or shapefile to read")
    p.add_argument(
        "--name",
        help="the source's name (default: the file name); "
        "importing the same name again replaces it",
    )
    p.add_argument(
        "--postcode-tolerance",
        type=_tolerance,
        default=POSTCODE_TOLERANCE_M,
        metavar="METRES",
        help="quarantine a row whose coordinates lie farther than this from the centre of "
        f"its own postcode (default {POSTCODE_TOLERANCE_M:,.0f}; 'off' keeps every row's "
        "coordinates unchecked)",
    )
    p.add_argument("--store", help=STORE_HELP)
    p.add_argument("--report", metavar="FILE.json", help="write the import report as JSON")
    p.set_defaults(func=_cmd_import)

    p = sub.add_parser("summary", help="summarise the estate in the store")
    p.add_argument("--place", metavar="NAME", help="the sites in this place: " + PLACE_HELP)
    p.add_argument(
        "--level",
        help="count the sites per locality of this level: country, icb, nhs_area, district, "
        "lsoa, county or a boundary set added with `boundaries add`",
    )
    p.add_argument("--store", help=STORE_HELP)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_summary)

    p = sub.add_parser("remove", help="remove an imported source and all its rows")
    p.add_argument("source", help="the source's name, as `summary` lists it")
    p.add_argument(
        "--agency",
        help="the agency whose source to remove, when several agencies have one of that name",
    )
    p.add_argument("--store", help=STORE_HELP)
    p.set_defaults(func=_cmd_remove)

    p = sub.add_parser("sample", help="build the store from the bundled sample estate")
    p.add_argument(
        "--place",
        choices=("kent", "trafford"),
        default="kent",
        help="which sample: kent (Kent and Medway, the default) or trafford (Greater Manchester)",
    )
    p.add_argument("--store", help=STORE_HELP)
    p.add_argument("--force", action="store_true", help="import even if the store exists")
    p.set_defaults(func=_cmd_sample)
