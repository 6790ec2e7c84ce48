"""The argument checks shared by the engine, and one collector for their problems.

Every public entry point checks all of its arguments before it does any work
and reports *every* problem in one :class:`~assetmap.errors.InvalidArgumentError`,
so that an estates officer fixes a call once rather than once per argument
(after osmnx's ``_validate.py``). The checks here return a message, or ``None``
when the value is good; :class:`Problems` gathers the messages and raises once.

The checks that only one module needs (a print map's paper sizes, a
classification's schemes) stay beside that module's code, but build their
"expected one of" messages with :func:`one_of`.

Examples
--------
>>> from assetmap._validate import Problems, check_positive, one_of
>>> problems = Problems()
>>> problems.add(check_positive("distance", -1))
>>> problems.add(one_of("per", "acre", ("total", "km2")))
>>> problems.add(None)  # a check that passed
>>> len(problems)
2
>>> problems.raise_if_any()
Traceback (most recent call last):
...
assetmap.errors.InvalidArgumentError: distance=-1 is not valid; expected a positive number \
of metres; per='acre' is not valid; expected one of: total, km2
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Real

import geopandas as gpd

from .errors import InvalidArgumentError

#: British National Grid: every distance and area inside assetmap. Defined here, at the
#: bottom of the engine, so that these checks can use it; :mod:`assetmap.schema` gives it
#: out with the rest of the definitions.
CRS_BNG = "EPSG:27700"

__all__ = [
    "Problems",
    "check_frame",
    "check_positive",
    "check_sites",
    "one_of",
    "raise_if_any",
    "validate_choice",
]


class Problems(list):
    """Every problem found with a call's arguments, raised together once.

    A list of messages (so ``append`` and ``extend`` work as on a list) that
    ignores ``None`` in :meth:`add` -- the result of a check that passed -- and
    raises one :class:`~assetmap.errors.InvalidArgumentError` listing them all,
    joined by ``"; "``, from :meth:`raise_if_any` or on leaving a ``with`` block.

    Examples
    --------
    >>> with Problems() as problems:
    ...     problems.add(check_positive("distance", 400))
    >>> list(problems)
    []
    """

    def add(self, problem: str | None) -> None:
        """Note ``problem`` unless it is ``None`` (a check that passed)."""
        if problem is not None:
            self.append(problem)

    def check(self, ok: bool, problem: str) -> bool:
        """Note ``problem`` unless ``ok``; return ``ok``."""
        if not ok:
            self.append(problem)
        return ok

    def raise_if_any(self) -> None:
        """Raise one error listing every problem noted, if there are any.

        Raises
        ------
        InvalidArgumentError
            The problems, in the order noted, joined by ``"; "``.
        """
        raise_if_any(self)

    def __enter__(self) -> Problems:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:  # an error already on its way is not masked
            self.raise_if_any()


def raise_if_any(problems: Iterable[str]) -> None:
    """Raise one :class:`~assetmap.errors.InvalidArgumentError` listing ``problems``, if any.

    Parameters
    ----------
    problems
        Messages, joined by ``"; "`` in the error.

    Raises
    ------
    InvalidArgumentError
        When ``problems`` is not empty.
    """
    problems = list(problems)
    if problems:
        raise InvalidArgumentError("; ".join(problems))


def one_of(name: str, value: object, choices: Iterable[object], *, what: str = "valid") -> str:
    """Return the message for a value that is not one of ``choices``.

    Parameters
    ----------
    name
        The argument's name, as the caller wrote it.
    value
        The value given (shown with ``repr``).
    choices
        The valid values, listed in order (shown with ``str``).
    what
        What the value should have been: ``"valid"`` or, for example, ``"a paper size"``.

    Returns
    -------
    str
        ``"name=value is not <what>; expected one of: a, b, c"``.

    Examples
    --------
    >>> one_of("paper", "A9", ("A4", "A3"), what="a paper size")
    "paper='A9' is not a paper size; expected one of: A4, A3"
    """
    listing = ", ".join(str(c) for c in choices)
    return f"{name}={value!r} is not {what}; expected one of: {listing}"


def validate_choice(name: str, value: str, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise a clear error.

    Parameters
    ----------
    name
        The argument's name, for the message.
    value
        The value given.
    choices
        The valid values.

    Returns
    -------
    str
        ``value``, unchanged.

    Raises
    ------
    InvalidArgumentError
        Naming the argument, the value and every valid choice.
    """
    choices = tuple(choices)
    if value not in choices:
        raise InvalidArgumentError(one_of(name, value, choices))
    return value


def check_positive(name: str, value, what: str = "a positive number of metres") -> str | None:
    """Return a problem message if ``value`` is not a positive finite number, else ``None``."""
    if (
        isinstance(value, bool)
        or not isinstance(value, Real)
        or not math.isfinite(value)
        or value <= 0
    ):
        return f"{name}={value!r} is not valid; expected {what}"
    return None


def _check_columns(
    name: str, frame: gpd.GeoDataFrame, needed: Iterable[str], expected: str, problems: list[str]
) -> None:
    """Note in ``problems`` the columns of ``needed`` that ``frame`` lacks, if any."""
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        problems.append(f"{name} lacks the column(s) {', '.join(missing)}; expected {expected}")


def check_frame(name: str, frame, required: tuple[str, ...]) -> tuple[list[str], object]:
    """Check a GeoDataFrame argument; return the problems and the frame in EPSG:27700.

    A frame without a CRS and without any location is taken to be in EPSG:27700;
    a frame in another CRS is reprojected.
    """
    if not isinstance(frame, gpd.GeoDataFrame):
        return [
            f"{name} is a {type(frame).__name__}; expected a GeoDataFrame "
            f"with the canonical columns"
        ], frame
    problems: list[str] = []
    _check_columns(name, frame, required, "the canonical columns (see assetmap.schema)", problems)
    if frame.crs is None:
        if len(frame) and not frame.geometry.isna().all():
            problems.append(f"{name} has no CRS; expected {CRS_BNG} (British National Grid)")
        else:
            frame = frame.set_crs(CRS_BNG)
    elif not frame.crs.equals(CRS_BNG) and frame.crs.to_epsg() != 27700:
        frame = frame.to_crs(CRS_BNG)
    return problems, frame


def check_sites(sites: object, needed: Iterable[str], problems: list[str]) -> None:
    """Note in ``problems`` if ``sites`` is not a GeoDataFrame with a CRS and the columns needed.

    Unlike :func:`check_frame` this does not reproject: the caller does, after
    every argument has been checked.
    """
    if not isinstance(sites, gpd.GeoDataFrame):
        problems.append(f"sites is a {type(sites).__name__}; expected a geopandas GeoDataFrame")
        return
    expected = "the canonical site columns of assetmap.schema.SITE_COLUMNS"
    _check_columns("sites", sites, needed, expected, problems)
    if sites.crs is None:
        problems.append(
            "sites has no CRS (sites.crs is None); expected EPSG:27700 (British National Grid) "
            "or another CRS that can be reprojected to it"
        )
