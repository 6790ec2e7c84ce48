"""The command line: ``python -m assetmap COMMAND``.

Exit codes: 0 on success (an import with quarantined rows still succeeds),
2 when the input cannot be used (a file that cannot be read, a bad option) or
the system refuses (a full disk, a read-only folder, a file size limit, the
store's lock held too long by another writer), with one clear message on
standard error and never a traceback.

The command line runs as the local single user (:func:`assetmap.access.local_viewer`):
restricted sites are left out of every listing, cluster, match, map and file
unless ``$ASSETMAP_AGENCY`` names their agency. Imports, removals and every
file written (``--out``, ``export-map``, ``export-pack``) are appended to the
store's audit log (:mod:`assetmap.audit`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ._validate import raise_if_any
from .errors import AssetmapError
from .files import system_error_message
from .schema import SECTORS
from .settings import DEFAULT_STORE, STORE_ENV, configured_tiles

__all__ = ["main"]


def _viewer():
    from .access import local_viewer

    return local_viewer()


def _audit(store, action: str, what: str, *, file=None, digest: str = "", counts=None) -> None:
    """Append an entry to the store's audit log (``file``: a file written, hashed here)."""
    from .audit import record, sha256
    from .store import open_store

    path = open_store(store).path
    if file is not None and Path(file).is_file():
        digest = sha256(file)
    record(path, viewer=_viewer(), action=action, what=what, sha256=digest, counts=counts or {})


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
    from .files import guard_output
    from .registers.importer import import_register
    from .store import open_store

    if args.report:
        problems: list[str] = []
        guard_output(
            args.report, store=open_store(args.store).path, name="--report", problems=problems
        )
        raise_if_any(problems)
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
            viewer=_viewer(),
        )
    finally:
        bar.close()
    _audit(
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


def _cmd_summary(args) -> int:
    import pandas as pd

    from .access import visible_imports, visible_quarantine, visible_requests, visible_sites
    from .store import open_store

    store = open_store(args.store)
    if not store.exists():
        print(f"The store {store.path} does not exist yet: import a register first.")
        return 0
    viewer = _viewer()  # every figure is of what the local user may see
    sites = visible_sites(store.sites(), viewer)
    requests = visible_requests(store.requests(), viewer)
    quarantine = visible_quarantine(store.quarantine(), viewer)
    log = visible_imports(store.imports(), viewer)
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
                "source_owner",
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
    return 0


def _cmd_remove(args) -> int:
    from .registers.importer import remove_register

    removed = remove_register(args.source, store=args.store, owner=args.agency, viewer=_viewer())
    _audit(args.store, "remove", args.source, counts={"rows": int(removed)})
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


def _cmd_density(args) -> int:
    from .density import (
        classify,
        density_by_locality,
        metric_column,
        read_population,
        write_table,
    )
    from .errors import InvalidArgumentError
    from .localities import LEVELS

    problems: list[str] = []
    store, out = _store_and_out(args, problems)
    if args.boundaries is None and args.level not in LEVELS:
        problems.append(
            f"--level {args.level!r} is not a bundled level; expected one of: "
            f"{', '.join(LEVELS)}, or --boundaries FILE with the polygons of {args.level}"
        )
    if args.per == "residents" and args.population is None:
        problems.append(
            "--per residents needs --population FILE; expected an ONS population estimates CSV"
        )
    bins = None
    if args.bins is not None:
        try:
            bins = [float(b) for b in args.bins.split(",")]
        except ValueError:
            problems.append(
                f"--bins {args.bins!r} is not valid; expected numbers separated by commas, "
                "such as 1,5,10"
            )
    checks = (
        lambda: metric_column(args.metric, args.per),
        lambda: classify([], scheme=args.scheme, k=args.k, bins=bins),  # checks the arguments
    )
    for check in checks:
        try:
            check()
        except InvalidArgumentError as exc:
            problems.append(str(exc))
    raise_if_any(problems)

    population = read_population(args.population) if args.population else None
    column = metric_column(args.metric, args.per)
    from . import access

    sites = access.visible_sites(store.sites(), _viewer())
    result = density_by_locality(
        sites, args.boundaries or args.level, population=population, viewer=_viewer()
    )
    frame, classes = result.choropleth(
        args.metric, per=args.per, scheme=args.scheme, k=args.k, bins=bins
    )
    unit = {"km2": " per km²", "residents": " per 1,000 residents", "total": ""}[args.per]
    source = args.boundaries or "the bundled Kent and Medway set"
    assigned = len(sites) - result.n_outside
    print(f"{args.metric}{unit} by {args.level}: {len(frame):,} localities from {source}")
    print(
        f"  {len(sites):,} sites: {assigned:,} in a locality ({result.n_on_boundary:,} on a "
        f"boundary, each counted once), {result.n_outside:,} outside every locality"
    )
    for note in result.notes:
        print(f"  note: {note}")
    print(f"  classes ({classes.scheme}, k={classes.k}):")
    for label, count in zip(classes.legend, classes.counts, strict=True):
        print(f"    {label:<28} {count:>6,} localities")
    if classes.message:
        print(f"  note: {classes.message}")

    def number(value: float) -> str:
        """A figure for the terminal: whole above 100, else three significant digits."""
        if value != value:  # NaN
            return "no data"
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"

    top = frame.sort_values(column, ascending=False, kind="stable").head(10)
    print(f"  highest {len(top)}:")
    for row in top.itertuples(index=False):
        shown = number(getattr(row, column))
        print(f"    {row.code:<10} {row.name[:32]:<32} {shown:>16}  sites {row.sites:,}")
    if out is not None:
        table = frame if out.suffix.lower() == ".gpkg" else frame.drop(columns="geometry")
        layer = f"density_{args.level}"
        write_table(table, out, layer=layer)
        _audit(args.store, "export", str(out), file=out, counts={"rows": len(table)})
        print(f"Wrote {out}" + (f" (layer {layer})" if out.suffix.lower() == ".gpkg" else ""))
    return 0


def _store_and_out(args, problems: list[str]):
    """The store (which must exist) and the --out file (.csv or .gpkg, not the store)."""
    from .store import open_store

    store = open_store(args.store)
    if not store.exists():
        problems.append(
            f"--store {str(store.path)!r} does not exist; expected an estate store (import a "
            "register first)"
        )
    out = Path(args.out) if args.out else None
    if out is not None:
        if out.suffix.lower() not in (".csv", ".gpkg"):
            problems.append(f"--out {str(out)!r} is not valid; expected a .csv or .gpkg file")
        elif store.exists() and out.resolve() == store.path.resolve():
            problems.append(
                f"--out {str(out)!r} is the estate store; expected another .csv or .gpkg file"
            )
        else:
            from .files import guard_output

            guard_output(out, store=store.path, name="--out", problems=problems)
    return store, out


def _cmd_colocate(args) -> int:
    from ._validate import check_positive
    from .colocation import colocation_clusters

    problems: list[str] = []
    store, out = _store_and_out(args, problems)
    if out is not None and out.suffix.lower() == ".csv":  # the members are written beside it
        from .files import guard_output

        members = out.with_name(out.stem + "_members" + out.suffix)
        guard_output(members, store=store.path, name="--out (members)", problems=problems)
    if p := check_positive("--distance", args.distance):
        problems.append(p)
    raise_if_any(problems)
    from .access import visible_sites

    # withheld first, so that no row label counts what was withheld (assetmap.access)
    sites = visible_sites(store.sites(), _viewer())
    result = colocation_clusters(sites, distance=args.distance, viewer_agency=_viewer())
    print(result.message)
    top = result.clusters.head(10)
    if len(top):
        print(f"  largest {len(top)} (of {len(result.clusters):,}):")
    for row in top.itertuples(index=False):
        estimated = " (estimated)" if row.saving_estimated else ""
        print(
            f"    #{row.cluster_id}: {row.n_sites:,} sites of {row.n_agencies} agencies "
            f"({row.agencies})"
        )
        print(
            f"      hub {row.hub_name} ({row.hub_agency}, {row.hub_tenure or 'tenure unknown'}); "
            f"needs {row.new_space_sqft:,.0f} sq ft more to take the rest; releases "
            f"{row.net_floor_area_released_sqft:,.0f} sq ft, saving £{row.saving_gbp:,.0f} "
            f"a year{estimated}"
        )
    if out is not None:
        written = result.to_gpkg(out) if out.suffix.lower() == ".gpkg" else result.to_csv(out)
        written = written if isinstance(written, list) else [written]
        for w in written:
            _audit(args.store, "export", str(w), file=w, counts={"clusters": len(result.clusters)})
        print("Wrote " + ", ".join(str(w) for w in written))
    return 0


def _cmd_match(args) -> int:
    from ._validate import check_positive
    from .matching import allocate, find_candidates

    problems: list[str] = []
    store, out = _store_and_out(args, problems)
    if args.requests is not None and not Path(args.requests).is_file():
        problems.append(f"--requests {args.requests!r} is not a file; expected a requests register")
    if p := check_positive("--time-limit", args.time_limit, "a positive number of seconds"):
        problems.append(p)
    raise_if_any(problems)
    if args.requests is not None:
        from .registers.importer import prepare_register

        prepared = prepare_register(Path(args.requests), kind="requests")
        requests = prepared.rows
        source = f"{Path(args.requests).name} ({prepared.report.quarantined:,} rows quarantined)"
    else:
        requests = store.requests()
        source = f"the store {store.path}"
    from .access import visible_requests, visible_sites

    # withheld first, so that no row label counts what was withheld (assetmap.access)
    requests = visible_requests(requests, _viewer())
    sites = visible_sites(store.sites(), _viewer())
    match = find_candidates(requests, sites, viewer_agency=_viewer())
    plan = allocate(match, allow_split=args.allow_split, time_limit=args.time_limit)
    print(f"Space requests from {source}")
    print(match.message)
    for row in match.requests.itertuples():
        ref = row.request_ref or row.request_id
        print(f"  {ref} {row.agency}: {row.need_sqft:,.0f} sq ft {row.use_class}")
        top = match.candidates[match.candidates["request_id"] == row.request_id].head(1)
        if len(top):
            best = top.iloc[0]
            print(
                f"    best of {row.n_candidates:,}: {best['offer_name']} ({best['offer_agency']}), "
                f"score {best['score']:.2f}: {best['reasons']}"
            )
        else:
            print(f"    no candidates: {row.reason}")
    split = "split allowed" if args.allow_split else "whole requests only"
    print(f"Plan ({split}): {plan.message}")
    for row in plan.assignments.itertuples(index=False):
        ref = row.request_ref or row.request_id
        print(
            f"  {ref} -> {row.offer_name} ({row.offer_agency}): {row.assigned_sqft:,.0f} sq ft, "
            f"{row.distance_m / 1000:,.1f} km"
        )
    for row in plan.unmatched.itertuples(index=False):
        ref = row.request_ref or row.request_id
        print(f"  {ref} unmatched: {row.reason}")
    if out is not None:
        written = plan.to_gpkg(out) if out.suffix.lower() == ".gpkg" else plan.to_csv(out)
        _audit(
            args.store,
            "export",
            str(written),
            file=written,
            counts={"assignments": len(plan.assignments)},
        )
        print(f"Wrote {written}")
    return 0


def _tiles(args):
    """The configured background tiles, unless --no-tiles (never required)."""
    if args.no_tiles:
        return None
    return configured_tiles()


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


def _as_options(exc: Exception):
    """The same error, naming the command's options instead of the Python arguments."""
    from .errors import InvalidArgumentError

    parts = []
    for part in str(exc).split("; "):
        for name, option in _MAP_OPTIONS.items():
            if part.startswith(name):
                part = option + part[len(name) :]
                break
        parts.append(part)
    return InvalidArgumentError("; ".join(parts))


def _paper(value: str) -> str:
    """``a4`` and ``A4`` alike."""
    return value.upper() if value.upper() in ("A4", "A3") else value


def _cmd_export_map(args) -> int:
    from .errors import InvalidArgumentError
    from .files import guard_output
    from .maps.static import (
        FORMATS,
        build_map,
        check_output_path,
        count_text,
        option_problems,
        save_map,
    )
    from .store import open_store

    out = Path(args.out)
    suffix = out.suffix.lower().lstrip(".")
    fmt = args.format or suffix
    problems = [
        str(_as_options(Exception(p)))
        for p in option_problems(
            kind=args.kind, paper=_paper(args.paper), format=fmt, dpi=args.dpi, place=args.place
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
    store = open_store(args.store)
    guard_output(out, store=store.path, name="--out", problems=problems)
    if not store.exists():
        problems.append(
            f"--store {str(store.path)!r} does not exist; expected an estate store (import a "
            "register first)"
        )
    raise_if_any(problems)
    try:
        built = build_map(
            args.kind,
            store.sites(),
            place=args.place,
            localities=args.level,
            requests=store.requests() if args.kind == "matches" else None,
            paper=_paper(args.paper),
            landscape=args.landscape,
            title=args.title,
            inset=not args.no_inset,
            tiles=_tiles(args),
            viewer=_viewer(),
        )
        save_map(built.figure, out, format=fmt, dpi=args.dpi)
    except InvalidArgumentError as exc:
        raise _as_options(exc) from None
    _audit(args.store, "export", str(out), file=out, counts={"sites": built.sites_drawn})
    print(f"Wrote {out}: {built.title}")
    print(
        f"  {_paper(args.paper)} {'landscape' if args.landscape else 'portrait'}, {fmt.upper()}"
        f"{f' at {args.dpi} dpi' if fmt == 'png' else ''}; scale 1:{built.scale_denominator:,.0f}"
        f"; {count_text(built.sites_drawn, 'site')} "
        f"{'counted' if args.kind == 'density' else 'drawn'}"
    )
    for note in built.notes:
        print(f"  note: {note}")
    return 0


def _cmd_export_pack(args) -> int:
    from .errors import InvalidArgumentError
    from .maps.pack import export_pack
    from .store import open_store

    update, bar = _progress_bar(f"map pack of {args.place}")
    try:
        index = export_pack(
            open_store(args.store),
            args.place,
            args.level,
            args.out,
            format=args.format,
            paper=_paper(args.paper),
            landscape=args.landscape,
            dpi=args.dpi,
            tiles=_tiles(args),
            progress=update,
            viewer=_viewer(),
        )
    except InvalidArgumentError as exc:
        raise _as_options(exc) from None
    finally:
        bar.close()
    frame = index.to_frame()
    counts = frame["kind"].value_counts()
    _audit(
        args.store,
        "export",
        str(index.folder),
        file=index.index_path,
        counts={"files": len(frame), **{str(k): int(v) for k, v in counts.items()}},
    )
    print(
        f"Wrote the map pack of {index.place} to {index.folder}: {counts.get('map', 0)} place "
        f"maps, an atlas of {counts.get('atlas', 0)} {index.level} maps, "
        f"{counts.get('table', 0)} tables; the list is in {index.index_path}"
    )
    for note in index.notes:
        print(f"  note: {note}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used to document the commands)."""
    parser = argparse.ArgumentParser(
        prog="python -m assetmap",
        description="assetmap: one map of the whole public estate of a place.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    store_help = f"the estate store (default: ${STORE_ENV} or ./{DEFAULT_STORE})"

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
    p.add_argument(
        "--agency",
        help="the agency whose source to remove, when several agencies have one of that name",
    )
    p.add_argument("--store", help=store_help)
    p.set_defaults(func=_cmd_remove)

    p = sub.add_parser("sample", help="build the store from the bundled sample estate")
    p.add_argument("--store", help=store_help)
    p.add_argument("--force", action="store_true", help="import even if the store exists")
    p.set_defaults(func=_cmd_sample)

    p = sub.add_parser(
        "density",
        help="sites, floor area, surplus or running cost per locality, classed for a map",
    )
    p.add_argument(
        "--level",
        default="district",
        help="bundled level: district (default), lsoa, nhs_area or county; with --boundaries, "
        "the name of the file's level (ward, parish...)",
    )
    p.add_argument(
        "--boundaries", metavar="FILE", help="a boundary file (GeoJSON, GeoPackage, Shapefile)"
    )
    p.add_argument(
        "--metric",
        default="sites",
        metavar="METRIC",
        help="sites (default), floor_area_sqft, surplus_sqft or running_cost_gbp",
    )
    p.add_argument(
        "--per",
        default="km2",
        metavar="km2|residents|total",
        help="km2 (default), residents (per 1,000; needs --population) or total",
    )
    p.add_argument("--population", metavar="FILE", help="ONS population estimates CSV")
    p.add_argument(
        "--scheme",
        default="quantiles",
        metavar="NAME",
        help="quantiles (default), natural_breaks, equal_interval or user_defined (with --bins)",
    )
    p.add_argument("--k", type=int, default=5, metavar="N", help="number of classes (default 5)")
    p.add_argument("--bins", help="upper bounds for --scheme user_defined, such as 1,5,10")
    p.add_argument("--store", help=store_help)
    p.add_argument("--out", metavar="FILE", help="write the table: .csv, or .gpkg with polygons")
    p.set_defaults(func=_cmd_density)

    p = sub.add_parser(
        "colocate", help="groups of two or more agencies' sites within walking distance"
    )
    p.add_argument(
        "--distance",
        type=float,
        default=400.0,
        metavar="METRES",
        help="walking distance in metres (default 400)",
    )
    p.add_argument("--store", help=store_help)
    p.add_argument(
        "--out",
        metavar="FILE",
        help="write the clusters: .csv (members beside it) or .gpkg (hulls and members)",
    )
    p.set_defaults(func=_cmd_colocate)

    p = sub.add_parser("match", help="match space requests to surplus space: candidates and plan")
    p.add_argument(
        "--requests",
        metavar="FILE",
        help="a requests register to use instead of the store's requests (not stored)",
    )
    p.add_argument("--store", help=store_help)
    p.add_argument(
        "--out", metavar="FILE", help="write the plan: .csv (table) or .gpkg (lines and points)"
    )
    p.add_argument(
        "--allow-split", action="store_true", help="let a request be served by several offers"
    )
    p.add_argument(
        "--time-limit",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="solver time limit (default 60); the gap is reported if it stops the solver",
    )
    p.set_defaults(func=_cmd_match)

    map_help = {
        "paper": "paper size: A4 (default) or A3",
        "landscape": "landscape instead of portrait",
        "dpi": "PNG resolution (and of dense point layers in PDF and SVG): 150 or 300 (default)",
        "no_tiles": "never draw background tiles, even when a tile source is configured",
    }
    p = sub.add_parser(
        "export-map", help="a print-quality map (PNG, PDF or SVG) of a place: sites, density..."
    )
    p.add_argument(
        "--kind",
        default="sites",
        metavar="sites|density|clusters|matches",
        help="what the map shows (default sites, by sector)",
    )
    p.add_argument(
        "--place",
        required=True,
        metavar="NAME",
        help="a district ('Maidstone'), 'Kent and Medway', an LSOA or NHS area name, or a code",
    )
    p.add_argument(
        "--format",
        metavar="png|pdf|svg",
        help="file format (default: from the --out file's ending)",
    )
    p.add_argument("--paper", default="A4", metavar="A4|A3", help=map_help["paper"])
    p.add_argument("--landscape", action="store_true", help=map_help["landscape"])
    p.add_argument("--dpi", type=int, default=300, metavar="150|300", help=map_help["dpi"])
    p.add_argument(
        "--level",
        metavar="LEVEL",
        help="localities for the basemap and density: district, lsoa, nhs_area or a boundary "
        "file (default: the level below the place)",
    )
    p.add_argument("--title", help="the map's title (default: the kind and the place)")
    p.add_argument("--no-inset", action="store_true", help="leave out the locator inset")
    p.add_argument("--no-tiles", action="store_true", help=map_help["no_tiles"])
    p.add_argument("--store", help=store_help)
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
        help="the atlas level: district, lsoa, nhs_area or a boundary file (default: districts "
        "for the county, LSOAs for a district)",
    )
    p.add_argument(
        "--format", default="pdf", metavar="png|pdf|svg", help="map format (default pdf)"
    )
    p.add_argument("--paper", default="A4", metavar="A4|A3", help=map_help["paper"])
    p.add_argument("--landscape", action="store_true", help=map_help["landscape"])
    p.add_argument("--dpi", type=int, default=300, metavar="150|300", help=map_help["dpi"])
    p.add_argument("--no-tiles", action="store_true", help=map_help["no_tiles"])
    p.add_argument("--store", help=store_help)
    p.add_argument("--out", required=True, metavar="DIR", help="the pack's folder")
    p.set_defaults(func=_cmd_export_pack)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if hasattr(args, "store"):
            from .audit import audit_path
            from .store import open_store

            audit_path(open_store(args.store).path)  # a misnamed audit log, before any change
        return args.func(args)
    except AssetmapError as exc:
        print(f"assetmap: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # the system refused: one line, not a traceback
        message = system_error_message(exc)
        if message is None:
            raise
        print(f"assetmap: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("assetmap: interrupted; the store is unchanged", file=sys.stderr)
        return 130
