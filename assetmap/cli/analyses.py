"""The commands that analyse the estate: ``density``, ``colocate`` and ``match``.

Each checks its options (every problem in one error), computes for the local user
(restricted sites withheld first, so that no figure counts them), prints the result
for people and, with ``--out``, writes it and records the file in the audit log.
:func:`add_commands` adds them to the command line's parser.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._validate import check_positive, raise_if_any
from .common import STORE_HELP, audit, print_notes, store_and_out, viewer

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["add_commands"]


# --------------------------------------------------------------------------------------
# density
# --------------------------------------------------------------------------------------


def _density_options(args: argparse.Namespace, problems: list[str]) -> list[float] | None:
    """Check the options of ``density`` other than the store and --out; return the --bins.

    Each problem is added to ``problems``, in the order of the options.
    """
    from ..density import classify, metric_column
    from ..errors import InvalidArgumentError
    from ..localities import LEVELS

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
    return bins


def _figure(value: float) -> str:
    """Return a figure for the terminal: whole above 100, else three significant digits."""
    if value != value:  # NaN
        return "no data"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _print_density(
    args: argparse.Namespace, sites: pd.DataFrame, result: Any, frame: pd.DataFrame, classes: Any
) -> None:
    """Print the density table's summary, its classes and its ten highest localities."""
    from ..density import metric_column

    column = metric_column(args.metric, args.per)
    unit = {"km2": " per km²", "residents": " per 1,000 residents", "total": ""}[args.per]
    source = args.boundaries or "the bundled Kent and Medway set"
    assigned = len(sites) - result.n_outside
    print(f"{args.metric}{unit} by {args.level}: {len(frame):,} localities from {source}")
    print(
        f"  {len(sites):,} sites: {assigned:,} in a locality ({result.n_on_boundary:,} on a "
        f"boundary, each counted once), {result.n_outside:,} outside every locality"
    )
    print_notes(result.notes)
    print(f"  classes ({classes.scheme}, k={classes.k}):")
    for label, count in zip(classes.legend, classes.counts, strict=True):
        print(f"    {label:<28} {count:>6,} localities")
    if classes.message:
        print(f"  note: {classes.message}")
    top = frame.sort_values(column, ascending=False, kind="stable").head(10)
    print(f"  highest {len(top)}:")
    for row in top.itertuples(index=False):
        shown = _figure(getattr(row, column))
        print(f"    {row.code:<10} {str(row.name)[:32]:<32} {shown:>16}  sites {row.sites:,}")


def _cmd_density(args: argparse.Namespace) -> int:
    from .. import access
    from ..density import density_by_locality
    from ..io.outputs import write_table
    from ..io.population import read_population

    problems: list[str] = []
    store, out = store_and_out(args, problems)
    bins = _density_options(args, problems)
    raise_if_any(problems)

    population = read_population(args.population) if args.population else None
    sites = access.visible_sites(store.sites(), viewer())
    result = density_by_locality(
        sites, args.boundaries or args.level, population=population, viewer=viewer()
    )
    frame, classes = result.choropleth(
        args.metric, per=args.per, scheme=args.scheme, k=args.k, bins=bins
    )
    _print_density(args, sites, result, frame, classes)
    if out is not None:
        table = frame if out.suffix.lower() == ".gpkg" else frame.drop(columns="geometry")
        layer = f"density_{args.level}"
        write_table(table, out, layer=layer)
        audit(args.store, "export", str(out), file=out, counts={"rows": len(table)})
        print(f"Wrote {out}" + (f" (layer {layer})" if out.suffix.lower() == ".gpkg" else ""))
    return 0


# --------------------------------------------------------------------------------------
# colocate
# --------------------------------------------------------------------------------------


def _print_clusters(result: Any) -> None:
    """Print the co-location's message and its ten largest clusters."""
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


def _cmd_colocate(args: argparse.Namespace) -> int:
    from ..access import visible_sites
    from ..colocation import colocation_clusters
    from ..files import guard_output

    problems: list[str] = []
    store, out = store_and_out(args, problems)
    if out is not None and out.suffix.lower() == ".csv":  # the members are written beside it
        members = out.with_name(out.stem + "_members" + out.suffix)
        guard_output(members, store=store.path, name="--out (members)", problems=problems)
    if p := check_positive("--distance", args.distance):
        problems.append(p)
    raise_if_any(problems)

    # withheld first, so that no row label counts what was withheld (assetmap.access)
    sites = visible_sites(store.sites(), viewer())
    result = colocation_clusters(sites, distance=args.distance, viewer_agency=viewer().agency)
    _print_clusters(result)
    if out is not None:
        written = result.to_gpkg(out) if out.suffix.lower() == ".gpkg" else result.to_csv(out)
        written = written if isinstance(written, list) else [written]
        for w in written:
            audit(args.store, "export", str(w), file=w, counts={"clusters": len(result.clusters)})
        print("Wrote " + ", ".join(str(w) for w in written))
    return 0


# --------------------------------------------------------------------------------------
# match
# --------------------------------------------------------------------------------------


def _print_match(source: str, match: Any, plan: Any, *, allow_split: bool) -> None:
    """Print each request's best candidate, then the plan's assignments and the unmatched."""
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
    split = "split allowed" if allow_split else "whole requests only"
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


def _cmd_match(args: argparse.Namespace) -> int:
    from ..access import visible_requests, visible_sites
    from ..matching.allocation import allocate
    from ..matching.candidates import find_candidates

    problems: list[str] = []
    store, out = store_and_out(args, problems)
    if args.requests is not None and not Path(args.requests).is_file():
        problems.append(f"--requests {args.requests!r} is not a file; expected a requests register")
    if p := check_positive("--time-limit", args.time_limit, "a positive number of seconds"):
        problems.append(p)
    raise_if_any(problems)
    if args.requests is not None:
        from ..registers.importer import prepare_register

        prepared = prepare_register(Path(args.requests), kind="requests")
        requests = prepared.rows
        source = f"{Path(args.requests).name} ({prepared.report.quarantined:,} rows quarantined)"
    else:
        requests = store.requests()
        source = f"the store {store.path}"

    # withheld first, so that no row label counts what was withheld (assetmap.access)
    requests = visible_requests(requests, viewer())
    sites = visible_sites(store.sites(), viewer())
    match = find_candidates(requests, sites, viewer_agency=viewer().agency)
    plan = allocate(match, allow_split=args.allow_split, time_limit=args.time_limit)
    _print_match(source, match, plan, allow_split=args.allow_split)
    if out is not None:
        written = plan.to_gpkg(out) if out.suffix.lower() == ".gpkg" else plan.to_csv(out)
        audit(
            args.store,
            "export",
            str(written),
            file=written,
            counts={"assignments": len(plan.assignments)},
        )
        print(f"Wrote {written}")
    return 0


# --------------------------------------------------------------------------------------
# The parsers
# --------------------------------------------------------------------------------------


def _add_density(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    p.add_argument("--store", help=STORE_HELP)
    p.add_argument("--out", metavar="FILE", help="write the table: .csv, or .gpkg with polygons")
    p.set_defaults(func=_cmd_density)


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``density``, ``colocate`` and ``match`` to the parser's commands."""
    _add_density(sub)

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
    p.add_argument("--store", help=STORE_HELP)
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
    p.add_argument("--store", help=STORE_HELP)
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
