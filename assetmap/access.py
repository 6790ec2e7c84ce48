"""Who may see which site: the one place the access and disclosure rules live.

The disclosure rule: withholding (record suppression before any output)
------------------------------------------------------------------------
A site (or space request) whose ``sensitivity`` is ``"restricted"`` (custody
suites, refuges, secure units, data centres) is seen only by users of its own
agency. For everyone else it is withheld: removed from the estate *before*
anything is computed for them, so that no figure they receive includes it.
Every table, total, count, density cell, heat or hexagon surface, map layer,
print map, note, caption, co-location cluster, match candidate, shared-site
flag and file made for a viewer is computed from :func:`visible_sites` of that
viewer, and nothing tells them whether or how many sites were withheld.

Why withholding and not cell suppression ("fewer than 5"): any figure that
includes a site can be differenced. A total minus its visible rows, a boundary
set of 10 m cells drawn by the viewer, a filter stepped by one, two levels
compared, a note "1 restricted site not drawn": each located or measured a
restricted site under primary suppression. A figure that never included the
site cannot be differenced into it, whatever boundaries, filters or levels
the viewer combines. The price is stated on every page, whether or not
anything was withheld: another agency's figures are those of the sites it may
see (:data:`FIGURES_NOTE`).

Ownership
---------
A source belongs to the agency it was imported as; its identity is that owner
and its name together (:func:`source_owner`). A signed-in user imports only as
their own agency and replaces or removes only their own agency's sources
(:func:`import_owner`, :func:`may_remove_source`). The local single user
(no sign-in) keeps every right: they hold the store file itself.

Agencies are compared without regard to case or spacing: ``"Kent  police "``
is the same agency as ``"Kent Police"`` (:func:`agency_key`).

* :func:`visible_mask`, :func:`visible_sites`, :func:`visible_requests`: the rows
  a :class:`Viewer` may see, and so the only rows anything is computed from;
* :func:`visible_quarantine`: quarantined rows carry raw register values, and a
  quarantined row's sensitivity is not known (it may be the row that failed),
  so a viewer sees the quarantined rows of a source only when it is their own
  agency's; a viewer with no agency sees none.

Who is looking: :class:`Viewer`. Without sign-in the app and the command line
run as the local single user (:func:`local_viewer`), whose agency is
``$ASSETMAP_AGENCY`` (none by default, so no restricted site is shown or
counted). With sign-in, the agency comes from a claim of the identity token
or from a mapping file of e-mail addresses (:func:`agency_from_claims`,
:func:`load_agency_map`).
"""

from __future__ import annotations

import csv
import getpass
import io
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from assetmap._validate import raise_if_any
from assetmap.errors import InvalidArgumentError, PermissionDeniedError
from assetmap.settings import AGENCY_ENV, local_agency

__all__ = [
    "AGENCY_ENV",
    "FIGURES_NOTE",
    "OWN_ROW_ONLY",
    "OWN_SOURCE_ONLY",
    "Viewer",
    "agency_from_claims",
    "agency_key",
    "as_viewer",
    "check_viewer",
    "import_owner",
    "is_restricted",
    "load_agency_map",
    "local_viewer",
    "may_remove_source",
    "owns",
    "visible_imports",
    "visible_mask",
    "visible_quarantine",
    "visible_requests",
    "visible_sites",
]

#: Said on every page and in every file of figures, whether or not anything was withheld.
FIGURES_NOTE = (
    "Figures count the sites you may see: other agencies' restricted sites are "
    "withheld from every map, table and total."
)


def agency_key(name: object) -> str:
    """Return an agency's name as compared: spacing collapsed, case folded (``""`` for none)."""
    if name is None or (isinstance(name, float) and np.isnan(name)) or name is pd.NA:
        return ""
    return " ".join(str(name).split()).casefold()


@dataclass(frozen=True)
class Viewer:
    """Who is looking at the estate.

    Attributes
    ----------
    user
        The user's name or e-mail address (for the audit log and the sidebar).
    agency
        The user's agency, or ``None``: then only open sites are shown in full.
    signed_in
        Whether the user signed in through the identity provider (``False`` for
        the local single user).

    Examples
    --------
    >>> viewer = Viewer("ann@example.gov.uk", agency="Kent  POLICE", signed_in=True)
    >>> viewer.key
    'kent police'
    """

    user: str
    agency: str | None = None
    signed_in: bool = False

    def __post_init__(self) -> None:
        """Check the user's name and the agency; raise one error naming every problem."""
        problems = []
        if not isinstance(self.user, str) or not self.user.strip():
            problems.append(f"user={self.user!r} is not valid; expected a user's name")
        if self.agency is not None and (
            not isinstance(self.agency, str) or not self.agency.strip()
        ):
            problems.append(
                f"agency={self.agency!r} is not valid; expected None or an agency's name"
            )
        raise_if_any(problems)

    @property
    def key(self) -> str:
        """The viewer's agency as compared (``""`` for none): part of every cache key."""
        return agency_key(self.agency)

    def describe(self) -> str:
        """Who is looking, in words, for the sidebar note."""
        agency = self.agency or "no agency"
        if self.signed_in:
            return f"Signed in as {self.user} ({agency})."
        return f"No sign-in is configured: you are the local user {self.user} ({agency}). " + (
            f"Restricted sites of {self.agency} are shown; other agencies' restricted "
            "sites are withheld from every map, table and total."
            if self.agency
            else "Restricted sites are withheld from every map, table and total; set "
            f"${AGENCY_ENV} to see your own agency's."
        )


def local_viewer(environ: Mapping[str, str] | None = None) -> Viewer:
    """Return the local single user: the login name, and the agency named by ``$ASSETMAP_AGENCY``.

    The viewer is not signed in, and has no agency unless ``$ASSETMAP_AGENCY`` is set
    in ``environ`` (default :data:`os.environ`; see
    :func:`assetmap.settings.local_agency`).

    Examples
    --------
    >>> local_viewer({"ASSETMAP_AGENCY": "Kent Police"}).agency
    'Kent Police'
    >>> local_viewer({}).agency is None
    True
    """
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "local user"
    return Viewer(user=user or "local user", agency=local_agency(environ), signed_in=False)


def as_viewer(viewer: Viewer | str | None) -> Viewer | None:
    """Return a :class:`Viewer` from a viewer, an agency's name or ``None`` (nobody's agency).

    Raises
    ------
    InvalidArgumentError
        If ``viewer`` is none of these, or an empty name.
    """
    if viewer is None or isinstance(viewer, Viewer):
        return viewer
    if isinstance(viewer, str) and viewer.strip():
        return Viewer(user="(agency)", agency=viewer)
    raise InvalidArgumentError(
        f"viewer={viewer!r} is not valid; expected None, an agency's name or an "
        "assetmap.access.Viewer"
    )


def check_viewer(viewer_agency) -> str | None:
    """Return a problem message if ``viewer_agency`` is neither ``None`` nor a non-empty string."""
    if viewer_agency is None or isinstance(viewer_agency, Viewer):
        return None
    if isinstance(viewer_agency, str) and viewer_agency.strip():
        return None
    return f"viewer_agency={viewer_agency!r} is not valid; expected None or an agency's name"


def is_restricted(frame: pd.DataFrame) -> np.ndarray:
    """Which rows are restricted (``sensitivity`` is ``"restricted"``, any case or spacing).

    Rows of a table without a ``sensitivity`` column count as open.
    """
    if "sensitivity" not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    sens = frame["sensitivity"].astype("object").fillna("").astype(str).str.strip().str.lower()
    return (sens == "restricted").to_numpy(dtype=bool)


def visible_mask(frame: pd.DataFrame, viewer: Viewer | str | None = None) -> np.ndarray:
    """Which rows a viewer may see in full: open rows, and their own agency's restricted rows.

    Parameters
    ----------
    frame
        Sites or space requests with ``sensitivity`` and ``agency`` columns.
    viewer
        Who is looking: a :class:`Viewer`, an agency's name, or ``None`` (no
        agency: every restricted row is hidden).

    Returns
    -------
    numpy.ndarray
        Boolean, aligned to ``frame``.

    Raises
    ------
    InvalidArgumentError
        If ``viewer`` is not valid.
    """
    viewer = as_viewer(viewer)
    restricted = is_restricted(frame)
    visible = ~restricted
    key = viewer.key if viewer is not None else ""
    if key and restricted.any():
        agencies = frame["agency"].to_numpy(dtype=object)[restricted]
        own = np.fromiter((agency_key(a) == key for a in agencies), dtype=bool, count=len(agencies))
        visible[np.flatnonzero(restricted)[own]] = True
    return visible


def visible_sites(
    sites: pd.DataFrame, viewer: Viewer | str | None = None, *, renumber: bool = True
) -> pd.DataFrame:
    """Return the sites ``viewer`` may see, numbered afresh from 0 in their order.

    The rows of :func:`visible_mask`. Their index is new: labels kept from the
    store (row positions) would count the rows withheld before each, and every
    table, cluster member or match made from them would carry that count. Every
    face of assetmap starts from this frame; the engine's functions return
    results aligned to the index they are given (``renumber=False`` keeps it:
    for a caller whose labels are its own). Provenance that only the source's
    own agency may see (:data:`OWN_ROW_ONLY`: ``source_sha256``, and
    ``source_row``, whose gaps would place withheld rows in their register) is
    blanked on other agencies' rows.

    Examples
    --------
    >>> import pandas as pd
    >>> sites = pd.DataFrame(
    ...     {
    ...         "agency": ["Kent Police", "Kent Police", "Medway Council"],
    ...         "sensitivity": ["open", "restricted", "restricted"],
    ...     }
    ... )
    >>> visible_sites(sites, "Kent Police")["sensitivity"].tolist()
    ['open', 'restricted']
    >>> len(visible_sites(sites))  # nobody's agency: open sites only
    1
    """
    return _disclosed(sites[visible_mask(sites, viewer)], viewer, renumber)


def visible_requests(
    requests: pd.DataFrame, viewer: Viewer | str | None = None, *, renumber: bool = True
) -> pd.DataFrame:
    """Return the space requests ``viewer`` may see, numbered afresh; see :func:`visible_sites`.

    Examples
    --------
    >>> requests = visible_requests(store.requests(), local_viewer())  # doctest: +SKIP
    """
    return _disclosed(requests[visible_mask(requests, viewer)], viewer, renumber)


#: Provenance of a row shown only to its source's own agency (see :func:`visible_sites`).
OWN_ROW_ONLY = ("source_row", "source_sha256")


def _disclosed(rows: pd.DataFrame, viewer: Viewer | str | None, renumber: bool) -> pd.DataFrame:
    if renumber:
        rows = rows.reset_index(drop=True)
    present = [c for c in OWN_ROW_ONLY if c in rows.columns]
    if not present or "source_owner" not in rows.columns or not len(rows):
        return rows
    viewer = as_viewer(viewer)
    key = viewer.key if viewer is not None else ""
    # each owner's name compared once (an estate has a handful of owners, not a million)
    codes, owners = pd.factorize(rows["source_owner"].astype(str))
    mine = np.fromiter((bool(key) and agency_key(o) == key for o in owners), bool, len(owners))
    theirs = (codes < 0) | ~np.append(mine, False)[codes]
    if not theirs.any():
        return rows
    rows = rows.copy()
    for column in present:
        if pd.api.types.is_integer_dtype(rows[column].dtype):
            rows[column] = rows[column].astype("Int64").mask(theirs)
        else:
            rows[column] = rows[column].mask(theirs, "")
    return rows


def owns(owner: object, viewer: Viewer | None) -> bool:
    """Whether a source whose owner is ``owner`` is ``viewer``'s own agency's."""
    key = viewer.key if viewer is not None else ""
    return bool(key) and agency_key(owner) == key


def visible_quarantine(
    quarantine: pd.DataFrame, viewer: Viewer | str | None = None
) -> pd.DataFrame:
    """Return the quarantined rows ``viewer`` may see: those of the viewer's own agency's sources.

    A quarantined row holds raw register values and its sensitivity may be the
    very value that failed, so it cannot be shown to another agency safely. A
    source is the viewer's when its owner (``source_owner``, the agency it was
    imported as) is the viewer's agency; a viewer with no agency sees none.

    Parameters
    ----------
    quarantine
        The store's quarantine table (``source_owner`` and the row's values).
    viewer
        Who is looking.

    Returns
    -------
    pandas.DataFrame
        The rows kept, same index labels.
    """
    viewer = as_viewer(viewer)
    key = viewer.key if viewer is not None else ""
    if not key:
        return quarantine.iloc[:0]
    owners = quarantine["source_owner"].astype(str).map(agency_key)
    return quarantine[(owners == key).to_numpy(dtype=bool)]


#: What :func:`visible_imports` shows only of the viewer's own agency's sources.
OWN_SOURCE_ONLY = (
    "agency",
    "sector",
    "rows_read",
    "accepted",
    "quarantined",
    "source_sha256",
    "report_json",
)


def visible_imports(imports: pd.DataFrame, viewer: Viewer | str | None = None) -> pd.DataFrame:
    """Return the import log as ``viewer`` may see it.

    Every source's name, owner, kind and time; the agencies and sectors its rows
    name, its row counts, file hash and report (:data:`OWN_SOURCE_ONLY`) only
    when it is the viewer's own agency's. Another agency's counts include its
    restricted sites (its accepted rows minus the sites shown would count them),
    and a register's list of agencies may name one whose only rows are restricted.

    Parameters
    ----------
    imports
        The store's import log.
    viewer
        Who is looking.

    Returns
    -------
    pandas.DataFrame
        A copy, same rows; the counts of other agencies' sources are missing (``<NA>``).
    """
    viewer = as_viewer(viewer)
    own = imports["source_owner"].map(lambda owner: owns(owner, viewer)).to_numpy(dtype=bool)
    out = imports.copy()
    for name in OWN_SOURCE_ONLY:
        if name in out.columns:
            values = out[name]
            if pd.api.types.is_integer_dtype(values.dtype):
                values = values.astype("Int64")  # so that a withheld count can be missing
            out[name] = values.where(own)
    return out


def may_remove_source(owner: object, viewer: Viewer | None) -> bool:
    """Whether ``viewer`` may replace or remove a source whose owner is ``owner``.

    The local single user (not signed in) may change any source; a signed-in
    user only their own agency's.
    """
    if viewer is None or not viewer.signed_in:
        return True
    return owns(owner, viewer)


def import_owner(viewer: Viewer | None, agency: str | None) -> tuple[str, str | None]:
    """Who an import belongs to, and the agency its rows are labelled with.

    A signed-in user imports only as their own agency: every row is labelled
    with it, and naming another agency is refused. The local single user may
    import as any agency; the source then belongs to the agency named
    (``agency``, as ``--agency`` gives it), or to none.

    Parameters
    ----------
    viewer
        Who is importing (``None``: the local single user with no agency).
    agency
        The agency asked for every row (``--agency``), or ``None``.

    Returns
    -------
    owner : str
        The source's owner (``""`` for none).
    agency : str or None
        The agency to label every row with.

    Raises
    ------
    PermissionDeniedError
        A signed-in user with no agency, or naming another agency.
    """
    named = " ".join(str(agency).split()) if agency is not None else ""
    if viewer is None or not viewer.signed_in:
        return named, named or None
    if not viewer.key:
        raise PermissionDeniedError(
            "you are signed in with no agency, so you cannot import a register; ask your "
            "administrator to give your account an agency"
        )
    if named and agency_key(named) != viewer.key:
        raise PermissionDeniedError(
            f"you are signed in for {viewer.agency} and may import rows only as "
            f"{viewer.agency}, not as {named!r}"
        )
    return viewer.agency or "", viewer.agency


# --------------------------------------------------------------------------- sign-in


def load_agency_map(path: str | os.PathLike[str]) -> dict[str, str]:
    """Read a mapping of users' e-mail addresses to agencies (TOML or CSV).

    TOML: a table ``[agencies]`` of ``"address" = "Agency"``. CSV: columns
    ``email`` and ``agency``. Addresses are compared without regard to case or
    surrounding spaces.

    Parameters
    ----------
    path
        The mapping file (``.toml`` or ``.csv``).

    Returns
    -------
    dict
        Lower-cased address -> agency.

    Raises
    ------
    InvalidArgumentError
        If the file is missing, unreadable or not in one of these shapes; every
        problem is listed.
    """
    path = Path(path)
    read_pairs = _AGENCY_MAP_READERS.get(path.suffix.lower())
    if read_pairs is None:
        raise InvalidArgumentError(
            f"agency map {str(path)!r} has the suffix {path.suffix or '(none)'!r}; "
            "expected .toml or .csv"
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidArgumentError(
            f"agency map {str(path)!r} cannot be read ({exc.__class__.__name__}); expected a "
            "readable UTF-8 file"
        ) from None
    problems: list[str] = []
    mapping = {}
    for n, (email, agency) in enumerate(read_pairs(path, text), start=1):
        if not isinstance(email, str) or "@" not in email:
            problems.append(f"entry {n}: {email!r} is not an e-mail address")
        elif not isinstance(agency, str) or not agency.strip():
            problems.append(f"entry {n}: the agency of {email!r} is {agency!r}; expected a name")
        else:
            mapping[email.strip().lower()] = " ".join(agency.split())
    if problems:
        raise InvalidArgumentError(f"agency map {str(path)!r}: " + "; ".join(problems))
    return mapping


def _toml_pairs(path: Path, text: str) -> list[tuple[object, object]]:
    """Return the (address, agency) pairs of an agency map in TOML, as written."""
    try:
        table = tomllib.loads(text).get("agencies")
    except tomllib.TOMLDecodeError as exc:
        raise InvalidArgumentError(
            f"agency map {str(path)!r} is not valid TOML ({exc}); expected a table "
            '[agencies] of "address" = "Agency"'
        ) from None
    if not isinstance(table, dict):
        raise InvalidArgumentError(
            f"agency map {str(path)!r} has no [agencies] table; expected a table "
            '[agencies] of "address" = "Agency"'
        )
    return list(table.items())


def _csv_pairs(path: Path, text: str) -> list[tuple[object, object]]:
    """Return the (address, agency) pairs of an agency map in CSV, as written."""
    reader = csv.DictReader(io.StringIO(text))
    fields = [f.strip().lower() for f in reader.fieldnames or []]
    if "email" not in fields or "agency" not in fields:
        raise InvalidArgumentError(
            f"agency map {str(path)!r} has the columns {fields}; expected email and agency"
        )
    reader.fieldnames = fields
    return [(row.get("email"), row.get("agency")) for row in reader]


#: The reader of each kind of agency map, by its file's suffix.
_AGENCY_MAP_READERS: dict[str, Callable[[Path, str], list[tuple[object, object]]]] = {
    ".toml": _toml_pairs,
    ".csv": _csv_pairs,
}


def agency_from_claims(
    claims: Mapping[str, object],
    *,
    claim: str | None = None,
    mapping: Mapping[str, str] | None = None,
) -> str | None:
    """Return a signed-in user's agency, from their identity token's claims.

    The agency is the ``claim`` of their identity token, else their e-mail address
    looked up in ``mapping`` (see :func:`load_agency_map`).

    Returns
    -------
    str or None
        The agency (spacing collapsed), or ``None`` when neither gives one.
    """
    if claim:
        value = claims.get(claim)
        if isinstance(value, list | tuple) and len(value) == 1:
            value = value[0]
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())
    if mapping:
        email = claims.get("email")
        if isinstance(email, str) and email.strip().lower() in mapping:
            return mapping[email.strip().lower()]
    return None
