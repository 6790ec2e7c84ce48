"""Check every row of a register of sites and split it into canonical sites and quarantine.

Nothing is lost and nothing is silent: each input row ends either among the
canonical sites or in the quarantine, where each fault has its own row.
:class:`SiteChecks` checks a chunk of rows at a time, so that an import can store
one chunk while the next is checked; :func:`check_sites` checks a whole register.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import InvalidArgumentError
from ..schema import (
    APPROXIMATE,
    CRS_BNG,
    NIA_TO_GIA,
    arrow_strings,
    classify_use,
    normalise_tenure,
    precision_from_source,
)
from .columns import ColumnMap
from .fields import resolve_agency_sector, sector_note, sensitivity_field
from .ids import hex_ids, key_hashes, norm_key
from .lease_fields import lease_fields
from .locate import Located
from .quarantine import Collector, Problem, flag_duplicates, problem_frame
from .text import cell_text, constant_text, either_text, object_text
from .values import parse_area, parse_money

__all__ = ["SiteChecks", "approximate_note", "check_sites"]

_Rows = TypeVar("_Rows", pd.Series, pd.DataFrame)


def check_sites(
    table: pd.DataFrame,
    row_numbers: np.ndarray,
    cmap: ColumnMap,
    located: Located,
    *,
    agency: str | None = None,
    sector: str | None = None,
    points: bool = True,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, pd.DataFrame, list[str]]:
    """Check a register of sites and build canonical rows.

    Parameters
    ----------
    table
        The register as text.
    row_numbers
        Row numbers as a person would find them, aligned to ``table``.
    cmap
        The recognised columns.
    located
        Locations from :func:`assetmap.registers.locate.locate_rows`.
    agency, sector
        Register-level values; they win over the register's own columns.
    points
        Whether the sites get shapely points (a GeoDataFrame); when False they
        are a DataFrame with ``easting`` and ``northing`` columns instead, as
        :class:`assetmap.store.SourceUpdate` accepts them (much faster for a store
        write that never needs the points as objects).

    Returns
    -------
    sites, footprints, quarantine, notes
        Canonical sites (without provenance columns, which the importer adds),
        their polygon footprints (``site_id``, geometry), the quarantine rows,
        and notes for the import report.
    """
    checks = SiteChecks(table, row_numbers, cmap, located, agency=agency, sector=sector)
    sites = checks.chunk(0, checks.n)
    if points:
        xy = sites.pop("easting").to_numpy(), sites.pop("northing").to_numpy()
        sites = gpd.GeoDataFrame(sites, geometry=gpd.points_from_xy(*xy, crs=CRS_BNG), crs=CRS_BNG)
    footprints, quarantine, notes = checks.finish()
    return sites, footprints, quarantine, notes


@dataclass
class _Names:
    """How a chunk's sites are named: reference, address and name."""

    source_ref: pd.Series
    address: pd.Series
    name: pd.Series


@dataclass
class _Areas:
    """A chunk's areas in square feet, and the basis of the floor area."""

    floor: np.ndarray
    basis: pd.Series
    surplus: np.ndarray


class SiteChecks:
    """Run the checks of :func:`check_sites`, a chunk of rows at a time.

    :meth:`chunk` checks the next rows and returns those of them that are
    accepted, so an import can store one chunk while the next is checked. Every
    check is of one row, except the duplicates, and a row is a duplicate of an
    *earlier* row: the ids seen so far are kept (sorted, with the row of each
    one's first appearance), so a chunk needs only the rows before it.
    :meth:`finish`, once every row has been through :meth:`chunk` in order, gives
    the footprints, the quarantine and the notes, exactly as a check of the whole
    register at once gives them.

    Parameters are those of :func:`check_sites`, except that ``located`` may
    also be a function that locates the rows of a chunk (a slice of ``table``,
    indexed from 0), for a register whose rows are located each on its own (see
    :func:`assetmap.registers.locate.row_local`). Chunks are returned with
    ``easting`` and ``northing`` columns (see ``points=False`` there).
    """

    def __init__(
        self,
        table: pd.DataFrame,
        row_numbers: np.ndarray,
        cmap: ColumnMap,
        located: Located | Callable[[pd.DataFrame], Located],
        *,
        agency: str | None = None,
        sector: str | None = None,
    ) -> None:
        self.table = table.reset_index(drop=True)
        self._notes: list[str] = []
        self.cmap, self.located = cmap, located
        self.agency, self.sector = agency, sector
        # the agency as ids know it (see norm_key), when one agency holds every row
        self._agency_key = norm_key(pd.Series([agency])).iloc[0] if agency else ""
        self.rows = np.asarray(row_numbers)
        self.n = len(self.table)
        if isinstance(located, Located):
            self.postcode = located.postcode.reset_index(drop=True)
            self._notes = list(located.notes)
        self._seen = np.empty(0, dtype=np.uint64)  # ids so far (as numbers), sorted
        # each chunk's new ids, sorted, and their rows: where an earlier duplicate is first
        self._firsts: list[tuple[np.ndarray, np.ndarray]] = []
        self._parts: list[pd.DataFrame] = []
        self._footprints: list[tuple[np.ndarray, np.ndarray]] = []
        self._counts = {"guessed": 0, "bad_uprn": 0, "vacant": 0, "approximate": 0}
        self._done = 0

    def chunk(self, start: int, stop: int) -> pd.DataFrame:
        """Check rows ``start:stop`` (the next ones) and return the accepted ones.

        Parameters
        ----------
        start, stop
            The rows to check: ``start`` is the first row not checked yet.

        Returns
        -------
        pandas.DataFrame
            Canonical sites with ``easting`` and ``northing``, without provenance.

        Raises
        ------
        InvalidArgumentError
            If the rows are not the next ones.
        """
        if start != self._done or not start <= stop <= self.n:
            raise InvalidArgumentError(
                f"rows {start}:{stop} are not the next chunk: expected start={self._done} "
                f"and a stop from {self._done} to {self.n}"
            )
        self._done = stop
        cmap = self.cmap
        table = _slice(self.table, start, stop)
        rows = self.rows[start:stop]
        located, postcode, at = self._located(table, start, stop)
        col = Collector(len(table))
        _carry_problems(col, located.problems, at)
        agency_s, sector_s, guessed = resolve_agency_sector(
            table, cmap, col, agency=self.agency, sector=self.sector
        )
        self._counts["guessed"] += guessed
        names = _names(table, cmap, col)
        uprn = self._uprn(table)
        use = cell_text(table, cmap.column("use"))
        tenure_detail = cell_text(table, cmap.column("tenure_detail"))
        tenure, vacant = _tenure(table, cmap, use, tenure_detail)
        areas = self._areas(table, col, vacant)
        # a site is known by who holds it (agency and sector) and by its key
        if self.agency and self.sector:  # one holder for every row: hashed once
            holder: list[pd.Series | str] = [self.sector, self._agency_key]
        else:
            holder = [sector_s, norm_key(agency_s)]
        precision = _precision(located, at, table.index)
        key = _site_key(names, uprn, postcode)
        hashes = key_hashes([*holder, key])
        site_id = pd.Series(hex_ids("S", hashes), index=key.index)
        columns: dict[str, pd.Series | np.ndarray] = {
            "site_id": site_id,
            "source_ref": names.source_ref,
            "agency": agency_s,
            "sector": sector_s,
            "name": names.name,
            "address": names.address,
            "postcode": postcode,
            "uprn": uprn,
            "use": use,
            "use_class": classify_use(use),
            "tenure": tenure,
            "tenure_detail": tenure_detail,
            "floor_area_sqft": areas.floor,
            "floor_area_basis": areas.basis,
            "surplus_sqft": areas.surplus,
            "running_cost_gbp": _running_cost(table, cmap, col),
            **lease_fields(table, cmap, col),
            "sensitivity": sensitivity_field(table, cmap, col),
            "location_source": object_text(located.source[at], table.index),
            "location_precision": precision,
            "shared_group": constant_text("", table.index),
            "source_row": rows,
            "easting": located.easting[at],
            "northing": located.northing[at],
        }
        self._flag_duplicates(
            col, hashes, rows, cmap.column("source_ref") or cmap.column("name"), key
        )
        self._parts.extend(col.parts(rows))
        keep = ~col.any_mask()
        self._counts["approximate"] += int((keep & precision.isin(APPROXIMATE).to_numpy()).sum())
        sites = _frame(columns, len(table))
        if not keep.all():  # (a clean chunk keeps every row: no copy then)
            sites = sites[keep].reset_index(drop=True)
        fp_mask = keep & pd.notna(located.footprints[at])
        if fp_mask.any():
            shapes = located.footprints[at][fp_mask]
            self._footprints.append((site_id[fp_mask].to_numpy(), shapes))
        return sites

    def _located(
        self, table: pd.DataFrame, start: int, stop: int
    ) -> tuple[Located, pd.Series, slice]:
        """Return where the chunk's rows are, their postcodes, and their place in ``located``."""
        if isinstance(self.located, Located):
            return self.located, _slice(self.postcode, start, stop), slice(start, stop)
        located = self.located(table)  # located a chunk at a time
        self._notes += [note for note in located.notes if note not in self._notes]
        return located, located.postcode.reset_index(drop=True), slice(0, len(table))

    def _uprn(self, table: pd.DataFrame) -> pd.Series:
        """Return each row's UPRN (1-12 digits, no leading zeros), blank where not one."""
        column = self.cmap.column("uprn")
        if column is None:
            return constant_text("", table.index)
        uprn_raw = cell_text(table, column).str.replace(r"\.0+$", "", regex=True)
        uprn_ok = uprn_raw.str.fullmatch(r"\d{1,12}")
        self._counts["bad_uprn"] += int(((uprn_raw != "") & ~uprn_ok).sum())
        return uprn_raw.str.lstrip("0").where(uprn_ok, "")

    def _areas(self, table: pd.DataFrame, col: Collector, vacant: pd.Series) -> _Areas:
        """Return the floor area and the surplus; a vacant site's surplus is its floor area."""
        cmap = self.cmap
        gia = cmap.floor_area_basis == "GIA"
        scale = NIA_TO_GIA if cmap.floor_area_basis == "NIA" else None
        floor, fa_col = _area(table, cmap, col, "floor_area", "floor area", scale=scale)
        basis = constant_text("", table.index)
        if fa_col is not None:
            basis = either_text(np.isfinite(floor), "GIA" if gia else "NIA/0.82", "", table.index)
        surplus, sp_col = _area(table, cmap, col, "surplus", "surplus space")
        vac = vacant.to_numpy() & ~np.isfinite(surplus) & np.isfinite(floor)
        if vac.any():
            surplus[vac] = floor[vac]
            self._counts["vacant"] += int(vac.sum())
        too_big = (
            np.isfinite(surplus) & np.isfinite(floor) & (surplus > floor * 1.0001) & (floor >= 0)
        )
        if too_big.any():
            msg = pd.Series(
                [
                    f"the surplus ({s:,.0f} sq ft) is larger than the floor area ({f:,.0f} sq ft)"
                    for s, f in zip(surplus, floor, strict=True)
                ]
            )
            values = table[sp_col] if sp_col is not None else pd.Series("", index=table.index)
            col.add(too_big, sp_col, values, "surplus_exceeds_area", msg)
        return _Areas(floor, basis, surplus)

    def _flag_duplicates(
        self,
        col: Collector,
        hashes: np.ndarray,
        rows: np.ndarray,
        column: str | None,
        key: pd.Series,
    ) -> None:
        """Flag rows whose id (``hashes``) an earlier row, here or in a chunk before, has."""
        seen = self._seen
        # sorted queries walk ``seen`` in order: several times faster than as they come
        order = np.argsort(hashes)
        ordered = hashes[order]
        if (ordered[1:] == ordered[:-1]).any():
            # ids repeat in this chunk: a stable sort puts each one's first row first
            order = np.argsort(hashes, kind="stable")
            ordered = hashes[order]
        pos = np.searchsorted(seen, ordered)
        earlier = np.zeros(len(hashes), dtype=bool)
        if len(seen):
            earlier[order] = seen[np.minimum(pos, len(seen) - 1)] == ordered
        again = np.zeros(len(hashes), dtype=bool)
        again[order[1:]] = ordered[1:] == ordered[:-1]
        dup = earlier | (again & ~earlier)
        if dup.any():
            first_row = pd.Series(rows).groupby(hashes).transform("first").to_numpy(copy=True)
            first_row[earlier] = self._first_rows(hashes[earlier])
            flag_duplicates(col, dup, first_row, column, key)
        new = ~dup[order]
        if new.any():  # remember this chunk's ids, in order
            add = ordered[new]
            self._seen = np.insert(seen, pos[new], add)
            self._firsts.append((add, rows[order][new]))

    def _first_rows(self, hashes: np.ndarray) -> np.ndarray:
        """Return the rows where ids seen in earlier chunks first appeared."""
        out = np.zeros(len(hashes), dtype=self.rows.dtype)
        for ids, first in self._firsts:
            at = np.minimum(np.searchsorted(ids, hashes), len(ids) - 1)
            hit = ids[at] == hashes
            out[hit] = first[at[hit]]
        return out

    def finish(self) -> tuple[gpd.GeoDataFrame, pd.DataFrame, list[str]]:
        """Return the footprints, quarantine and notes, once every row has been checked.

        Returns
        -------
        footprints, quarantine, notes
            As :func:`check_sites` returns them.

        Raises
        ------
        InvalidArgumentError
            If some rows have not been through :meth:`chunk`.
        """
        if self._done != self.n:
            raise InvalidArgumentError(
                f"rows {self._done}:{self.n} have not been checked: call chunk() for them first"
            )
        ids = [i for i, _ in self._footprints]
        shapes = [s for _, s in self._footprints]
        footprints = gpd.GeoDataFrame(
            {"site_id": np.concatenate(ids) if ids else np.empty(0, dtype=object)},
            geometry=gpd.GeoSeries(list(np.concatenate(shapes)) if shapes else [], crs=CRS_BNG),
            crs=CRS_BNG,
        )
        quarantine = problem_frame(self._parts)
        counts = self._counts
        notes = self._notes + sector_note(counts["guessed"])
        if counts["bad_uprn"]:
            notes.append(
                f"{counts['bad_uprn']:,} UPRNs were not 1-12 digit numbers and were left blank"
            )
        notes += approximate_note(counts["approximate"])
        if counts["vacant"]:
            notes.append(
                f"{counts['vacant']:,} sites marked vacant: "
                "their whole floor area counted as surplus"
            )
        return footprints, quarantine, notes


def _precision(located: Located, at: slice, index: pd.Index) -> pd.Series:
    """Return each row's ``location_precision``: from its method, "footprint" with a polygon."""
    precision = precision_from_source(pd.Series(located.source[at], index=index, dtype=object))
    with_polygon = pd.notna(located.footprints[at])
    if with_polygon.any():  # a WKT column's polygons, kept as footprints
        precision = precision.where(~with_polygon, "footprint")
    return precision


def approximate_note(count: int) -> list[str]:
    """Return the import report's note on rows placed at a postcode area's centre, if any."""
    if not count:
        return []
    rows = "row" if count == 1 else "rows"
    return [
        f"{count:,} {rows} placed approximately, at the centre of their postcode district or "
        "sector (the register gives only part of the postcode)"
    ]


def _carry_problems(col: Collector, problems: list[Problem], at: slice) -> None:
    """Add the location faults of a chunk's rows (``at`` in ``problems``' rows) to ``col``."""
    for p in problems:
        messages = p.messages
        if isinstance(messages, pd.Series):
            messages = _slice(messages, at.start, at.stop)
        values = _slice(p.values, at.start, at.stop) if len(p.values) else p.values
        col.add(p.mask[at], p.column, values, p.code, messages)


def _names(table: pd.DataFrame, cmap: ColumnMap, col: Collector) -> _Names:
    """Return each site's reference, address and name; a site with none is a fault.

    The address may be joined from several columns; a site without a name is
    named by its address, else its reference.
    """
    source_ref = cell_text(table, cmap.column("source_ref"))
    address = cell_text(table, cmap.column("address"))
    parts = cmap.fields.get("address_parts", [])
    if parts:
        joined = table[parts].fillna("").astype(str).apply(lambda s: s.str.strip())
        if len(table):
            joined = joined.agg(lambda r: ", ".join(v for v in r if v), axis=1)
            address = address.where(address != "", joined)
    name = cell_text(table, cmap.column("name"))
    no_name = (name == "").to_numpy()
    if no_name.any():  # the address, else the reference, names the site
        name = name.where(~no_name, address).where(lambda s: s != "", source_ref)
        no_name = (name == "").to_numpy()
    message = "the site has no name, address or reference"
    col.add(no_name, cmap.column("name") or "(name)", name, "no_name", message)
    return _Names(source_ref, address, name)


def _tenure(
    table: pd.DataFrame, cmap: ColumnMap, use: pd.Series, tenure_detail: pd.Series
) -> tuple[pd.Series, pd.Series]:
    """Return each site's tenure, and whether its use or tenure says it is vacant."""
    tenure_raw = cell_text(table, cmap.column("tenure"))
    vacant = _starts_vacant(use)
    if cmap.column("tenure_detail") is not None:
        tenure_raw = tenure_raw.where(tenure_raw != "", tenure_detail)
        vacant = vacant | tenure_detail.str.lower().str.contains("vacant")
    return normalise_tenure(tenure_raw), vacant


def _starts_vacant(use: pd.Series) -> pd.Series:
    """Return whether each use, in any case, starts "vacant" (and has no line break after)."""
    import pyarrow.compute as pc

    hit = pc.match_substring_regex(arrow_strings(use), r"^vacant[^\n]*$", ignore_case=True)
    return pd.Series(hit.to_numpy(zero_copy_only=False), index=use.index)


def _area(
    table: pd.DataFrame,
    cmap: ColumnMap,
    col: Collector,
    field: str,
    what: str,
    *,
    scale: float | None = None,
) -> tuple[np.ndarray, str | None]:
    """Return an area field in square feet (times ``scale``) and its column, if any.

    Areas that are not numbers, or negative, are faults.
    """
    column = cmap.column(field)
    if column is None:
        return np.full(len(table), np.nan), None
    values, bad = parse_area(table[column], cmap.units.get(field, "sqm"))
    if scale is not None:
        values = values * scale
    col.add(bad, column, table[column], "non_numeric_area", f"the {what} is not a number")
    col.add(values < 0, column, table[column], "negative_area", f"the {what} is negative")
    return values, column


def _running_cost(table: pd.DataFrame, cmap: ColumnMap, col: Collector) -> np.ndarray:
    """Return each site's running cost in pounds: the sum of its cost columns."""
    cost = np.full(len(table), np.nan)
    for c in cmap.fields.get("running_cost", []):
        amount, bad = parse_money(table[c])
        col.add(bad, c, table[c], "bad_money", "the running cost is not an amount of money")
        cost = np.where(np.isfinite(amount), np.nan_to_num(cost) + amount, cost)
    return cost


def _site_key(names: _Names, uprn: pd.Series, postcode: pd.Series) -> pd.Series:
    """Return what identifies each site for its holder: reference, else UPRN, else name.

    A site with no reference and no UPRN is identified by its name and postcode.
    """
    source_ref = names.source_ref
    has_ref = (source_ref != "").to_numpy()
    key = source_ref
    if not has_ref.all():
        key = source_ref.where(has_ref, ("uprn:" + uprn).where(uprn != "", ""))
    need = (key == "").to_numpy()
    if need.any():  # no reference and no UPRN: the name and postcode identify the site
        fallback = "np:" + norm_key(names.name[need]) + "|" + postcode[need].str.replace(" ", "")
        key = key.copy()
        key[need] = fallback
    return key


def _frame(columns: Mapping[str, pd.Series | np.ndarray], n: int) -> pd.DataFrame:
    """Return a frame of ``n`` rows, indexed from 0 like a chunk.

    Columns given as series so indexed, or as arrays, are built from the arrays
    behind them, which spares pandas lining each series up against the others.
    """
    index = pd.RangeIndex(n)
    data = {}
    for name, values in columns.items():
        if isinstance(values, pd.Series):
            if not values.index.equals(index):  # lined up by label, as pandas would
                values = values.reindex(index)
            data[name] = values.array
        else:
            data[name] = values
    return pd.DataFrame(data, index=index, copy=False)


def _slice(values: _Rows, start: int, stop: int) -> _Rows:
    """Return rows ``start:stop`` of a file-wide column or table, indexed from 0 like a chunk."""
    if start == 0 and stop == len(values):
        return values
    return values.iloc[start:stop].reset_index(drop=True)
