"""The documented saving formulas and default costs: the one place for costs.

Every money figure assetmap shows comes from a function here, so that a
change of rate or formula is made once.

Default cost
------------
Where a site's register gives no running cost, assetmap estimates one from
its floor area at :data:`DEFAULT_COST_PER_SQFT`: the Government Property
Agency's average annual cost of office space, £558 per m² a year
(:data:`GPA_OFFICE_COST_PER_SQM`), converted with
:data:`assetmap.schema.SQFT_PER_SQM` to about £51.84 per sq ft a year. Every
figure that rests on an estimate says so.

Formulas
--------
Running cost of a site
    the register's ``running_cost_gbp`` when it is a positive number
    (``"reported"``); else ``floor_area_sqft × cost_per_sqft`` (``"estimated"``);
    else unknown (``"unknown"``, counted as £0 in totals, which say so).
Co-location saving of a cluster
    ``released_running_cost × (1 − new_space / released_floor_area)``: every
    member but the hub moves into the hub, which would need ``new_space`` more
    than its spare space to take them; the floor area that leaves the estate
    (released floor area less that new space) is priced at the vacated sites'
    own average running cost per sq ft. Never negative; zero when the hub has
    no spare space and the others none to give up.
Matching saving of a plan
    ``matched_sqft × cost_per_sqft``: each requester avoids renting the space it
    asked for on the open market, priced at the default cost.
One-off moving cost of a scenario
    ``occupied_sqft_moved × moving_cost_per_sqft``: the occupied space of each
    site closed into another, priced at :data:`DEFAULT_MOVING_COST_PER_SQFT`
    unless the user gives their own figure (:func:`moving_cost`).
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
import pandas as pd

from .errors import InvalidArgumentError
from .schema import SQFT_PER_SQM

__all__ = [
    "COST_BASES",
    "COST_SOURCE",
    "DEFAULT_COST_PER_SQFT",
    "DEFAULT_MOVING_COST_PER_SQFT",
    "GPA_OFFICE_COST_PER_SQM",
    "MOVING_COST_SOURCE",
    "avoided_cost",
    "check_cost_per_sqft",
    "column_numbers",
    "consolidation_saving",
    "cost_per_sqft_problem",
    "moving_cost",
    "moving_cost_per_sqft_problem",
    "site_running_costs",
]

#: Government Property Agency average annual cost of office space, £ per m².
GPA_OFFICE_COST_PER_SQM = 558.0
#: The same in £ per sq ft a year (about £51.84): the default cost of space.
DEFAULT_COST_PER_SQFT = GPA_OFFICE_COST_PER_SQM / SQFT_PER_SQM
#: Where the default cost comes from, for reports.
COST_SOURCE = (
    f"Government Property Agency office average, £{GPA_OFFICE_COST_PER_SQM:,.0f} per m² a year "
    f"(£{DEFAULT_COST_PER_SQFT:,.2f} per sq ft)"
)
#: How a site's running cost was found.
COST_BASES = ("reported", "estimated", "unknown")

#: The default one-off cost of moving occupied space, £ per sq ft moved: a planning
#: figure for comparing scenarios, not a quote. At the Government Property Unit's space
#: standard of 8 m² (about 86 sq ft) of office per full-time equivalent (the target the
#: State of the Estate reports measure departments against), £10 per sq ft is about
#: £860 per person moved: the removal itself (UK removal firms' guides put it at £150 to
#: £300 a person), IT and telephone reconnection, and light reconfiguration of the
#: receiving space (desks, meeting rooms, signage). It leaves out a full Category B
#: fit-out, dual running, dilapidations and staff costs, which vary too much by site to
#: default. The user gives their own figure as ``moving_cost_per_sqft`` (the Scenarios
#: page and :func:`assetmap.scenarios.evaluate`).
DEFAULT_MOVING_COST_PER_SQFT = 10.0
#: Where the default moving cost comes from, for reports.
MOVING_COST_SOURCE = (
    f"planning default of £{DEFAULT_MOVING_COST_PER_SQFT:,.0f} per sq ft of occupied space "
    "moved (about £860 a person at 8 m² a person: removal, IT and light reconfiguration; "
    "no full fit-out)"
)


def cost_per_sqft_problem(cost_per_sqft: object) -> str | None:
    """Return what is wrong with ``cost_per_sqft``, or ``None`` if it is a positive finite number.

    The form of :func:`check_cost_per_sqft` for functions that collect every
    problem and raise once (:func:`assetmap._validate.raise_if_any`): the
    message names the value given and the cost expected, in £ per sq ft a year.
    """
    if (
        isinstance(cost_per_sqft, bool)
        or not isinstance(cost_per_sqft, Real)
        or not math.isfinite(cost_per_sqft)
        or cost_per_sqft <= 0
    ):
        return (
            f"cost_per_sqft={cost_per_sqft!r} is not valid; expected a positive number of "
            "pounds per square foot a year"
        )
    return None


def check_cost_per_sqft(cost_per_sqft: float) -> float:
    """Return ``cost_per_sqft`` as a float if it is a positive finite number.

    Parameters
    ----------
    cost_per_sqft
        A cost of space, £ per sq ft a year.

    Returns
    -------
    float

    Raises
    ------
    InvalidArgumentError
        Naming the value and what was expected.
    """
    if problem := cost_per_sqft_problem(cost_per_sqft):
        raise InvalidArgumentError(problem)
    return float(cost_per_sqft)


def column_numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Return a column of figures as floats: NaN where missing, not a number, or no such column.

    ``frame`` is a table of sites or requests and ``column`` one of its figures,
    such as ``"floor_area_sqft"``; the float64 array is aligned to ``frame``.
    """
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def site_running_costs(
    sites: pd.DataFrame, *, cost_per_sqft: float = DEFAULT_COST_PER_SQFT
) -> pd.DataFrame:
    """Each site's annual running cost, reported or estimated from its floor area.

    Parameters
    ----------
    sites
        Canonical sites (``running_cost_gbp`` and ``floor_area_sqft`` are used).
    cost_per_sqft
        The default cost of space, £ per sq ft a year, for sites whose register
        gives no running cost.

    Returns
    -------
    pandas.DataFrame
        Aligned to ``sites``: ``running_cost_gbp`` (float, NaN where unknown) and
        ``cost_basis`` (one of :data:`COST_BASES`).
    """
    cost_per_sqft = check_cost_per_sqft(cost_per_sqft)
    reported = column_numbers(sites, "running_cost_gbp")
    area = column_numbers(sites, "floor_area_sqft")
    has_cost = np.isfinite(reported) & (reported > 0)
    has_area = np.isfinite(area) & (area > 0)
    cost = np.where(has_cost, reported, np.where(has_area, area * cost_per_sqft, np.nan))
    code = np.where(has_cost, 0, np.where(has_area, 1, 2))
    basis = np.array(COST_BASES, dtype=object)[code]
    return pd.DataFrame(
        {
            "running_cost_gbp": cost,
            "cost_basis": pd.array(basis, dtype="str"),
        },
        index=sites.index,
    )


def consolidation_saving(
    released_running_cost_gbp: float | np.ndarray,
    released_floor_area_sqft: float | np.ndarray,
    new_space_sqft: float | np.ndarray,
) -> float | np.ndarray:
    """Return the annual saving of moving a cluster's other sites into its hub.

    ``saving = released_running_cost_gbp × (1 − new_space_sqft / released_floor_area_sqft)``:
    the floor area that leaves the estate (the vacated sites' floor area less
    the new space the hub would need), priced at the vacated sites' own average
    running cost per sq ft. Zero where no released floor area is known.

    Parameters
    ----------
    released_running_cost_gbp
        The running costs of the sites that would be vacated, £ a year.
    released_floor_area_sqft
        Their floor area, sq ft.
    new_space_sqft
        The extra space the hub would need to take them, sq ft (at most their
        floor area).

    Returns
    -------
    float or numpy.ndarray
        £ a year, never negative.
    """
    cost = np.asarray(released_running_cost_gbp, dtype="float64")
    area = np.asarray(released_floor_area_sqft, dtype="float64")
    new = np.asarray(new_space_sqft, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(area > 0, np.clip(1.0 - new / area, 0.0, 1.0), 0.0)
    saving = np.where(np.isfinite(cost), cost, 0.0) * share
    return saving if saving.ndim else float(saving)


def avoided_cost(
    matched_sqft: float | np.ndarray, *, cost_per_sqft: float = DEFAULT_COST_PER_SQFT
) -> float | np.ndarray:
    """Return the annual cost requesters avoid by taking surplus public space.

    ``saving = matched_sqft × cost_per_sqft``: the rent of the same space on the
    open market, at the default cost. Always an estimate.

    Parameters
    ----------
    matched_sqft
        Space matched, sq ft.
    cost_per_sqft
        The cost of new space, £ per sq ft a year.

    Returns
    -------
    float or numpy.ndarray
        £ a year.
    """
    cost_per_sqft = check_cost_per_sqft(cost_per_sqft)
    saving = np.asarray(matched_sqft, dtype="float64") * cost_per_sqft
    return saving if saving.ndim else float(saving)


def moving_cost_per_sqft_problem(moving_cost_per_sqft: object) -> str | None:
    """Return what is wrong with ``moving_cost_per_sqft``, or ``None`` if it is a number ≥ 0.

    Zero is allowed (a move the user knows costs nothing to make); the message
    names the value given and the cost expected, in £ per sq ft moved.
    """
    if (
        isinstance(moving_cost_per_sqft, bool)
        or not isinstance(moving_cost_per_sqft, Real)
        or not math.isfinite(moving_cost_per_sqft)
        or moving_cost_per_sqft < 0
    ):
        return (
            f"moving_cost_per_sqft={moving_cost_per_sqft!r} is not valid; expected a number of "
            "pounds per square foot moved, 0 or more"
        )
    return None


def moving_cost(
    moved_sqft: float | np.ndarray,
    *,
    moving_cost_per_sqft: float = DEFAULT_MOVING_COST_PER_SQFT,
) -> float | np.ndarray:
    """Return the one-off cost of moving occupied space into another site.

    ``cost = moved_sqft × moving_cost_per_sqft`` (see
    :data:`DEFAULT_MOVING_COST_PER_SQFT` for what the default covers). Always an estimate.

    Parameters
    ----------
    moved_sqft
        Occupied space moved, sq ft (a missing figure counts as 0).
    moving_cost_per_sqft
        The cost of moving it, £ per sq ft, 0 or more.

    Returns
    -------
    float or numpy.ndarray
        £, once.

    Raises
    ------
    InvalidArgumentError
        If ``moving_cost_per_sqft`` is not a number of 0 or more.

    Examples
    --------
    >>> moving_cost(40_000)
    400000.0
    """
    if problem := moving_cost_per_sqft_problem(moving_cost_per_sqft):
        raise InvalidArgumentError(problem)
    moved = np.asarray(moved_sqft, dtype="float64")
    cost = np.where(np.isfinite(moved), moved, 0.0) * float(moving_cost_per_sqft)
    return cost if cost.ndim else float(cost)
