"""Places: whatever a user names, found in the national boundaries or in the store.

A *place* is an area the estate is looked at in: a district, an integrated care
board (ICB), a sub-ICB location or Welsh health board, a country or an LSOA of
England and Wales (the national boundaries of :mod:`assetmap.national`), the
bundled Kent and Medway outline, a place saved in the store under a name (several
localities together: Greater Manchester's ten districts), an area of a boundary set
kept in the store (wards, parishes...), or a postcode, which picks its district.

- :func:`resolve_place` turns a name, code or postcode into a :class:`Place`.
- :func:`place_localities` gives the localities of a level inside a place (by
  default the level below it), :func:`level_localities` every locality of a level.
- :func:`place_choices` lists what a place picker offers, :func:`home_place` says
  where a store's sites are.
- :mod:`assetmap.user_places` changes what the store keeps (boundary sets and saved
  places), under the ownership rule of :mod:`assetmap.access`.

Nesting comes from the LSOA lookup: a district, a sub-ICB location, an ICB and a
country are unions of LSOAs, so the localities of a level inside a place are those
most of whose LSOAs lie in it. Areas of a boundary set are placed by a point on
their surface.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import national
from .errors import InvalidArgumentError
from .localities import KENT_MEDWAY_DISTRICTS, load_localities
from .place_names import (
    BUNDLED_CODE,
    BUNDLED_LEVEL,
    BUNDLED_NAME,
    SAVED_LEVEL,
    SET_PREFIX,
    Match,
    available_levels,
    choose,
    find_matches,
    national_index,
    not_found,
    set_name,
    split_kind,
)
from .place_names import name_key as _key
from .schema import in_place

if TYPE_CHECKING:
    from .store.interface import EstateStore

__all__ = [
    "BUNDLED_LEVEL",
    "BUNDLED_NAME",
    "SAVED_LEVEL",
    "SET_PREFIX",
    "Place",
    "builtin_place",
    "canonical_level",
    "home_place",
    "level_label",
    "level_localities",
    "place_choices",
    "place_localities",
    "resolve_place",
]

#: The level a national place is looked at in (density, the pack's atlas).
_SUBLEVEL = {
    "country": "district",
    "icb": "district",
    "nhs_area": "lsoa",
    "district": "lsoa",
    "lsoa": None,
}
#: The first letter of an ONS district code outside England and Wales -> where it is.
_OTHER_COUNTRIES = {
    "S": "Scotland",
    "N": "Northern Ireland",
    "L": "the Channel Islands",
    "M": "the Isle of Man",
}
_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$")


@dataclass(frozen=True)
class Place:
    """An area the estate is looked at in.

    Attributes
    ----------
    name
        The name shown ("Trafford", "Greater Manchester", "Kent and Medway").
    level
        The level of its localities: a national level (``"district"``...),
        ``"county"`` (the bundled outline) or ``"boundary set <name>"``.
    codes
        The codes of its localities at ``level`` (several for a saved union).
    geometry
        Its outline, a shapely polygon in EPSG:27700.
    sublevel
        The level below, for density and the pack's atlas (``None``: none).
    context
        A larger area around it for a locator inset: its ICB (a district in
        England), its district (an LSOA) or its country; ``None`` for a country.
    source
        ``"national"``, ``"bundled"``, ``"boundary set <name>"`` or ``"saved place"``.

    Examples
    --------
    >>> place = resolve_place("Trafford")  # doctest: +SKIP
    >>> place.level, place.codes, place.sublevel  # doctest: +SKIP
    ('district', ('E08000009',), 'lsoa')
    """

    name: str
    level: str
    codes: tuple[str, ...]
    geometry: Any
    sublevel: str | None
    context: Any
    source: str

    @property
    def code(self) -> str:
        """Return its code, or its codes joined by ``;`` (a saved union)."""
        return ";".join(self.codes)


def level_label(level: str) -> str:
    """Return a level's name for people ("District", "Boundary set wards").

    Parameters
    ----------
    level
        A level as :func:`level_localities` takes it.

    Returns
    -------
    str

    Examples
    --------
    >>> level_label("icb")
    'Integrated care board'
    """
    if level in national.LEVEL_LABELS:
        return str(national.LEVEL_LABELS[level])
    if level == BUNDLED_LEVEL:
        return "Kent and Medway (bundled)"
    if level == SAVED_LEVEL:
        return "Saved place"
    return level[:1].upper() + level[1:]


# --------------------------------------------------------------------------- levels


def level_localities(level: str, *, store: EstateStore | None = None) -> gpd.GeoDataFrame:
    """Return every locality of a level: ``code``, ``name`` and polygons in EPSG:27700.

    Parameters
    ----------
    level
        A national level (``"country"``, ``"icb"``, ``"nhs_area"``,
        ``"district"``, ``"lsoa"``), ``"county"`` (the bundled Kent and Medway
        outline), or a boundary set kept in ``store``: ``"boundary set wards"``
        or just ``"wards"``.
    store
        The estate store whose boundary sets are searched.

    Returns
    -------
    geopandas.GeoDataFrame
        Sorted by code.

    Raises
    ------
    InvalidArgumentError
        If ``level`` is none of these; the message lists the levels there are.

    Examples
    --------
    >>> len(level_localities("country"))  # doctest: +SKIP
    2
    """
    if level in national.LEVELS:
        frame = national.national_level(level)
    elif level == BUNDLED_LEVEL:
        frame = load_localities(BUNDLED_LEVEL)
    else:
        found = canonical_level(level, store=store).removeprefix(SET_PREFIX)
        sets = store.boundary_sets() if store is not None else None
        assert sets is not None  # canonical_level found it in the store
        frame = sets[sets["set_name"] == found]
    frame = frame[["code", "name", frame.geometry.name]]
    return frame.sort_values("code", kind="stable").reset_index(drop=True)


def canonical_level(level: str, *, store: EstateStore | None = None) -> str:
    """Return a level as places name it: a boundary set as ``"boundary set <its name>"``.

    Parameters
    ----------
    level
        As :func:`level_localities` takes it (``"wards"`` finds the set "Wards").
    store
        The estate store whose boundary sets are searched.

    Returns
    -------
    str

    Raises
    ------
    InvalidArgumentError
        If ``level`` is not a level; the message lists the levels there are.

    Examples
    --------
    >>> canonical_level("district")
    'district'
    """
    if level in national.LEVELS or level == BUNDLED_LEVEL:
        return level
    found = set_name(str(level), store) if isinstance(level, str) else None
    if found is None:
        raise InvalidArgumentError(
            f"level={level!r} is not a level; expected one of: {', '.join(available_levels(store))}"
        )
    return SET_PREFIX + found


def builtin_place(name: str) -> Place | None:
    """Return the national or bundled place with this name or code, or ``None``.

    Parameters
    ----------
    name
        A name or code.

    Returns
    -------
    Place or None

    Examples
    --------
    >>> builtin_place("Trafford").level  # doctest: +SKIP
    'district'
    """
    wanted = _key(name)
    if wanted in (_key(BUNDLED_NAME), _key(BUNDLED_CODE)):
        return _bundled_place()
    found = find_matches(wanted, None, None)
    return _place_of(found[0], None) if found else None


def _lookup_level(level: str) -> bool:
    return level in national.LEVELS


def _lookup_codes(place: Place) -> tuple[str, tuple[str, ...]] | None:
    """Return the national level and codes the LSOA lookup knows the place by, if any."""
    if place.level == BUNDLED_LEVEL:
        return "district", tuple(KENT_MEDWAY_DISTRICTS)
    if _lookup_level(place.level):
        return place.level, place.codes
    return None


def _members_by_lookup(level: str, codes: tuple[str, ...], target: str) -> list[str]:
    """Return the ``target`` localities most of whose LSOAs lie in ``codes`` of ``level``.

    When none does (``target`` is coarser than the place), those holding any of them.
    """
    lookup = national.lsoa_lookup()
    inside = lookup[f"{level}_code"].isin(list(codes)).to_numpy()
    groups = lookup[f"{target}_code"].astype("str").to_numpy()
    share = pd.Series(inside).groupby(groups).mean()
    share = share[share.index != ""]
    most = share[share > 0.5]
    return [str(c) for c in (most if len(most) else share[share > 0]).index]


def _members_by_surface(frame: gpd.GeoDataFrame, outline: Any) -> np.ndarray:
    """Return which localities of ``frame`` have a point on their surface inside ``outline``."""
    keep = np.zeros(len(frame), dtype=bool)
    if outline is None or len(frame) == 0:
        return keep
    near = frame.sindex.query(outline, predicate="intersects")
    points = shapely.point_on_surface(frame.geometry.to_numpy()[near])
    shapely.prepare(outline)
    keep[near] = shapely.intersects(outline, points)
    return keep


def place_localities(
    place: Place,
    level: str | gpd.GeoDataFrame | None = None,
    *,
    store: EstateStore | None = None,
) -> gpd.GeoDataFrame:
    """Return the localities of a level inside a place: ``code``, ``name``, polygons.

    Parameters
    ----------
    place
        A place from :func:`resolve_place`.
    level
        The level (as :func:`level_localities` takes it); default the place's
        ``sublevel``, or, where it has none, its own level (the place's own
        localities). A GeoDataFrame of localities (``code``, ``name``, polygons
        in EPSG:27700, say from a boundary file) gives those inside the place.
    store
        The estate store, for a boundary set's level.

    Returns
    -------
    geopandas.GeoDataFrame
        In EPSG:27700, sorted by code. A national level inside a national place
        holds the localities most of whose LSOAs lie in the place (all of them
        where the levels nest); a level coarser than the place, those that hold
        it; otherwise the localities with a point on their surface in the place.

    Raises
    ------
    InvalidArgumentError
        If ``level`` is not a level.

    Examples
    --------
    >>> place = resolve_place("Trafford")  # doctest: +SKIP
    >>> len(place_localities(place))  # its LSOAs  # doctest: +SKIP
    138
    """
    if isinstance(level, gpd.GeoDataFrame):
        frame = level[["code", "name", level.geometry.name]]
        keep = _members_by_surface(frame, place.geometry)
        return frame[keep].sort_values("code", kind="stable").reset_index(drop=True)
    level = canonical_level(level or place.sublevel or place.level, store=store)
    frame = level_localities(level, store=store)
    if level == place.level:
        keep = frame["code"].isin(list(place.codes)).to_numpy()
    else:
        known = _lookup_codes(place)
        if known is not None and _lookup_level(level):
            keep = frame["code"].isin(_members_by_lookup(*known, level)).to_numpy()
        else:
            keep = _members_by_surface(frame, place.geometry)
    return frame[keep].reset_index(drop=True)


# --------------------------------------------------------------------------- resolving


def _national_name(level: str, code: str) -> str:
    """Return the name of the national area ``code`` of ``level``."""
    return national_index()[level][_key(code)][0][1]


def _outline(level: str, codes: tuple[str, ...], store: EstateStore | None) -> Any:
    """Return the union of the localities ``codes`` of ``level`` (``None`` if none is found)."""
    frame = level_localities(level, store=store)
    parts = frame.geometry[frame["code"].isin(list(codes))].to_numpy()
    return shapely.union_all(parts) if parts.size else None


def _parent_outline(level: str, codes: tuple[str, ...], parent: str) -> Any:
    """Return the ``parent`` localities that hold most of the place's LSOAs, as one outline."""
    parents = _members_by_lookup(level, codes, parent)
    return _outline(parent, tuple(parents), None) if parents else None


def _context(level: str, codes: tuple[str, ...]) -> Any:
    """Return the area around a national place for its locator inset.

    That is the district of an LSOA, the ICB of an English district, else the
    country (the countries of a union of several localities; none for a country).
    """
    if level == "country":
        return None
    if level == "lsoa":
        return _parent_outline(level, codes, "district")
    if level == "district":
        icb = _parent_outline(level, codes, "icb")
        if icb is not None:
            return icb
    return _parent_outline(level, codes, "country")


def _union_context(level: str, codes: tuple[str, ...]) -> Any:
    """Return the countries a union of several localities lies in, as one outline."""
    if level == "country":
        return None
    return _parent_outline(level, codes, "country")


def _national_place(name: str, level: str, codes: tuple[str, ...], source: str) -> Place:
    sublevel = _SUBLEVEL[level] if len(codes) == 1 or source != "saved place" else level
    return Place(
        name=name,
        level=level,
        codes=codes,
        geometry=_outline(level, codes, None),
        sublevel=sublevel,
        context=_context(level, codes) if len(codes) == 1 else _union_context(level, codes),
        source=source,
    )


def _bundled_place() -> Place:
    county = load_localities(BUNDLED_LEVEL)
    return Place(
        name=BUNDLED_NAME,
        level=BUNDLED_LEVEL,
        codes=(BUNDLED_CODE,),
        geometry=county.geometry.iloc[0],
        sublevel="district",
        context=_parent_outline("district", tuple(KENT_MEDWAY_DISTRICTS), "country"),
        source="bundled",
    )


def _area_context(outline: Any) -> Any:
    """Return the countries an area of a boundary set lies in, as one outline."""
    if outline is None:
        return None
    countries = national.national_level("country")
    point = shapely.point_on_surface(outline)
    hit = countries.geometry[countries.intersects(point)].to_numpy()
    return shapely.union_all(hit) if hit.size else None


def _set_place(set_name: str, code: str, name: str, store: EstateStore | None) -> Place:
    level = SET_PREFIX + set_name
    outline = _outline(level, (code,), store)
    return Place(name, level, (code,), outline, None, _area_context(outline), level)


def _saved_place(name: str, level: str, codes: tuple[str, ...], store: EstateStore | None) -> Place:
    if _lookup_level(level):
        return _national_place(name, level, codes, "saved place")
    found = set_name(level, store)
    if found is None:
        raise InvalidArgumentError(
            f"place={name!r} is a saved place of the level {level!r}, which is no longer "
            "in the store; remove the place and save it again"
        )
    level = SET_PREFIX + found
    outline = _outline(level, codes, store)
    return Place(name, level, codes, outline, level, _area_context(outline), "saved place")


def _place_of(match: Match, store: EstateStore | None) -> Place:
    """Return the place a name matched."""
    if match.level == SAVED_LEVEL:
        return _saved_place(match.name, match.of_level, match.codes, store)
    if match.level == BUNDLED_LEVEL:
        return _bundled_place()
    if match.level in national.LEVELS:
        return _national_place(match.name, match.level, match.codes, "national")
    return _set_place(match.level.removeprefix(SET_PREFIX), match.codes[0], match.name, store)


def _find_postcode(text: str) -> Place | None:
    """Return the district of a full postcode, ``None`` if ``text`` is not one."""
    compact = " ".join(text.upper().split())
    if not _POSTCODE.match(compact):
        return None
    from .postcodes import lookup_postcodes

    found = lookup_postcodes(pd.Series([compact]))
    district = str(found["district"].iloc[0]) if bool(found["found"].iloc[0]) else ""
    if not district:
        raise InvalidArgumentError(
            f"place={text!r} is a postcode that is not in the ONS Postcode Directory; check it, "
            "or name its district"
        )
    hit = national_index()["district"].get(_key(district))
    if not hit:
        country = _OTHER_COUNTRIES.get(district[:1], "another country")
        raise InvalidArgumentError(
            f"place={text!r} is a postcode in {country} ({district}), outside England and "
            "Wales; assetmap knows the places of England and Wales"
        )
    code, name = hit[0]
    return _national_place(name, "district", (code,), "national")


def resolve_place(
    text: object, *, store: EstateStore | None = None, level: str | None = None
) -> Place:
    """Find the place a user names.

    Names and codes are compared without regard to case or spacing, among: the
    places saved in ``store`` ("Greater Manchester"); "Kent and Medway" (the
    bundled outline); the countries, ICBs, sub-ICB locations and Welsh health
    boards, districts and LSOAs of England and Wales, by name or ONS code
    ("Trafford", "E08000009", "Trafford 001A"); the areas of the boundary sets
    kept in ``store``. A text that is some place's code is that code. A text
    that names several different places stops with one error listing them
    (:func:`assetmap.place_names.choose`); name the kind first to say which
    ("district: Trafford", "saved place: Greater Manchester", "boundary set
    wards: Stretford"), or give ``level``. When nothing has that name, a full
    postcode picks its district ("M32 0TH").

    Parameters
    ----------
    text
        The name, code or postcode (a :class:`Place` is returned as it is).
    store
        The estate store whose saved places and boundary sets are searched.
    level
        Search only this level: a national level, ``"county"``,
        :data:`SAVED_LEVEL` or a boundary set (``"boundary set wards"``).

    Returns
    -------
    Place

    Raises
    ------
    InvalidArgumentError
        If nothing has that name (the message suggests close names: "did you
        mean"), it names several different places (the message lists them),
        ``level`` is not a level, or a postcode is unknown or outside England
        and Wales.

    Examples
    --------
    >>> resolve_place("trafford").codes  # doctest: +SKIP
    ('E08000009',)
    >>> resolve_place("District: Trafford").name  # doctest: +SKIP
    'Trafford'
    >>> resolve_place("M32 0TH").name  # doctest: +SKIP
    'Trafford'
    """
    if isinstance(text, Place):
        return text
    if not isinstance(text, str) or not text.strip():
        raise InvalidArgumentError(
            f"place={text!r} is not valid; expected the name of a place such as 'Trafford' or "
            "'Kent and Medway'"
        )
    given = text
    if level is None:
        level, text = split_kind(text, store)
    match = choose(given, find_matches(_key(text), store, level))
    if match is not None:
        return _place_of(match, store)
    found = _find_postcode(text) if level in (None, "district") else None
    if found is None:
        raise not_found(given, store, level)
    return found


def place_choices(*, store: EstateStore | None = None) -> dict[str, list[tuple[str, str]]]:
    """Return what a place picker offers: level -> [(code, name)], sorted by name.

    Parameters
    ----------
    store
        The estate store, whose saved places (under :data:`SAVED_LEVEL`, as
        (name, name)) and boundary sets (under ``"boundary set <name>"``) are
        offered too.

    Returns
    -------
    dict
        The national levels top to bottom, ``"county"`` (Kent and Medway), the
        saved places, then each boundary set. Pass a key as ``level=`` and a
        code to :func:`resolve_place`.

    Examples
    --------
    >>> place_choices()["country"]  # doctest: +SKIP
    [('E92000001', 'England'), ('W92000004', 'Wales')]
    """
    lookup = national.lsoa_lookup()
    choices: dict[str, list[tuple[str, str]]] = {}
    for level in national.LEVELS:
        pairs = lookup[[f"{level}_code", f"{level}_name"]].drop_duplicates()
        pairs = pairs[pairs[f"{level}_code"] != ""]
        choices[level] = sorted(
            ((str(c), str(n)) for c, n in pairs.itertuples(index=False)),
            key=lambda pair: (_key(pair[1]), pair[0]),
        )
    choices[BUNDLED_LEVEL] = [(BUNDLED_CODE, BUNDLED_NAME)]
    if store is not None and store.exists():
        saved = store.places()
        choices[SAVED_LEVEL] = sorted(((n, n) for n in saved["name"]), key=lambda p: _key(p[0]))
        sets = store.boundary_sets()
        for set_name, areas in sets.groupby("set_name", sort=False):
            choices[SET_PREFIX + str(set_name)] = sorted(
                zip(areas["code"].astype(str), areas["name"].astype(str), strict=True),
                key=lambda pair: (_key(pair[1]), pair[0]),
            )
    return choices


# --------------------------------------------------------------------------- home place


def _share_in(sites: gpd.GeoDataFrame, outline: Any) -> float:
    located = in_place(sites, None)
    if not located.any() or outline is None:
        return 0.0
    return float(in_place(sites, outline)[located].mean())


def _district_counts(sites: gpd.GeoDataFrame) -> pd.Series:
    """Return the located sites per national district code, largest first."""
    from .schema import point_coordinates

    xy, located = point_coordinates(sites.geometry.to_numpy())
    districts = national.national_level("district")
    points = shapely.points(xy[located])
    point_idx, poly_idx = districts.sindex.query(points, predicate="intersects")
    first = np.unique(point_idx, return_index=True)[1]
    codes = districts["code"].to_numpy()[poly_idx[first]]
    return pd.Series(codes).value_counts()


def _widened(top: str, counts: pd.Series) -> tuple[str, str] | None:
    """Return the (level, code) of the ICB or country of district ``top`` holding most sites."""
    total = counts.sum()
    for parent in ("icb", "country"):
        parents = _members_by_lookup("district", (top,), parent)
        if not parents:
            continue
        held = _members_by_lookup(parent, (parents[0],), "district")
        if counts[counts.index.isin(held)].sum() * 2 >= total:
            return parent, parents[0]
    return None


def home_place(sites: gpd.GeoDataFrame, *, store: EstateStore | None = None) -> Place:
    """Return where a store's sites are, for the app to open on.

    That is Kent and Medway (the bundled sample's place) if most located sites
    lie there, or if there are none; else the district holding most of them; if
    it holds fewer than half, widened to its ICB, else its country, whichever
    first holds at least half. A place saved in ``store`` that holds at least
    half the sites and is no larger than that wider area is preferred to it.

    Parameters
    ----------
    sites
        The sites the viewer may see (:func:`assetmap.access.visible_sites`, so that no
        withheld site moves the place), points or polygons in EPSG:27700.
    store
        The estate store, whose saved places are considered.

    Returns
    -------
    Place

    Examples
    --------
    >>> home_place(store.sites(), store=store).name  # doctest: +SKIP
    'Trafford'
    """
    bundled = _bundled_place()
    if not in_place(sites, None).any() or _share_in(sites, bundled.geometry) > 0.5:
        return bundled
    counts = _district_counts(sites)
    if not len(counts):
        return bundled
    top = str(counts.index[0])
    if counts.iloc[0] * 2 >= counts.sum():
        return _national_place(_national_name("district", top), "district", (top,), "national")
    wider = _widened(top, counts)
    level, code = wider if wider is not None else ("country", "")
    if not code:
        code = _members_by_lookup("district", (top,), "country")[0]
    place = _national_place(_national_name(level, code), level, (code,), "national")
    return _saved_within(sites, place, store) or place


def _saved_within(sites: gpd.GeoDataFrame, wider: Place, store: EstateStore | None) -> Place | None:
    """Return the smallest saved place holding half the sites or more, if smaller than ``wider``."""
    if store is None or not store.exists():
        return None
    best: Place | None = None
    for name, level, codes in store.places()[["name", "level", "codes"]].itertuples(index=False):
        try:
            place = _saved_place(
                str(name), str(level), tuple(c for c in str(codes).split(";") if c), store
            )
        except InvalidArgumentError:
            continue
        if place.geometry is None or _share_in(sites, place.geometry) < 0.5:
            continue
        if place.geometry.area <= (best or wider).geometry.area * (1 + 1e-9):
            best = place  # as large as the wider area (the same districts): its own name
    return best
