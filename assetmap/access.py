"""Who may see which site: the one place the access rule lives.

A site (or space request) whose ``sensitivity`` is ``"restricted"`` (custody
suites, refuges, secure units, data centres) is visible in full only to users
of its own agency. Everyone else sees it only inside locality aggregates
(:mod:`assetmap.density`), where a count that includes a restricted site and
is below :data:`SUPPRESS_BELOW` (default 5; ``$ASSETMAP_SUPPRESS_BELOW``) is
shown as "fewer than 5". Never as a point, a name, a tooltip, a row in a
download, a co-location member or a match candidate.

Agencies are compared without regard to case or spacing: ``"Kent  police "``
is the same agency as ``"Kent Police"`` (:func:`agency_key`).

Every face of assetmap (the app's cached state, the command line, the print
maps and the pack, co-location and matching) asks this module, before anything
reaches a page, a map, a file or an export:

* :func:`visible_mask`, :func:`visible_sites`, :func:`visible_requests`: the rows
  a :class:`Viewer` may see;
* :func:`visible_quarantine`: quarantined rows carry raw register values, and a
  quarantined row's sensitivity is not known (it may be the row that failed),
  so a viewer sees the quarantined rows of a source only when every agency of
  that source (the import log's ``agency``) is the viewer's own; a viewer with
  no agency sees none;
* :func:`may_remove_source`: a signed-in user may remove only their own
  agency's sources; the local single user may remove any.

Who is looking: :class:`Viewer`. Without sign-in the app and the command line
run as the local single user (:func:`local_viewer`), whose agency is
``$ASSETMAP_AGENCY`` (none by default, so restricted sites show only in
aggregates). With sign-in, the agency comes from a claim of the identity
token or from a mapping file of e-mail addresses (:func:`agency_from_claims`,
:func:`load_agency_map`).
"""

from __future__ import annotations

import csv
import getpass
import io
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from assetmap.errors import InvalidArgumentError

__all__ = [
    "AGENCY_ENV",
    "SUPPRESS_BELOW",
    "SUPPRESS_ENV",
    "Viewer",
    "agency_from_claims",
    "agency_key",
    "as_viewer",
    "is_restricted",
    "load_agency_map",
    "local_viewer",
    "may_remove_source",
    "suppress_below_setting",
    "suppression",
    "visible_mask",
    "visible_quarantine",
    "visible_requests",
    "visible_sites",
]

#: The environment variable naming the local single user's agency.
AGENCY_ENV = "ASSETMAP_AGENCY"
#: The environment variable setting the smallest count shown as a number.
SUPPRESS_ENV = "ASSETMAP_SUPPRESS_BELOW"
#: Counts that include a restricted site and are below this are shown as "fewer than 5".
SUPPRESS_BELOW = 5


def agency_key(name: object) -> str:
    """An agency's name as compared: spacing collapsed, case folded (``""`` for none)."""
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
    """

    user: str
    agency: str | None = None
    signed_in: bool = False

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.user, str) or not self.user.strip():
            problems.append(f"user={self.user!r} is not valid; expected a user's name")
        if self.agency is not None and (
            not isinstance(self.agency, str) or not self.agency.strip()
        ):
            problems.append(
                f"agency={self.agency!r} is not valid; expected None or an agency's name"
            )
        if problems:
            raise InvalidArgumentError("; ".join(problems))

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
            "sites count only in locality figures."
            if self.agency
            else "Restricted sites count only in locality figures; set "
            f"${AGENCY_ENV} to see your own agency's."
        )


def local_viewer(environ: Mapping[str, str] | None = None) -> Viewer:
    """The local single user: the login name, and the agency named by ``$ASSETMAP_AGENCY``.

    Parameters
    ----------
    environ
        The environment to read (default :data:`os.environ`).

    Returns
    -------
    Viewer
        Not signed in; no agency unless ``$ASSETMAP_AGENCY`` is set.
    """
    environ = os.environ if environ is None else environ
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "local user"
    agency = " ".join(str(environ.get(AGENCY_ENV) or "").split())
    return Viewer(user=user or "local user", agency=agency or None, signed_in=False)


def as_viewer(viewer: Viewer | str | None) -> Viewer | None:
    """A :class:`Viewer` from a viewer, an agency's name or ``None`` (nobody's agency).

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


def visible_sites(sites: pd.DataFrame, viewer: Viewer | str | None = None) -> pd.DataFrame:
    """The sites ``viewer`` may see in full (same index labels); see :func:`visible_mask`."""
    return sites[visible_mask(sites, viewer)]


def visible_requests(requests: pd.DataFrame, viewer: Viewer | str | None = None) -> pd.DataFrame:
    """The space requests ``viewer`` may see in full; see :func:`visible_mask`."""
    return requests[visible_mask(requests, viewer)]


def _source_agencies(text: object) -> set[str]:
    whole = agency_key(text)
    if not whole:
        return set()
    return {agency_key(part) for part in str(text).split(",") if agency_key(part)}


def _own_sources(imports: pd.DataFrame, viewer: Viewer | None) -> set[str]:
    key = viewer.key if viewer is not None else ""
    if not key or imports.empty:
        return set()
    own = set()
    for source, agency in zip(imports["source_file"], imports["agency"], strict=True):
        # the whole text first (an agency whose name holds a comma), then each name listed
        if agency_key(agency) == key or _source_agencies(agency) == {key}:
            own.add(str(source))
    return own


def visible_quarantine(
    quarantine: pd.DataFrame, imports: pd.DataFrame, viewer: Viewer | str | None = None
) -> pd.DataFrame:
    """The quarantined rows ``viewer`` may see: those of the viewer's own agency's sources.

    A quarantined row holds raw register values and its sensitivity may be the
    very value that failed, so it cannot be shown to another agency safely. A
    source is the viewer's when the import log names only the viewer's agency
    (compared as :func:`agency_key`); a viewer with no agency sees none.

    Parameters
    ----------
    quarantine
        The store's quarantine table (``source_file`` and the row's values).
    imports
        The store's import log (``source_file``, ``agency``).
    viewer
        Who is looking.

    Returns
    -------
    pandas.DataFrame
        The rows kept, same index labels.
    """
    own = _own_sources(imports, as_viewer(viewer))
    return quarantine[quarantine["source_file"].astype(str).isin(own).to_numpy(dtype=bool)]


def may_remove_source(source_agency: object, viewer: Viewer | None) -> bool:
    """Whether ``viewer`` may remove a source whose import log names ``source_agency``.

    The local single user (not signed in) may remove any source; a signed-in
    user only sources of their own agency alone.
    """
    if viewer is None or not viewer.signed_in:
        return True
    key = viewer.key
    return bool(key) and (
        agency_key(source_agency) == key or _source_agencies(source_agency) == {key}
    )


def suppression(
    sites: np.ndarray, restricted: np.ndarray, below: int = SUPPRESS_BELOW
) -> tuple[np.ndarray, np.ndarray]:
    """Which counts are suppressed, and how each count is shown.

    A count is suppressed when it includes a restricted site and is below
    ``below``: it reads ``"fewer than 5"``.

    Parameters
    ----------
    sites, restricted
        Sites per group, and restricted sites among them.
    below
        The smallest count shown as a number.

    Returns
    -------
    suppressed : numpy.ndarray
        Boolean flags.
    display : numpy.ndarray
        The count as text, or ``"fewer than N"``.
    """
    sites = np.asarray(sites)
    suppressed = (np.asarray(restricted) > 0) & (sites < below)
    display = np.where(
        suppressed, f"fewer than {below}", np.char.mod("%d", sites.astype(np.int64))
    ).astype(object)
    return suppressed, display


def suppress_below_setting(environ: Mapping[str, str] | None = None) -> int:
    """The smallest count shown as a number: ``$ASSETMAP_SUPPRESS_BELOW``, default 5.

    Raises
    ------
    InvalidArgumentError
        If the variable is set to anything but a whole number of at least 1.
    """
    environ = os.environ if environ is None else environ
    text = str(environ.get(SUPPRESS_ENV) or "").strip()
    if not text:
        return SUPPRESS_BELOW
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise InvalidArgumentError(
            f"${SUPPRESS_ENV}={text!r} is not valid; expected a whole number of at least 1"
        )
    return value


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
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".csv"):
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
    pairs: list[tuple[object, object]] = []
    if suffix == ".toml":
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
        pairs = list(table.items())
    else:
        reader = csv.DictReader(io.StringIO(text))
        fields = [f.strip().lower() for f in reader.fieldnames or []]
        if "email" not in fields or "agency" not in fields:
            raise InvalidArgumentError(
                f"agency map {str(path)!r} has the columns {fields}; expected email and agency"
            )
        reader.fieldnames = fields
        pairs = [(row.get("email"), row.get("agency")) for row in reader]
    mapping = {}
    for n, (email, agency) in enumerate(pairs, start=1):
        if not isinstance(email, str) or "@" not in email:
            problems.append(f"entry {n}: {email!r} is not an e-mail address")
        elif not isinstance(agency, str) or not agency.strip():
            problems.append(f"entry {n}: the agency of {email!r} is {agency!r}; expected a name")
        else:
            mapping[email.strip().lower()] = " ".join(agency.split())
    if problems:
        raise InvalidArgumentError(f"agency map {str(path)!r}: " + "; ".join(problems))
    return mapping


def agency_from_claims(
    claims: Mapping[str, object],
    *,
    claim: str | None = None,
    mapping: Mapping[str, str] | None = None,
) -> str | None:
    """A signed-in user's agency: the ``claim`` of their identity token, else their
    e-mail address looked up in ``mapping`` (see :func:`load_agency_map`).

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
