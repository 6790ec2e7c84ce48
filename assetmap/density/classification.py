"""Classes for a choropleth: bin values with mapclassify and label the bins for a legend.

:func:`classify` checks the scheme and its arguments, lowers ``k`` with a plain-English
message where the values cannot fill it, and hands the scheme to
``mapclassify.classify``; :class:`Classification` holds each value's class and the
legend.
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._validate import one_of, raise_if_any

__all__ = ["SCHEMES", "Classification", "classify"]

#: The classification schemes for choropleths, in the order the app offers them:
#: ``quantiles`` (equal counts), ``natural_breaks`` (Jenks, by seeded k-means),
#: ``equal_interval`` (equal widths) and ``user_defined`` (your ``bins``). Each name is
#: one that ``mapclassify.classify`` takes as it is.
SCHEMES: tuple[str, ...] = ("quantiles", "natural_breaks", "equal_interval", "user_defined")

#: NaturalBreaks runs k-means from random starts: seed it, under a lock, for repeatable maps.
_SEED_LOCK = threading.Lock()
_NATURAL_BREAKS_SEED = 20_240_501
#: The k-means starts of ``natural_breaks``: mapclassify.NaturalBreaks' own default (10),
#: not mapclassify.classify's (100), so the class breaks of every map stay as they were.
_NATURAL_BREAKS_STARTS = 10


@dataclass(frozen=True)
class Classification:
    """Classes of values for a choropleth.

    Attributes
    ----------
    classes
        Aligned to the values: the class number, 0 (lowest) to ``k - 1``,
        ``<NA>`` where the value is missing (nullable ``Int64``).
    labels
        Aligned to the values: the legend text of each value's class, or
        ``"no data"``.
    bins
        The upper bound of each class; class ``i`` holds values above
        ``bins[i-1]`` up to and including ``bins[i]``.
    legend
        One label per class, such as ``"0.5 – 1.2"``.
    counts
        The number of values in each class.
    scheme
        The scheme used (one of :data:`SCHEMES`).
    k
        The number of classes made (may be lower than asked for).
    message
        Why ``k`` is lower than asked for, or ``None``.
    """

    classes: pd.Series
    labels: pd.Series
    bins: tuple[float, ...]
    legend: tuple[str, ...]
    counts: tuple[int, ...]
    scheme: str
    k: int
    message: str | None = None


def _decimals(values: np.ndarray) -> int:
    """Return the decimal places of legend labels: none for whole numbers, more for small ranges."""
    finite = values[np.isfinite(values)]
    if finite.size == 0 or np.all(finite == np.round(finite)):
        return 0
    largest = float(np.max(np.abs(finite)))
    if largest == 0:
        return 0
    return int(min(4, max(0, 2 - math.floor(math.log10(largest)))))


def _edges(bins: Sequence[float], problems: list[str]) -> np.ndarray | None:
    """Return user-defined bins as increasing float64 bounds, or add a problem."""
    try:
        edges = np.asarray(list(bins), dtype="float64")
    except (TypeError, ValueError):
        edges = None
    if (
        edges is None
        or edges.ndim != 1
        or edges.size == 0
        or not np.isfinite(edges).all()
        or (np.diff(edges) <= 0).any()
    ):
        problems.append(
            f"bins={bins!r} is not valid; expected finite numbers in strictly increasing "
            "order, such as bins=[1, 5, 10]"
        )
        return None
    return edges


def _check_classify_args(
    scheme: object, k: object, bins: Sequence[float] | None
) -> tuple[list[str], np.ndarray | None]:
    """Return every problem with the arguments of :func:`classify`, and the user's bins."""
    problems: list[str] = []
    if scheme not in SCHEMES:
        problems.append(one_of("scheme", scheme, SCHEMES, what="a classification scheme"))
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        problems.append(f"k={k!r} is not valid; expected a whole number of classes, 1 or more")
    edges = None
    if scheme == "user_defined":
        if bins is None:
            problems.append(
                "bins=None but scheme='user_defined' needs them; expected the upper bounds of "
                "the classes in increasing order, such as bins=[1, 5, 10]"
            )
        else:
            edges = _edges(bins, problems)
    elif bins is not None and scheme in SCHEMES:
        problems.append(
            f"bins={bins!r} was given with scheme={scheme!r}; expected bins only with "
            "scheme='user_defined'"
        )
    return problems, edges


def _numbers(values: object, problems: list[str]) -> tuple[pd.Series, np.ndarray]:
    """Return the values as a Series (keeping an index) and as float64, or add a problem."""
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    try:
        numbers = pd.to_numeric(series, errors="raise").to_numpy(dtype="float64", na_value=np.nan)
    except (TypeError, ValueError):
        problems.append(
            f"values has entries that are not numbers (dtype {series.dtype}); expected numbers"
        )
        numbers = np.empty(0)
    return series, numbers


def _mapclassify(y: np.ndarray, scheme: str, k: int, edges: np.ndarray | None = None):
    """Return mapclassify's classifier of ``y`` (natural breaks seeded, under a lock)."""
    import mapclassify

    if scheme != "natural_breaks":
        bins = None if edges is None else list(edges)
        return mapclassify.classify(y, scheme, k=k, bins=bins)
    with _SEED_LOCK:
        state = np.random.get_state()
        np.random.seed(_NATURAL_BREAKS_SEED)
        try:
            return mapclassify.classify(y, scheme, k=k, initial=_NATURAL_BREAKS_STARTS)
        finally:
            np.random.set_state(state)


def _user_defined(y: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray, str | None]:
    """Return the upper bounds, each value's class and any message, for the user's bins."""
    classifier = _mapclassify(y, "user_defined", int(edges.size), edges)
    upper = np.asarray(classifier.bins, dtype="float64")
    message = None
    if upper.size > edges.size:
        message = (
            f"a class up to the largest value ({upper[-1]:,g}) was added above the last "
            f"of bins ({edges[-1]:,g})"
        )
    return upper, np.asarray(classifier.yb), message


def _fitted(
    y: np.ndarray, distinct: np.ndarray, scheme: str, asked: int
) -> tuple[np.ndarray, np.ndarray, str | None]:
    """Return the upper bounds, each value's class and why ``k`` was lowered, if it was."""
    if distinct.size == 1:
        message = None
        if asked > 1:
            message = f"k={asked} was lowered to 1: the values have only 1 distinct value"
        return distinct, np.zeros(y.size, dtype=np.int64), message
    k_used = min(asked, int(distinct.size))
    message = None
    if k_used < asked:
        message = (
            f"k={asked} was lowered to {k_used}: the values have only {distinct.size} "
            "distinct values"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a lowered k is reported in message instead
        classifier = _mapclassify(y, scheme, k_used)
    upper = np.asarray(classifier.bins, dtype="float64")
    if upper.size < k_used:
        message = (
            f"k={asked} was lowered to {upper.size}: with scheme={scheme!r} the values "
            f"({distinct.size} distinct) give only {upper.size} different class breaks"
        )
    return upper, np.asarray(classifier.yb), message


def _no_data(series: pd.Series, scheme: str) -> Classification:
    """Return the classification of values that hold no number at all."""
    classes = pd.Series(pd.array(np.full(len(series), pd.NA), dtype="Int64"), index=series.index)
    labels = pd.Series("no data", index=series.index, dtype="str")
    return Classification(classes, labels, (), (), (), scheme, 0, "there are no values to classify")


def classify(
    values: pd.Series | Sequence[float] | np.ndarray,
    scheme: str = "quantiles",
    k: int = 5,
    bins: Sequence[float] | None = None,
) -> Classification:
    """Classify values for a choropleth with mapclassify.

    Parameters
    ----------
    values
        Numbers (a Series keeps its index); NaN and infinite values are left
        unclassified.
    scheme
        One of :data:`SCHEMES`: ``"quantiles"`` (equal counts),
        ``"natural_breaks"`` (Jenks, by seeded k-means), ``"equal_interval"``
        (equal widths) or ``"user_defined"`` (your ``bins``).
    k
        The number of classes wanted. It is lowered, with a ``message``, when
        the values have fewer distinct values than ``k`` or when quantile
        breaks coincide. Ignored by ``"user_defined"``.
    bins
        For ``"user_defined"`` only: increasing upper bounds. A class up to
        the largest value is added when the last bound is below it.

    Returns
    -------
    Classification
        Each value's class and label, and the bins, legend and counts.

    Raises
    ------
    InvalidArgumentError
        Listing every problem: an unknown scheme (the message lists the valid
        names), ``k`` not a whole number of 1 or more, ``bins`` missing or not
        increasing for ``"user_defined"``, ``bins`` given with another scheme,
        or values that are not numbers.

    Examples
    --------
    >>> result = classify([1, 2, 3, 4, 10, 20], scheme="equal_interval", k=2)
    >>> result.bins
    (10.5, 20.0)
    >>> result.counts
    (5, 1)
    """
    problems, edges = _check_classify_args(scheme, k, bins)
    series, y_all = _numbers(values, problems)
    raise_if_any(problems)

    ok = np.isfinite(y_all)
    y = y_all[ok]
    distinct = np.unique(y)
    if distinct.size == 0:
        return _no_data(series, scheme)
    if edges is not None:  # scheme="user_defined", whose bins were checked
        upper, yb, message = _user_defined(y, edges)
    else:
        upper, yb, message = _fitted(y, distinct, scheme, int(k))
    low = float(y.min())
    places = _decimals(np.concatenate([upper, [low]]))
    lows = np.concatenate([[low], upper[:-1]])
    legend = tuple(
        f"{lo:,.{places}f} – {hi:,.{places}f}" for lo, hi in zip(lows, upper, strict=True)
    )
    class_all = np.full(y_all.size, -1, dtype=np.int64)
    class_all[ok] = yb
    classes = pd.Series(
        pd.array(np.where(ok, class_all, 0), dtype="Int64"), index=series.index
    ).mask(~ok)
    text = np.asarray(legend, dtype=object)[np.clip(class_all, 0, None)]
    labels = pd.Series(np.where(ok, text, "no data"), index=series.index, dtype="str")
    return Classification(
        classes=classes,
        labels=labels,
        bins=tuple(float(b) for b in upper),
        legend=legend,
        counts=tuple(int(c) for c in np.bincount(yb, minlength=upper.size)),
        scheme=scheme,
        k=int(upper.size),
        message=message,
    )
