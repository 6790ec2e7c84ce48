"""Import one register: read, recognise, locate, check, store; and report.

:func:`prepare_register` does everything but the write, so the app can show a
preview; :func:`import_register` also writes the result to the store in one
transaction. Both return an :class:`ImportReport` that says what was read, how
the columns were understood, what was accepted, and why every other row was
quarantined.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import pandas as pd

from .._validate import raise_if_any
from ..access import Viewer, import_owner, may_remove_source, owns, visible_mask
from ..errors import PermissionDeniedError
from ..postcodes import PostcodeDirectory
from ..schema import SECTORS
from ..store import EstateStore, SourceUpdate, open_store
from .columns import ColumnMap, Profile, load_profile, recognise_columns
from .locate import Located, constant_text, locate_rows, row_local
from .read import RawRegister, ZipLimits, read_register
from .validate import REASONS, SiteChecks, check_requests, check_sites, shared_groups

__all__ = [
    "KINDS",
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

_STAGES = ("read", "recognise columns", "locate", "check rows", "store")


@dataclass
class ImportReport:
    """What happened to a register on import.

    Attributes
    ----------
    source_file, sha256, format, layer, kind, agency, sector, imported_at
        What was read and how it was labelled.
    rows_read
        Rows in the file.
    accepted
        Rows now in the estate.
    quarantined
        Rows not loaded (each has at least one reason in the quarantine table).
    reasons
        Reason code -> number of faults (a row may have several).
    reason_labels
        Reason code -> description, for the codes in ``reasons``.
    location_methods
        How accepted rows were located -> count.
    columns
        The recognised columns (field, meaning, column, how, unit).
    unused_columns
        Columns that fed nothing.
    notes
        Plain-English notes: encoding, units assumed, conversions...
    shared_sites
        Sites of this source that another agency also reports.
    replaced_rows
        Rows of an earlier import of the same source that this one replaced.
    stored
        Whether the result was written to the store.
    """

    source_file: str
    sha256: str
    format: str
    layer: str | None
    kind: str
    agency: str
    sector: str
    imported_at: str
    rows_read: int
    accepted: int
    quarantined: int
    reasons: dict[str, int] = field(default_factory=dict)
    reason_labels: dict[str, str] = field(default_factory=dict)
    location_methods: dict[str, int] = field(default_factory=dict)
    columns: list[dict] = field(default_factory=list)
    unused_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    shared_sites: int = 0
    replaced_rows: int = 0
    stored: bool = False

    def to_dict(self) -> dict:
        """The report as plain data (for JSON)."""
        return asdict(self)

    def to_json(self, **kwargs) -> str:
        """The report as JSON text."""
        return json.dumps(self.to_dict(), indent=kwargs.pop("indent", 2), **kwargs)

    def counts(self) -> dict[str, int]:
        """Rows read, accepted and quarantined (for the audit log)."""
        return {
            "rows_read": self.rows_read,
            "accepted": self.accepted,
            "quarantined": self.quarantined,
        }

    def summary(self) -> str:
        """A few lines for people."""
        lines = [
            f"{self.source_file} ({self.format}, {self.kind}): {self.rows_read:,} rows read, "
            f"{self.accepted:,} accepted, {self.quarantined:,} quarantined",
        ]
        for code, count in sorted(self.reasons.items(), key=lambda kv: -kv[1]):
            lines.append(f"  {count:>7,}  {self.reason_labels.get(code, code)}")
        if self.location_methods:
            how = ", ".join(f"{k} {v:,}" for k, v in self.location_methods.items())
            lines.append(f"  located by: {how}")
        if self.shared_sites:
            lines.append(f"  {self.shared_sites:,} sites are also reported by another agency")
        if self.replaced_rows:
            lines.append(f"  replaced {self.replaced_rows:,} rows of an earlier import")
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)


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


def _guess_kind(cmap: ColumnMap) -> str:
    if "space_needed" in cmap.fields and "floor_area" not in cmap.fields:
        return "requests"
    return "sites"


def _check_args(kind, sector, profile) -> list[str]:
    problems = []
    if kind is not None and kind not in KINDS:
        problems.append(f"kind={kind!r} is not valid; expected one of: {', '.join(KINDS)}")
    if sector is not None and sector not in SECTORS:
        problems.append(f"sector={sector!r} is not valid; expected one of: {', '.join(SECTORS)}")
    if profile is not None and not isinstance(profile, (str, Path, Profile)):
        problems.append(f"profile={profile!r} is not valid; expected a path or a Profile")
    return problems


def prepare_register(
    source: str | Path | bytes,
    *,
    name: str | None = None,
    kind: str | None = None,
    profile: str | Path | Profile | None = None,
    agency: str | None = None,
    sector: str | None = None,
    layer: str | None = None,
    max_rows: int | None = None,
    zip_limits: ZipLimits | None = None,
    directory: PostcodeDirectory | None = None,
    progress: Progress | None = None,
    imported_at: str | None = None,
) -> PreparedRegister:
    """Read and check a register without storing it.

    Parameters
    ----------
    source
        A path, or the file's bytes (then ``name`` is required).
    name
        The source's name; defaults to the file name. A later import with the
        same name replaces this one.
    kind
        ``"sites"`` or ``"requests"``; decided from the columns when ``None``.
    profile
        A profile file (or :class:`Profile`) mapping columns explicitly.
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
    progress
        Called as ``progress(stage, fraction)`` as the work advances.
    imported_at
        The import time to record (ISO 8601, UTC); now when ``None``.

    Returns
    -------
    PreparedRegister

    Raises
    ------
    InvalidArgumentError
        Listing every argument that is wrong.
    RegisterReadError
        If the file cannot be read as a table at all.
    ProfileError
        If the profile is malformed or names columns the file lacks.

    Examples
    --------
    >>> prepared = prepare_register("kent_police_estate.csv", kind="sites")  # doctest: +SKIP
    >>> prepared.report.accepted, len(prepared.quarantine)  # doctest: +SKIP
    """
    return _prepare(
        source,
        name=name,
        kind=kind,
        profile=profile,
        agency=agency,
        sector=sector,
        layer=layer,
        max_rows=max_rows,
        zip_limits=zip_limits,
        directory=directory,
        progress=progress,
        imported_at=imported_at,
        points=True,
    )


def _prepare(
    source: str | Path | bytes,
    *,
    name: str | None = None,
    kind: str | None = None,
    profile: str | Path | Profile | None = None,
    agency: str | None = None,
    sector: str | None = None,
    layer: str | None = None,
    max_rows: int | None = None,
    zip_limits: ZipLimits | None = None,
    directory: PostcodeDirectory | None = None,
    progress: Progress | None = None,
    imported_at: str | None = None,
    points: bool = True,
    stage_only: bool = False,
) -> PreparedRegister | _Staged:
    """:func:`prepare_register`; with ``points=False`` sites give their points as
    ``easting`` and ``northing`` columns (see :func:`check_sites`); with
    ``stage_only`` it stops before the checks and returns what they need.
    """
    problems = _check_args(kind, sector, profile)
    raise_if_any(problems)

    def step(i: int) -> None:
        if progress is not None:
            progress(_STAGES[i], i / len(_STAGES))

    if isinstance(profile, (str, Path)):
        profile = load_profile(profile)
    if profile is not None:
        agency = agency or profile.agency
        sector = sector or profile.sector
        kind = kind or profile.kind
        layer = layer or profile.layer
    step(0)
    raw = read_register(source, name=name, layer=layer, max_rows=max_rows, zip_limits=zip_limits)
    step(1)
    cmap = recognise_columns(list(raw.table.columns), profile=profile)
    kind = kind or _guess_kind(cmap)
    step(2)
    crs = profile.crs if profile is not None else None
    if stage_only and kind == "sites" and row_local(cmap, raw.geometry):
        # every row is placed on its own: each chunk is located as it is checked

        def located(chunk: pd.DataFrame) -> Located:
            return locate_rows(chunk, cmap, crs=crs, directory=directory)

    else:
        located = locate_rows(raw.table, cmap, geometry=raw.geometry, crs=crs, directory=directory)
    step(3)
    imported_at = imported_at or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    staged = _Staged(raw, cmap, kind, located, agency, sector, imported_at)
    if stage_only:
        return staged
    return _prepare_checked(staged, points=points)


def _prepare_checked(staged: _Staged, *, points: bool = False) -> PreparedRegister:
    """The checks and the report of :func:`prepare_register`, on a staged register."""
    raw, cmap, kind, located = staged.raw, staged.cmap, staged.kind, staged.located
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
    """Give ``rows`` their provenance columns; with ``stored_only``, only the one the
    store keeps on each row (the file's hash and the import time are kept once, in
    the import log).
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
    """The import report; ``quarantine`` gets its provenance columns.

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

    reasons = quarantine["reason_code"].value_counts().to_dict() if len(quarantine) else {}
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
        reasons={k: int(v) for k, v in reasons.items()},
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
    """The first row of each site id other sources hold, by id; None when there are none.

    A site that another source of the same agency already holds has the same id
    (agency, sector and reference): the estate keeps the first, and says where it is.
    """
    others = known[(known["source_file"] != source_file) | (known["source_owner"] != owner)]
    if others.empty:
        return None
    return others.drop_duplicates("site_id").set_index("site_id")


def _split_known(rows: pd.DataFrame, where: pd.DataFrame, report: ImportReport, cmap: ColumnMap):
    """``rows`` without the sites ``where`` holds, and quarantine rows for those (with a
    ``site_id`` column to drop), or ``(rows, None)`` when there are none.
    """
    clash = rows["site_id"].isin(where.index).to_numpy()
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


def _count_known(report, quarantine, clashes: int, location_source: pd.Series) -> None:
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


def _streamed_sites(staged: _Staged, known: pd.DataFrame, update: SourceUpdate, log_row: dict):
    """Check a register of sites a chunk at a time, yielding each chunk's accepted rows.

    The rows were read as a whole, and located as a whole unless each is placed on
    its own (``staged.located`` is then a function, see
    :func:`assetmap.registers.locate.row_local`); :class:`SiteChecks` checks them
    in order, a chunk at a time, and sites that another source already holds
    (``known``) go to quarantine as duplicates. Once the last chunk is out, the
    report, the quarantine and the footprints are set on ``update`` and
    ``log_row``, exactly as :func:`prepare_register` and the known sites make
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
    where = _known_elsewhere(known, raw.name, update.owner)
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
    log_row.update(_log_row(report))
    return report


def _log_row(report: ImportReport) -> dict:
    return {
        "source_file": report.source_file,
        "source_sha256": report.sha256,
        "kind": report.kind,
        "format": report.format,
        "layer": report.layer or "",
        "agency": report.agency,
        "sector": report.sector,
        "imported_at": report.imported_at,
        "rows_read": report.rows_read,
        "accepted": report.accepted,
        "quarantined": report.quarantined,
        "report_json": "",
    }


def import_register(
    source: str | Path | bytes,
    *,
    store: EstateStore | str | Path | None = None,
    progress: Progress | None = None,
    viewer: Viewer | None = None,
    **kwargs,
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
    **kwargs
        Passed to :func:`prepare_register` (``name``, ``kind``, ``profile``,
        ``agency``, ``sector``, ``layer``, ``max_rows``...).

    Returns
    -------
    ImportReport
        With ``stored`` True. A file that cannot be read raises instead, and
        the store is left exactly as it was.

    Raises
    ------
    PermissionDeniedError
        A signed-in viewer importing as another agency, or with no agency.

    Examples
    --------
    >>> report = import_register(
    ...     "kent_police_estate.csv", store="estate.gpkg", agency="Kent Police", sector="police"
    ... )  # doctest: +SKIP
    >>> print(report.summary())  # doctest: +SKIP
    """
    owner, kwargs["agency"] = import_owner(viewer, kwargs.get("agency"))
    if not isinstance(store, EstateStore):
        store = open_store(store)
    # the rows go straight to the store: no shapely points are built for them
    staged = _prepare(source, progress=progress, points=False, stage_only=True, **kwargs)
    log = store.imports()
    same = (log["source_file"] == staged.raw.name) & (log["source_owner"] == owner)
    replaced = int(log.loc[same, "accepted"].sum())
    box: dict[str, ImportReport] = {}

    def stamp(report: ImportReport) -> ImportReport:
        report.replaced_rows = replaced
        report.stored = True
        box["report"] = report
        return report

    def finish(sites: gpd.GeoDataFrame) -> pd.Series:
        report = box["report"]
        groups = shared_groups(sites)
        mine = (sites["source_file"] == report.source_file).to_numpy()
        if "source_owner" in sites.columns:
            mine &= (sites["source_owner"] == owner).to_numpy()
        report.shared_sites = int(((groups != "").to_numpy() & mine).sum())
        update.log["report_json"] = report.to_json(indent=None)
        return groups

    if progress is not None:
        progress("store", 0.8)
    if staged.kind == "sites":
        known = store.site_keys()
        if viewer is not None and viewer.signed_in:
            # a duplicate is told only of a site the importer may see: a restricted site
            # of an agency whose name only looks the same is no one else's to confirm
            known = known[visible_mask(known, viewer)]
        # checked and stored a chunk at a time: the store writes one while the next is checked
        update = SourceUpdate(
            staged.raw.name, "sites", iter(()), None, pd.DataFrame(), {}, owner=owner
        )

        def chunks():
            report = yield from _streamed_sites(staged, known, update, update.log)
            stamp(report)

        update.rows = chunks()
        store.replace_source(update, shared=finish)
    else:
        prepared = _prepare_checked(staged)
        report = stamp(prepared.report)
        update = SourceUpdate(
            report.source_file,
            report.kind,
            prepared.rows,
            None,
            prepared.quarantine,
            _log_row(report),
            owner=owner,
        )
        update.log["report_json"] = report.to_json(indent=None)
        store.replace_source(update, shared=None)
    if progress is not None:
        progress("done", 1.0)
    return box["report"]


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
