"""The command line: ``python -m assetmap COMMAND``.

Exit codes: 0 on success (an import with quarantined rows still succeeds),
2 when the input cannot be used (a file that cannot be read, a bad option),
with one clear message on standard error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import AssetmapError
from .schema import SECTORS

__all__ = ["main"]


def _progress_bar(description: str):
    """A tqdm progress bar fed by the engine's ``progress(stage, fraction)`` callbacks."""
    from tqdm import tqdm

    bar = tqdm(
        total=100,
        desc=description,
        unit="%",
        leave=False,
        file=sys.stderr,
        disable=None,
        bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix}",
    )

    def update(stage: str, fraction: float) -> None:
        bar.set_postfix_str(stage)
        bar.n = round(fraction * 100)
        bar.refresh()
        if fraction >= 1:
            bar.close()

    return update, bar


def _cmd_import(args) -> int:
    from .registers.importer import import_register

    update, bar = _progress_bar(Path(args.path).name)
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
            progress=update,
        )
    finally:
        bar.close()
    print(report.summary())
    if args.report:
        Path(args.report).write_text(report.to_json(), encoding="utf-8")
    return 0


def _cmd_summary(args) -> int:
    from .store import open_store

    store = open_store(args.store)
    if not store.exists():
        print(f"The store {store.path} does not exist yet: import a register first.")
        return 0
    sites = store.sites()
    requests = store.requests()
    quarantine = store.quarantine()
    log = store.imports()
    out = {
        "store": str(store.path),
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
        "sources": log[
            [
                "source_file",
                "kind",
                "imported_at",
                "rows_read",
                "accepted",
                "quarantined",
                "source_sha256",
            ]
        ].to_dict("records"),
    }
    if args.json:
        print(json.dumps(out, indent=2, default=str))
        return 0
    print(f"Estate in {out['store']}")
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
    print("  sources:")
    for s in out["sources"]:
        print(
            f"    {s['source_file']} ({s['kind']}): {s['accepted']:,} accepted, "
            f"{s['quarantined']:,} quarantined, imported {s['imported_at']}, "
            f"sha256 {s['source_sha256'][:12]}"
        )
    return 0


def _cmd_remove(args) -> int:
    from .registers.validate import shared_groups
    from .store import open_store

    removed = open_store(args.store).remove_source(args.source, shared=shared_groups)
    print(f"Removed {args.source}: {removed:,} rows")
    return 0


def _cmd_sample(args) -> int:
    from .sample import build_sample_store
    from .store import open_store

    store = open_store(args.store)
    if store.exists() and not args.force:
        print(f"The store {store.path} exists already; use --force to add the sample to it.")
        return 0
    update, bar = _progress_bar("sample estate")
    try:
        reports = build_sample_store(store.path, progress=update)
    finally:
        bar.close()
    for r in reports:
        print(r.summary().splitlines()[0])
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used to document the commands)."""
    parser = argparse.ArgumentParser(
        prog="python -m assetmap",
        description="assetmap: one map of the whole public estate of a place.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    store_help = "the estate store (default: $ASSETMAP_STORE or ./estate.gpkg)"

    p = sub.add_parser("import", help="import a register into the store")
    p.add_argument(
        "path", help="the register: CSV, XLSX, XLS, GeoJSON, GeoPackage or zipped Shapefile"
    )
    p.add_argument("--profile", help="a TOML profile mapping the register's columns")
    p.add_argument("--agency", help="the agency every row belongs to")
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
    p.add_argument("--store", help=store_help)
    p.add_argument("--report", metavar="FILE.json", help="write the import report as JSON")
    p.set_defaults(func=_cmd_import)

    p = sub.add_parser("summary", help="summarise the estate in the store")
    p.add_argument("--store", help=store_help)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_summary)

    p = sub.add_parser("remove", help="remove an imported source and all its rows")
    p.add_argument("source", help="the source's name, as `summary` lists it")
    p.add_argument("--store", help=store_help)
    p.set_defaults(func=_cmd_remove)

    p = sub.add_parser("sample", help="build the store from the bundled sample estate")
    p.add_argument("--store", help=store_help)
    p.add_argument("--force", action="store_true", help="import even if the store exists")
    p.set_defaults(func=_cmd_sample)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except AssetmapError as exc:
        print(f"assetmap: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("assetmap: interrupted; the store is unchanged", file=sys.stderr)
        return 130
