"""Import one register: read, recognise, locate, check, store; and report.

:func:`prepare_register` does everything but the write, so the app can show a
preview; :func:`import_register` also writes the result to the store in one
transaction. Both return an :class:`ImportReport` that says what was read, how
the columns were understood, what was accepted, and why every other row was
quarantined.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from .._validate import one_of, raise_if_any
from ..access import Viewer, import_owner, may_remove_source, owns, visible_mask
from ..errors import ConflictError, PermissionDeniedError
from ..postcodes import PostcodeDirectory
from ..schema import SECTORS
from ..store import EstateStore, SourceUpdate, open_store
from .columns import ColumnMap, recognise_columns
from .fields import require_agency
from .limits import ZipLimits
from .locate import POSTCODE_TOLERANCE_M, Located, locate_rows, row_local
from .profiles import Profile, load_profile
from .quarantine import REASONS
from .read import RawRegister, read_register
from .report import ImportReport, log_row
from .request_checks import check_requests
from .shared_sites import shared_groups
from .site_checks import SiteChecks, check_sites
from .text import constant_text

__all__ = [
    "KINDS",
    "ImportOptions",
    "ImportReport",
    "PreparedRegister",
    "import_register",
    "prepare_register",
    "remove_register",
]

#: What a register can hold.
KINDS = ("sites", "requests")

#: Progress callback: ``progress(stage, fraction_done)``.
Progress = Callable[[str, float], None]
#: The stored sites of some site ids, as :meth:`EstateStore.site_keys` gives them.
KnownSites = Callable[[list[str]], pd.DataFrame]

_STAGES = ("read", "recognise columns", "locate", "check rows", "store")


@dataclass
class PreparedRegister:
    """A register read and checked, ready to store.

    Attributes
    ----------
    raw
        The file as read.
    columns
        How its columns were understood.
    rows
        Canonical sites or requests, with provenance.
    footprints
        Polygon footprints (sites only).
    quarantine
        Rejected rows with reasons.
    report
        The import report (``stored`` is False until it is written).
    """

    raw: RawRegister
    columns: ColumnMap
    rows: gpd.GeoDataFrame
    footprints: gpd.GeoDataFrame | None
    quarantine: pd.DataFrame
    report: ImportReport


@dataclass(frozen=True)
class ImportOptions:
    """How to read a register and label its rows: the options of every import.

    :func:`prepare_register` and :func:`import_register` take these as keyword
    arguments (``kind="sites"``), or as one object (``options=``) that keyword
    arguments override.

    Attributes
    ----------
    name
        The source's name; defaults to the file name. A later import with the
        same name replaces this one. Required when the source is bytes.
    kind
        ``"sites"`` or ``"requests"``; decided from the columns when ``None``.
    profile
        A profile file (or :class:`~assetmap.registers.profiles.Profile`)
        mapping columns explicitly.
    agency, sector
        Labels for every row, winning over the register's own columns.
    layer
        GeoPackage layer, workbook sheet or shapefile to read.
    max_rows
        Refuse files with more rows.
    zip_limits
        Limits for zip archives.
    directory
        The postcode directory (the default one when ``None``).
    imported_at
        The import time to record (ISO 8601, UTC); now when ``None``.
    postcode_tolerance_m
        A row whose coordinates lie farther than this (metres) from the centre of its
        own postcode is quarantined (``postcode_far``: one of the two is wrong);
        ``None`` keeps every row's coordinates unchecked.
    """

    name: str | None = None
    kind: str | None = None
    profile: str | Path | Profile | None = None
    agency: str | None = None
    sector: str | None = None
    layer: str | None = None
    max_rows: int | None = None
    zip_limits: ZipLimits | None = None
    directory: PostcodeDirectory | None = None
    imported_at: str | None = None
    postcode_tolerance_m: float | None = POSTCODE_TOLERANCE_M

    def problems(self) -> list[str]:
        """Return a message for each option that is not valid (none when all are)."""
        problems = []
        if self.kind is not None and self.kind not in KINDS:
            problems.append(one_of("kind", self.kind, KINDS))
        if self.sector is not None and self.sector not in SECTORS:
            problems.append(one_of("sector", self.sector, SECTORS))
        if self.profile is not None and not isinstance(self.profile, (str, Path, Profile)):
            problems.append(f"profile={self.profile!r} is not valid; expected a path or a Profile")
        tolerance = self.postcode_tolerance_m
        number = isinstance(tolerance, (int, float)) and not isinstance(tolerance, bool)
        if tolerance is not None and not (number and tolerance > 0):
            problems.append(
                f"postcode_tolerance_m={tolerance!r} is not valid; expected a distance in "
                "metres greater than 0, or None for no check"
            )
        return problems


def _options(options: ImportOptions | None, overrides: dict[str, Any]) -> ImportOptions:
    """Return ``options`` (the defaults when ``None``) with the keyword arguments given."""
    return replace(options or ImportOptions(), **overrides)


def _guess_kind(cmap: ColumnMap) -> str:
    """Return the kind of register its columns suggest: requests need space, sites have area."""
    if "space_needed" in cmap.fields and "floor_area" not in cmap.fields:
        return "requests"
    return "sites"


def prepare_register(
    source: str | Path | bytes,
    *,
    options: ImportOptions | None = None,
    progress: Progress | None = None,
    **kwargs: Any,
) -> PreparedRegister:
    """Read and check a register without storing it.

    Parameters
    ----------
    source
        A path, or the file's bytes (then ``name`` is required).
    options
        How to read the register and label its rows (see :class:`ImportOptions`).
    progress
        Called as ``progress(stage, fraction)`` as the work advances.
    **kwargs
        Fields of :class:`ImportOptions` (``name``, ``kind``, ``profile``,
        ``agency``, ``sector``, ``layer``, ``max_rows``, ``zip_limits``,
        ``directory``, ``imported_at``), winning over ``options``.

    Returns
    -------
    PreparedRegister

    Raises
    ------
    InvalidArgumentError
        Listing every argument that is wrong; or, alone, if the register's rows
        name no agency and none is given (see
        :func:`~assetmap.registers.fields.require_agency`).
    RegisterReadError
        If the file cannot be read as a table at all.
    ProfileError
        If the profile is malformed or names columns the file lacks.

    Examples
    --------
    >>> prepared = prepare_register("kent_police_estate.csv", kind="sites")  # doctest: +SKIP
    >>> prepared.report.accepted, len(prepared.quarantine)  # doctest: +SKIP
    """
    staged = _stage(source, _options(options, kwargs), progress=progress, chunked=False)
    return _prepare_checked(staged, points=True)


def _stage(
    source: str | Path | bytes,
    options: ImportOptions,
    *,
    progress: Progress | None,
    chunked: bool,
) -> _Staged:
    """Read a register, recognise its columns and locate its rows: all but the checks.

    With ``chunked``, a register of sites whose rows are each placed on their
    own is located a chunk at a time, as it is checked (``located`` is then a
    function, see :func:`assetmap.registers.locate.row_local`).
    """
    raise_if_any(options.problems())

    def step(i: int) -> None:
        if progress is not None:
            progress(_STAGES[i], i / len(_STAGES))

    profile = options.profile
    if isinstance(profile, (str, Path)):
        profile = load_profile(profile)
    agency, sector, kind, layer = options.agency, options.sector, options.kind, options.layer
    if profile is not None:
        agency = agency or profile.agency
        sector = sector or profile.sector
        kind = kind or profile.kind
        layer = layer or profile.layer
    step(0)
    raw = read_register(
        source,
        name=options.name,
        layer=layer,
        max_rows=options.max_rows,
        zip_limits=options.zip_limits,
    )
    step(1)
    cmap = recognise_columns(list(raw.table.columns), profile=profile)
    cmap.notes += require_agency(raw.table, cmap, agency=agency)  # no agency: stop here
    kind = kind or _guess_kind(cmap)
    step(2)
    crs = profile.crs if profile is not None else None
    directory, tolerance = options.directory, options.postcode_tolerance_m
    located: Located | Callable[[pd.DataFrame], Located]
    if chunked and kind == "sites" and row_local(cmap, raw.geometry):
        # every row is placed on its own: each chunk is located as it is checked

        def located(chunk: pd.DataFrame) -> Located:
            return locate_rows(
                chunk, cmap, crs=crs, directory=directory, postcode_tolerance_m=tolerance
            )

    else:
        located = locate_rows(
            raw.table,
            cmap,
            geometry=raw.geometry,
            crs=crs,
            directory=directory,
            postcode_tolerance_m=tolerance,
        )
    step(3)
    imported_at = options.imported_at or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return _Staged(raw, cmap, kind, located, agency, sector, imported_at)


def _prepare_checked(staged: _Staged, *, points: bool = False) -> PreparedRegister:
    """Run the checks and make the report of :func:`prepare_register`, on a staged register."""
    raw, cmap, kind, located = staged.raw, staged.cmap, staged.kind, staged.located
    if not isinstance(located, Located):  # (each row on its own: the whole is the same)
        located = located(raw.table)
    agency, sector = staged.agency, staged.sector
    footprints = None
    if kind == "sites":
        rows, footprints, quarantine, notes = check_sites(
            raw.table, raw.row_numbers, cmap, located, agency=agency, sector=sector, points=points
        )
    else:
        rows, quarantine, notes = check_requests(
            raw.table, raw.row_numbers, cmap, located, agency=agency, sector=sector
        )
    _add_provenance(rows, staged)
    report = _report(staged, rows, quarantine, notes)
    return PreparedRegister(raw, cmap, rows, footprints, quarantine, report)


@dataclass
class _Staged:
    """A register read, its columns recognised and its rows located: ready for the checks."""

    raw: RawRegister
    cmap: ColumnMap
    kind: str
    located: Located | Callable[[pd.DataFrame], Located]
    agency: str | None
    sector: str | None
    imported_at: str


def _add_provenance(rows: pd.DataFrame, staged: _Staged, *, stored_only: bool = False) -> None:
    """Give ``rows`` their provenance columns.

    With ``stored_only``, only the one the store keeps on each row (the file's
    hash and the import time are kept once, in the import log).
    """
    raw = staged.raw
    for column, value in (
        ("source_file", raw.name),
        ("source_sha256", raw.sha256),
        ("imported_at", staged.imported_at),
    ):
        if column == "source_file" or not stored_only:
            rows[column] = constant_text(value, rows.index)


def _report(
    staged: _Staged,
    rows: pd.DataFrame,
    quarantine: pd.DataFrame,
    notes: list[str],
    *,
    holders: tuple[list, list] | None = None,
) -> ImportReport:
    """Return the import report; ``quarantine`` gets its provenance columns.

    ``rows`` are the accepted rows (at least ``location_source``; with ``agency``
    and ``sector`` unless ``holders`` gives their distinct values).
    """
    raw, cmap, kind, agency, sector = (
        staged.raw,
        staged.cmap,
        staged.kind,
        staged.agency,
        staged.sector,
    )
    imported_at = staged.imported_at
    quarantine.insert(0, "source_file", raw.name)
    quarantine.insert(1, "source_sha256", raw.sha256)
    quarantine.insert(2, "kind", kind)
    quarantine["imported_at"] = imported_at

    counted = (
        quarantine["reason_code"].value_counts() if len(quarantine) else pd.Series(dtype="int64")
    )
    reasons = {str(k): int(v) for k, v in counted.items()}
    n_bad = int(quarantine["row"].nunique()) if len(quarantine) else 0
    labels = {code: REASONS.get(code, code) for code in reasons}
    if holders is None:
        holders = (
            rows["agency"].unique().tolist() if len(rows) else [],
            rows["sector"].unique().tolist() if len(rows) else [],
        )
    agencies = holders[0] if len(rows) else ([agency] if agency else [])
    sectors = holders[1] if len(rows) else ([sector] if sector else [])
    report = ImportReport(
        source_file=raw.name,
        sha256=raw.sha256,
        format=raw.format,
        layer=raw.layer,
        kind=kind,
        agency=", ".join(sorted(map(str, agencies)))[:500],
        sector=", ".join(sorted(map(str, sectors))),
        imported_at=imported_at,
        rows_read=len(raw.table),
        accepted=len(rows),
        quarantined=n_bad,
        reasons=reasons,
        reason_labels=labels,
        location_methods={
            str(k): int(v) for k, v in rows["location_source"].value_counts().items()
        },
        columns=cmap.preview().to_dict("records"),
        unused_columns=cmap.unused,
        notes=raw.notes + cmap.notes + notes,
    )
    if len(rows) + n_bad != len(raw.table):  # every row ends in one place: a bug otherwise
        raise AssertionError(
            f"{len(raw.table)} rows read but {len(rows)} accepted and {n_bad} quarantined"
        )
    return report


def _known_elsewhere(known: pd.DataFrame, source_file: str, owner: str) -> pd.DataFrame | None:
    """Return the first row of each site id other sources hold, by id; None if there are none.

    A site that another source of the same agency already holds has the same id
    (agency, sector and reference): the estate keeps the first, and says where it is.
    """
    others = known[(known["source_file"] != source_file) | (known["source_owner"] != owner)]
    if others.empty:
        return None
    return others.drop_duplicates("site_id").set_index("site_id")


def _split_known(
    rows: pd.DataFrame, where: pd.DataFrame, report: ImportReport, cmap: ColumnMap
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Return ``rows`` without the sites ``where`` holds, and quarantine rows for those.

    The quarantine rows have a ``site_id`` column to drop; they are ``None`` when
    there are none.
    """
    ids = rows["site_id"]
    # an index lookup: Series.isin against a million stored ids took seconds
    if where.index.is_unique:
        clash = where.index.get_indexer(pd.Index(ids)) >= 0
    else:
        clash = ids.isin(where.index).to_numpy()
    if not clash.any():
        return rows, None
    hit = rows[clash]
    first = where.loc[hit["site_id"]]
    extra = pd.DataFrame(
        {
            "source_file": report.source_file,
            "source_sha256": report.sha256,
            "kind": "sites",
            "row": hit["source_row"].to_numpy(),
            "column": cmap.column("source_ref") or cmap.column("name") or "",
            "value": (hit["source_ref"].where(hit["source_ref"] != "", hit["name"])).to_numpy(),
            "reason_code": "duplicate",
            "reason": [
                f"the same site is already in the estate from {f} row {r}"
                for f, r in zip(first["source_file"], first["source_row"], strict=True)
            ],
            "imported_at": report.imported_at,
            "site_id": hit["site_id"].to_numpy(),
        }
    )
    return rows[~clash].reset_index(drop=True), extra


def _count_known(
    report: ImportReport, quarantine: pd.DataFrame, clashes: int, location_source: pd.Series
) -> None:
    """Bring the report up to date after ``clashes`` known sites went to ``quarantine``."""
    report.accepted = len(location_source)
    report.quarantined = int(quarantine["row"].nunique())
    report.reasons["duplicate"] = report.reasons.get("duplicate", 0) + clashes
    report.reason_labels["duplicate"] = REASONS["duplicate"]
    report.location_methods = {str(k): int(v) for k, v in location_source.value_counts().items()}


#: Rows checked and stored at a time by :func:`import_register` (see :class:`SiteChecks`).
CHUNK_ROWS = 65_536
_EDGE_CHUNK_ROWS = 8_192


def _chunk_starts(n: int) -> list[int]:
    """Where each chunk of ``n`` rows starts.

    The first and last chunks are small: the store starts inserting soon, and
    the last insert, which no checking overlaps, is short.
    """
    edge = min(CHUNK_ROWS, _EDGE_CHUNK_ROWS)
    starts = [0] if n else []
    at = min(edge, n)
    while at < n:
        starts.append(at)
        left = n - at
        at += CHUNK_ROWS if left > CHUNK_ROWS + edge else (left - edge if left > edge else left)
    return starts


def _streamed_sites(
    staged: _Staged, known: KnownSites | pd.DataFrame, update: SourceUpdate, log_entry: dict
) -> Generator[pd.DataFrame, None, ImportReport]:
    """Check a register of sites a chunk at a time, yielding each chunk's accepted rows.

    The rows were read as a whole, and located as a whole unless each is placed on
    its own (``staged.located`` is then a function, see
    :func:`assetmap.registers.locate.row_local`); :class:`SiteChecks` checks them
    in order, a chunk at a time, and sites that another source already holds go to
    quarantine as duplicates: ``known`` is asked for the stored sites of each
    chunk's ids (an index lookup, not a read of the estate), or is the keys of every
    stored site (see :func:`_store_sites`). Once the last chunk is out, the
    report, the quarantine and the footprints are set on ``update`` and
    ``log_entry``, exactly as :func:`prepare_register` and the known sites make
    them. Returns the report.
    """
    raw = staged.raw
    checks = SiteChecks(
        raw.table,
        raw.row_numbers,
        staged.cmap,
        staged.located,
        agency=staged.agency,
        sector=staged.sector,
    )
    every = None if callable(known) else _known_elsewhere(known, raw.name, update.owner)
    stub = ImportReport(
        raw.name, raw.sha256, "", None, "sites", "", "", staged.imported_at, 0, 0, 0
    )
    agencies: dict = {}
    sectors: dict = {}
    checked, kept, extras = [], [], []
    starts = _chunk_starts(checks.n)
    for start, stop in zip(starts, [*starts[1:], checks.n], strict=True):
        rows = checks.chunk(start, stop)
        _add_provenance(rows, staged, stored_only=True)
        if staged.agency and staged.sector:  # every row's, as given
            if len(rows):
                agencies[staged.agency] = sectors[staged.sector] = None
        else:
            agencies.update(dict.fromkeys(rows["agency"].unique().tolist()))
            sectors.update(dict.fromkeys(rows["sector"].unique().tolist()))
        checked.append(rows["location_source"])
        where = every
        if callable(known) and len(rows):
            held = known(rows["site_id"].unique().tolist())
            where = _known_elsewhere(held, raw.name, update.owner)
        if where is not None:
            rows, extra = _split_known(rows, where, stub, staged.cmap)
            if extra is not None:
                extras.append(extra)
        kept.append(rows["location_source"])
        yield rows
    footprints, quarantine, notes = checks.finish()
    accepted = pd.concat(checked, ignore_index=True) if checked else pd.Series(dtype="str")
    report = _report(
        staged,
        pd.DataFrame({"location_source": accepted}),
        quarantine,
        notes,
        holders=(list(agencies), list(sectors)),
    )
    if extras:
        extra = pd.concat(extras, ignore_index=True)
        if len(footprints):
            footprints = footprints[~footprints["site_id"].isin(extra["site_id"])]
        extra = extra.drop(columns="site_id")
        quarantine = pd.concat([quarantine, extra], ignore_index=True)
        _count_known(report, quarantine, len(extra), pd.concat(kept, ignore_index=True))
    update.footprints = footprints
    update.quarantine = quarantine
    log_entry.update(log_row(report))
    return report


def import_register(
    source: str | Path | bytes,
    *,
    store: EstateStore | str | Path | None = None,
    progress: Progress | None = None,
    viewer: Viewer | None = None,
    options: ImportOptions | None = None,
    **kwargs: Any,
) -> ImportReport:
    """Import a register into the store, replacing an earlier import of the same source.

    A source's identity is its owner and its name: the owner is the agency it is
    imported as (see :func:`assetmap.access.import_owner`). A signed-in viewer
    imports only as their own agency, and replaces only their own agency's
    source of that name.

    Parameters
    ----------
    source
        A path, or the file's bytes (then give ``name=``).
    store
        The store, or its path; :func:`assetmap.store.open_store` default when ``None``.
    progress
        Called as ``progress(stage, fraction)``.
    viewer
        Who is importing (default ``None``: the local single user).
    options
        How to read the register and label its rows (see :class:`ImportOptions`).
    **kwargs
        Fields of :class:`ImportOptions` (``name``, ``kind``, ``profile``,
        ``agency``, ``sector``, ``layer``, ``max_rows``...), winning over ``options``.

    Returns
    -------
    ImportReport
        With ``stored`` True. A file that cannot be read raises instead, and
        the store is left exactly as it was.

    Raises
    ------
    PermissionDeniedError
        A signed-in viewer importing as another agency, or with no agency.
    InvalidArgumentError
        If the register's rows name no agency and none is given; the store is
        then unchanged.

    Examples
    --------
    >>> report = import_register(
    ...     "kent_police_estate.csv", store="estate.gpkg", agency="Kent Police", sector="police"
    ... )  # doctest: +SKIP
    >>> print(report.summary())  # doctest: +SKIP
    """
    chosen = _options(options, kwargs)
    owner, agency = import_owner(viewer, chosen.agency)
    chosen = replace(chosen, agency=agency)
    if not isinstance(store, EstateStore):
        store = open_store(store)
    # the rows go straight to the store: no shapely points are built for them
    staged = _stage(source, chosen, progress=progress, chunked=True)
    log = store.imports()
    same = (log["source_file"] == staged.raw.name) & (log["source_owner"] == owner)
    replaced = int(log.loc[same, "accepted"].sum())
    if progress is not None:
        progress("store", 0.8)
    if staged.kind == "sites":
        report = _store_sites(store, staged, owner=owner, viewer=viewer, replaced=replaced)
    else:
        report = _store_requests(store, staged, owner=owner, replaced=replaced)
    if progress is not None:
        progress("done", 1.0)
    return report


def _stamp(report: ImportReport, replaced: int) -> ImportReport:
    """Mark ``report`` as stored, having replaced ``replaced`` rows of an earlier import."""
    report.replaced_rows = replaced
    report.stored = True
    return report


def _store_sites(
    store: EstateStore, staged: _Staged, *, owner: str, viewer: Viewer | None, replaced: int
) -> ImportReport:
    """Check and store a register of sites a chunk at a time; return the report.

    The store writes one chunk while the next is checked, and is asked for the
    sites of each chunk's ids only: a small import costs what it brings, not what
    the estate holds. A register of several chunks reads the keys of every site
    once, before the write, instead (a look-up of up to 65,536 ids a chunk costs
    more). A duplicate is told only of a site the importer may see: a restricted
    site of an agency whose name only looks the same is no one else's to confirm.
    """

    def visible(held: pd.DataFrame) -> pd.DataFrame:
        if viewer is not None and viewer.signed_in:
            held = held[visible_mask(held, viewer)]
        return held

    def known(site_ids: list[str]) -> pd.DataFrame:
        return visible(store.site_keys(site_ids=site_ids))

    lookup = known if len(staged.raw.table) <= CHUNK_ROWS else visible(store.site_keys())

    update = SourceUpdate(staged.raw.name, "sites", iter(()), None, pd.DataFrame(), {}, owner=owner)
    box: dict[str, ImportReport] = {}
    kept = _standing(store, staged.raw.name, owner)
    changed: list[dict] = []

    def chunks() -> Iterator[pd.DataFrame]:
        report = yield from _reapplied(
            _streamed_sites(staged, lookup, update, update.log), kept, "sites", changed
        )
        report.amendments = changed
        box["report"] = _stamp(report, replaced)

    def finish(sites: gpd.GeoDataFrame) -> pd.Series:
        report = box["report"]
        groups = shared_groups(sites)
        mine = (sites["source_file"] == report.source_file).to_numpy()
        if "source_owner" in sites.columns:
            mine &= (sites["source_owner"] == owner).to_numpy()
        report.shared_sites = int(((groups != "").to_numpy() & mine).sum())
        update.log["report_json"] = report.to_json(indent=None)
        return groups

    update.rows = chunks()
    store.replace_source(update, shared=finish)
    _settle(store, kept, changed, owner, box["report"])
    return box["report"]


def _standing(store: EstateStore, source_file: str, owner: str) -> pd.DataFrame:
    """Return the standing amendments of a source: the space exchange's corrections."""
    table = store.exchange("amendments")
    return table[
        (table["state"] == "standing")
        & (table["source_file"] == source_file)
        & (table["source_owner"] == owner)
    ]


def _reapplied(
    chunks: Generator[pd.DataFrame, None, ImportReport],
    kept: pd.DataFrame,
    layer: str,
    changed: list[dict],
) -> Generator[pd.DataFrame, None, ImportReport]:
    """Yield each chunk with the source's standing amendments applied; return the report.

    Each amendment whose register value the new file changed is added to ``changed``
    (see :func:`assetmap.registers.reapply.reapply`).
    """
    from .reapply import reapply

    while True:
        try:
            rows = next(chunks)
        except StopIteration as done:
            return done.value
        rows, found = reapply(rows, kept, layer=layer)
        changed.extend(found)
        yield rows


def _settle(
    store: EstateStore, kept: pd.DataFrame, changed: list[dict], owner: str, report: ImportReport
) -> None:
    """Make the new file's values the ``old`` of the amendments reported, so each is said once.

    Someone changing those amendments meanwhile leaves them as they are: a note says so.
    """
    from .reapply import settle_reported

    try:
        settle_reported(store, kept, changed, writer=owner)
    except ConflictError:
        report.notes.append(
            "the corrections listed were changed by someone else during this import; they "
            "will be listed again at the next import"
        )


def _store_requests(
    store: EstateStore, staged: _Staged, *, owner: str, replaced: int
) -> ImportReport:
    """Check a register of space requests and store it whole; return the report."""
    from .reapply import reapply

    prepared = _prepare_checked(staged)
    report = _stamp(prepared.report, replaced)
    kept = _standing(store, report.source_file, owner)
    prepared.rows, report.amendments = reapply(prepared.rows, kept, layer="requests")
    update = SourceUpdate(
        report.source_file,
        report.kind,
        prepared.rows,
        None,
        prepared.quarantine,
        log_row(report),
        owner=owner,
    )
    update.log["report_json"] = report.to_json(indent=None)
    store.replace_source(update, shared=None)
    _settle(store, kept, report.amendments, owner, report)
    return report


def remove_register(
    source_file: str,
    *,
    store: EstateStore | str | Path | None = None,
    owner: str | None = None,
    viewer: Viewer | None = None,
) -> int:
    """Remove an imported source and every row it brought, if ``viewer`` may.

    Parameters
    ----------
    source_file
        The source's name.
    store
        The store, or its path; :func:`assetmap.store.open_store` default when ``None``.
    owner
        The agency whose source of that name to remove (``None``: a signed-in
        viewer's own; for the local single user, the only source of that name).
    viewer
        Who is removing (default ``None``: the local single user, who may remove any).

    Returns
    -------
    int
        The sites and requests removed.

    Raises
    ------
    PermissionDeniedError
        A signed-in viewer removing a source that is not their own agency's.
    StoreError
        The source is not in the store, or several agencies have one of that name
        and no ``owner`` was given.

    Examples
    --------
    >>> remove_register(
    ...     "kent_police_estate.csv", store="estate.gpkg", owner="Kent Police"
    ... )  # doctest: +SKIP
    """
    if not isinstance(store, EstateStore):
        store = open_store(store)
    if viewer is not None and viewer.signed_in:
        if owner is None:
            log = store.imports()
            named = log.loc[log["source_file"] == source_file, "source_owner"]
            owner = next((o for o in named if owns(o, viewer)), None)
        if owner is None or not may_remove_source(owner, viewer):
            raise PermissionDeniedError(
                f"{source_file!r} is not a source of {viewer.agency or 'your agency'}; you may "
                "remove only your own agency's sources"
            )
    return store.remove_source(source_file, owner=owner, shared=shared_groups)
