"""The commands that analyse the estate: ``density``, ``colocate`` and ``match``.

Each checks its options (every problem in one error), computes for the local user
(restricted sites withheld first, so that no figure counts them), prints the result
for people and, with ``--out``, writes it and records the file in the audit log.
:func:`add_commands` adds them to the command line's parser.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._validate import check_positive, raise_if_any
from .common import (
    LEVEL_HELP,
    PLACE_HELP,
    STORE_HELP,
    audit,
    guard_store_output,
    level_option,
    national_ready,
    per_locality,
    place_option,
    print_notes,
    store_and_out,
    viewer,
)

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

__all__ = ["add_commands"]


# --------------------------------------------------------------------------------------
# density
# --------------------------------------------------------------------------------------


def _density_options(
    args: argparse.Namespace, store: Any, problems: list[str]
) -> tuple[list[float] | None, str | None]:
    """Check the options of ``density`` other than the store and --out; return --bins, --level.

    Each problem is added to ``problems``, in the order of the options.
    """
    from ..density import classify, metric_column
    from ..errors import InvalidArgumentError

    level = None
    if args.boundaries is None:
        found: list[str] = []
        level = level_option(args, store, found)
        problems += [f"{p}, or --boundaries FILE with the polygons of {args.level}" for p in found]
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
    return bins, level


def _figure(value: float) -> str:
    """Return a figure for the terminal: whole above 100, else three significant digits."""
    if value != value:  # NaN
        return "no data"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _print_density(
    args: argparse.Namespace,
    sites: pd.DataFrame,
    result: Any,
    frame: pd.DataFrame,
    classes: Any,
    where: tuple[str, str],
) -> None:
    """Print the density table's summary, its classes and its ten highest localities.

    ``where`` is the level's name and where its localities come from.
    """
    from ..density import metric_column

    column = metric_column(args.metric, args.per)
    unit = {"km2": " per km²", "residents": " per 1,000 residents", "total": ""}[args.per]
    level, source = where
    assigned = len(sites) - result.n_outside
    print(f"{args.metric}{unit} by {level}: {len(frame):,} localities {source}")
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


def _density_localities(
    args: argparse.Namespace, sites: gpd.GeoDataFrame, store: Any, place: Any, level: str | None
) -> tuple[Any, tuple[str, str]]:
    """Return the localities to count in, and (the level's name, where they come from).

    With ``--boundaries``, the file's localities (those inside ``--place``, when given);
    else the localities of ``--level`` (default: the level below) in ``--place``, or in
    the place that holds most of the sites.
    """
    from ..places import SET_PREFIX, home_place, place_localities

    kept = store if store.exists() else None
    if args.boundaries is not None:
        if place is None:
            return args.boundaries, (args.level or "locality", f"from {args.boundaries}")
        from ..io.boundaries import read_boundary_file

        frame, notes = read_boundary_file(args.boundaries)
        print_notes(notes)
        inside = place_localities(place, frame)
        return inside, (args.level or "locality", f"from {args.boundaries} in {place.name}")
    if place is None:
        national_ready()
        place = home_place(sites, store=kept)
    level = level or place.sublevel or place.level
    name = level.removeprefix(SET_PREFIX)
    return place_localities(place, level, store=kept), (name, f"in {place.name}")


def _cmd_density(args: argparse.Namespace) -> int:
    from .. import access
    from ..density import density_by_locality
    from ..io.outputs import write_table
    from ..io.population import read_population

    problems: list[str] = []
    store, out = store_and_out(args, problems)
    bins, level = _density_options(args, store, problems)
    place = place_option(args, store, problems)
    raise_if_any(problems)

    population = read_population(args.population) if args.population else None
    sites = access.visible_sites(store.sites(), viewer())
    localities, where = _density_localities(args, sites, store, place, level)
    result = density_by_locality(sites, localities, population=population, viewer=viewer())
    frame, classes = result.choropleth(
        args.metric, per=args.per, scheme=args.scheme, k=args.k, bins=bins
    )
    _print_density(args, sites, result, frame, classes, where)
    if out is not None:
        table = frame if out.suffix.lower() == ".gpkg" else frame.drop(columns="geometry")
        layer = "density_" + re.sub(r"\W+", "_", where[0]).strip("_")
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


def _in_the_place(frame: gpd.GeoDataFrame, place: Any, what: str) -> gpd.GeoDataFrame:
    """Return the rows of ``frame`` in ``place`` (all rows when ``None``), saying how many."""
    from ..schema import in_place

    if place is None:
        return frame
    inside = frame[in_place(frame, place.geometry)].reset_index(drop=True)
    print(f"{len(inside):,} {what} in {place.name} ({len(frame) - len(inside):,} elsewhere)")
    return inside


def _localities(place: Any, level: str, store: Any) -> gpd.GeoDataFrame:
    """Return the localities of ``level`` in ``place`` (every one of them when ``None``)."""
    from ..places import level_localities, place_localities

    kept = store if store.exists() else None
    if place is None:
        return level_localities(level, store=kept)
    return place_localities(place, level, store=kept)


def _opening_option(
    args: argparse.Namespace, store: Any, out: Path | None, problems: list[str]
) -> int | None:
    """Return ``--opening-within`` (``None`` when not given), noting any problem with it."""
    months = args.opening_within
    if months is not None and not 1 <= months <= 1_200:
        problems.append(
            f"--opening-within={months} is not valid; expected a whole number of months, 1 to 1,200"
        )
    if months is not None and out is not None:
        guard_store_output(_windows_path(out), store, "--out (windows)", problems)
    return months


def _windows_path(out: Path) -> Path:
    """Return the windows CSV written beside ``--out`` with ``--opening-within``."""
    return out.with_name(out.stem + "_windows.csv")


def _opening_within(result: Any, sites: gpd.GeoDataFrame, months: int) -> tuple[Any, pd.DataFrame]:
    """Keep the clusters with a lease-event window opening within ``months`` months.

    Returns the co-location of those clusters only (its message says how many of how
    many) and their windows, ranked by saving (:mod:`assetmap.lease_events`).
    """
    import dataclasses
    from datetime import date

    from ..lease_events import DEFAULT_YEARS, cluster_windows, opening_within

    today = date.today()
    every = cluster_windows(result, sites, years=DEFAULT_YEARS, today=today)
    windows = opening_within(every, months=months, today=today)
    kept = windows["cluster_id"].to_numpy()
    clusters = result.clusters[result.clusters["cluster_id"].isin(kept)]
    members = result.members[result.members["cluster_id"].isin(kept)]
    site_cluster = result.site_cluster.where(result.site_cluster.isin(kept))
    unknown = int((every["dates_unknown"] > 0).sum())
    message = (
        f"{result.message} {len(windows):,} of the {len(every):,} clusters have a window "
        f"opening within {months} months in which every member but the hub could leave "
        f"within {DEFAULT_YEARS} years"
        + (f" ({unknown:,} have members whose lease dates are unknown)." if unknown else ".")
    )
    found = dataclasses.replace(
        result, clusters=clusters, members=members, site_cluster=site_cluster, message=message
    )
    return found, windows


def _print_windows(windows: pd.DataFrame, months: int) -> None:
    """Print the windows opening within ``months`` months, largest saving first."""
    import pandas as pd

    top = windows.head(10)
    if len(top):
        print(f"  windows opening within {months} months, largest saving first:")
    for _, row in top.iterrows():
        penalty = f"£{row['break_penalties_gbp']:,.0f}"
        if row["penalties_unknown"]:
            penalty += f" (and {row['penalties_unknown']} not given)"
        opens, closes = pd.Timestamp(row["opens"]), pd.Timestamp(row["closes"])
        print(
            f"    #{row['cluster_id']}: from {opens:%d %b %Y} to {closes:%d %b %Y}; "
            f"saving £{row['saving_gbp']:,.0f} a year; break penalties {penalty}"
        )


def _cmd_colocate(args: argparse.Namespace) -> int:
    from ..access import visible_sites
    from ..colocation import colocation_clusters

    problems: list[str] = []
    store, out = store_and_out(args, problems)
    if out is not None and out.suffix.lower() == ".csv":  # the members are written beside it
        members = out.with_name(out.stem + "_members" + out.suffix)
        guard_store_output(members, store, "--out (members)", problems)
    if p := check_positive("--distance", args.distance):
        problems.append(p)
    months = _opening_option(args, store, out, problems)
    place, level = place_option(args, store, problems), level_option(args, store, problems)
    raise_if_any(problems)

    # withheld first, so that no row label counts what was withheld (assetmap.access)
    sites = _in_the_place(visible_sites(store.sites(), viewer()), place, "sites")
    result = colocation_clusters(
        sites,
        distance=args.distance,
        viewer_agency=viewer().agency,
        include_approximate=args.include_approximate,
    )
    windows = None
    if months is not None:
        result, windows = _opening_within(result, sites, months)
    _print_clusters(result)
    if windows is not None and months is not None:
        _print_windows(windows, months)
    if level is not None:
        hubs = sites[sites["site_id"].isin(result.clusters["hub_site_id"])]
        print(per_locality(hubs, _localities(place, level, store), "cluster hubs", level))
    if out is not None:
        written = result.to_gpkg(out) if out.suffix.lower() == ".gpkg" else result.to_csv(out)
        written = written if isinstance(written, list) else [written]
        if windows is not None:
            from ..io.outputs import write_csv

            written.append(write_csv(windows, _windows_path(out)))
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
    place, level = place_option(args, store, problems), level_option(args, store, problems)
    raise_if_any(problems)
    if args.requests is not None:
        from ..registers.importer import prepare_register

        prepared = prepare_register(Path(args.requests), kind="requests")
        requests = prepared.rows
        source = f"{Path(args.requests).name} ({prepared.report.quarantined:,} rows quarantined)"
    else:
        requests = store.requests()
        source = f"the store {store.location}"

    # withheld first, so that no row label counts what was withheld (assetmap.access)
    requests = _in_the_place(visible_requests(requests, viewer()), place, "requests")
    sites = _in_the_place(visible_sites(store.sites(), viewer()), place, "sites")
    match = find_candidates(
        requests,
        sites,
        viewer_agency=viewer().agency,
        include_approximate=args.include_approximate,
    )
    plan = allocate(match, allow_split=args.allow_split, time_limit=args.time_limit)
    _print_match(source, match, plan, allow_split=args.allow_split)
    if level is not None:
        located = requests[requests.geometry.notna() & ~requests.geometry.is_empty]
        print(per_locality(located, _localities(place, level, store), "requests", level))
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
    p.add_argument("--place", metavar="NAME", help=PLACE_HELP + " (default: where most sites are)")
    p.add_argument(
        "--level",
        help=LEVEL_HELP + "; with --boundaries, the name of the file's level (ward, parish...)",
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


def _add_place_options(p: argparse.ArgumentParser, place: str, level: str) -> None:
    """Add ``--place`` and ``--level`` to a command that works on a place."""
    p.add_argument("--place", metavar="NAME", help=f"{place} (default: every site): {PLACE_HELP}")
    p.add_argument(
        "--level",
        help=f"{level} locality of this level: country, icb, nhs_area, district, lsoa, county or "
        "a boundary set added with `boundaries add`",
    )


def _add_include_approximate(p: argparse.ArgumentParser) -> None:
    """Add ``--include-approximate``: sites placed at a postcode area's centre take part."""
    p.add_argument(
        "--include-approximate",
        action="store_true",
        help="include sites (and requests) placed only approximately, at the centre of their "
        "postcode district or sector (left out by default)",
    )


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
    _add_place_options(p, "clusters of the sites in this place", "count cluster hubs per")
    p.add_argument("--store", help=STORE_HELP)
    p.add_argument(
        "--out",
        metavar="FILE",
        help="write the clusters: .csv (members beside it) or .gpkg (hulls and members)",
    )
    p.add_argument(
        "--opening-within",
        type=int,
        metavar="MONTHS",
        help="only the clusters with a lease-event window (every member but the hub could "
        "leave within 2 years) opening within MONTHS months, such as 24; with --out, their "
        "windows are written beside it (*_windows.csv)",
    )
    _add_include_approximate(p)
    p.set_defaults(func=_cmd_colocate)

    p = sub.add_parser("match", help="match space requests to surplus space: candidates and plan")
    p.add_argument(
        "--requests",
        metavar="FILE",
        help="a requests register to use instead of the store's requests (not stored)",
    )
    _add_place_options(p, "match the requests and offers in this place", "count requests per")
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
    _add_include_approximate(p)
    p.set_defaults(func=_cmd_match)
