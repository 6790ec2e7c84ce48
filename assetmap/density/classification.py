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
#: How the note on a lowered number of classes names each fitted scheme.
_SCHEME_WORDS = {
    "quantiles": "classes of equal counts (quantiles)",
    "natural_breaks": "natural breaks",
    "equal_interval": "classes of equal width",
}


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
        One label per class, such as ``"0.5 – 1.2"``; a class of one value is
        labelled with that value alone (``"3"``), and a class of zeros with
        ``zero_label`` (``"No sites"`` for the number of sites).
    counts
        The number of values in each class.
    scheme
        The scheme used (one of :data:`SCHEMES`).
    k
        The number of classes made (may be lower than asked for).
    message
        Why ``k`` is lower than asked for, or another note on the classes, in
        plain English; or ``None``.
    asked
        The number of classes asked for (``k`` of :func:`classify`; the
        number of bounds given for ``"user_defined"``).
    """

    classes: pd.Series
    labels: pd.Series
    bins: tuple[float, ...]
    legend: tuple[str, ...]
    counts: tuple[int, ...]
    scheme: str
    k: int
    message: str | None = None
    asked: int = 0


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
            f"A class up to the largest value ({upper[-1]:,g}) was added above your "
            f"highest class limit ({edges[-1]:,g})."
        )
    return upper, np.asarray(classifier.yb), message


def _fitted(
    y: np.ndarray, distinct: np.ndarray, scheme: str, asked: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return the upper bounds and each value's class, in at most ``asked`` classes."""
    if distinct.size == 1 or asked == 1:
        return distinct[-1:], np.zeros(y.size, dtype=np.int64)
    k_used = min(asked, int(distinct.size))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a lowered k is reported in the message instead
        classifier = _mapclassify(y, scheme, k_used)
    return np.asarray(classifier.bins, dtype="float64"), np.asarray(classifier.yb)


def _zero_class(
    y: np.ndarray, distinct: np.ndarray, scheme: str, asked: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return bounds and classes with the zeros alone in class 0, the rest above them."""
    positive = y > 0
    upper, yb = _fitted(y[positive], distinct[1:], scheme, asked - 1)
    classes = np.zeros(y.size, dtype=np.int64)
    classes[positive] = yb + 1
    return np.concatenate([[0.0], upper]), classes


def _lowered(asked: int, made: int, levels: int, scheme: str) -> str | None:
    """Return, in plain English, why fewer classes were made than asked for, or None."""
    if made >= asked:
        return None
    if levels == 1:
        return f"Only 1 class is shown, not {asked}: every value is the same."
    if levels <= made:
        return (
            f"Only {made} classes are shown, not {asked}: the values have only {levels} "
            "different levels."
        )
    return (
        f"Only {made} classes are shown, not {asked}: too many values are the same for "
        f"{_SCHEME_WORDS[scheme]} to make {asked} different classes."
    )


def _label(lo: float, hi: float, places: int, zero_label: str) -> str:
    """Return one class's legend text: a range, or one value where the range is one value."""
    low, high = f"{lo:,.{places}f}", f"{hi:,.{places}f}"
    if lo == hi == 0:
        return zero_label
    return high if low == high else f"{low} – {high}"


def _bounds(y: np.ndarray, yb: np.ndarray, upper: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the lowest and highest value each class's label shows.

    Whole numbers show the whole numbers each class can hold ("1 – 3", "4 – 6");
    other values the lowest value in the class up to its upper bound, so a
    class never starts at the value that ends the class below it. An empty
    class starts at the bound below it.
    """
    lows = np.concatenate([[y.min()], upper[:-1]])
    lowest = np.full(upper.size, np.inf)
    np.minimum.at(lowest, yb, y)
    held = np.isfinite(lowest)
    if np.all(y == np.round(y)):
        whole = np.floor(lows) + (np.arange(upper.size) > 0)
        if not np.any(whole > np.floor(upper)):
            return whole, np.floor(upper)
    return np.where(held, lowest, lows), upper


def _reads_clearly(lows: np.ndarray, highs: np.ndarray, places: int) -> bool:
    """Return whether, at ``places`` decimals, different numbers of the legend read differently.

    A range's two ends ("0.0 – 0.0"), and a class's start and the end of the class
    below it ("3.2 – 4.5", "4.5 – 17.3"), must not read alike where they differ.
    """
    ends = [(lo, hi) for lo, hi in zip(lows, highs, strict=True)]
    ends += [(hi, lo) for hi, lo in zip(highs[:-1], lows[1:], strict=True)]
    return all(a == b or f"{a:,.{places}f}" != f"{b:,.{places}f}" for a, b in ends)


def _legend(lows: np.ndarray, highs: np.ndarray, zero_label: str) -> tuple[str, ...]:
    """Return the legend: with enough decimals (up to 4 more) that it reads clearly."""
    places = _decimals(np.concatenate([highs, lows]))
    for extra in range(5):
        legend = tuple(
            _label(lo, hi, places + extra, zero_label) for lo, hi in zip(lows, highs, strict=True)
        )
        if _reads_clearly(lows, highs, places + extra) and len(set(legend)) == len(legend):
            break
    return legend


def _no_data(series: pd.Series, scheme: str) -> Classification:
    """Return the classification of values that hold no number at all."""
    classes = pd.Series(pd.array(np.full(len(series), pd.NA), dtype="Int64"), index=series.index)
    labels = pd.Series("no data", index=series.index, dtype="str")
    message = "There are no values to put in classes."
    return Classification(classes, labels, (), (), (), scheme, 0, message)


def classify(
    values: pd.Series | Sequence[float] | np.ndarray,
    scheme: str = "quantiles",
    k: int = 5,
    bins: Sequence[float] | None = None,
    *,
    zero_label: str = "0",
) -> Classification:
    """Classify values for a choropleth with mapclassify.

    Where the values hold zeros and values above nought (most LSOAs of a
    district hold no site), the zeros are a class of their own, labelled
    ``zero_label``, and the values above nought fill the other ``k - 1``
    classes. No label shows a range of one value ("0.0 – 0.0").

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
        The number of classes wanted. It is lowered, with a plain-English
        ``message`` ("Only 3 classes are shown, not 5: the values have only 3
        different levels."), when the values have fewer different values than
        ``k`` or when the scheme's class breaks coincide. Ignored by
        ``"user_defined"``.
    bins
        For ``"user_defined"`` only: increasing upper bounds. A class up to
        the largest value is added when the last bound is below it.
    zero_label
        The legend text of a class that holds only zeros, such as
        ``"No sites"``.

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
    >>> result.legend
    ('1 – 10', '11 – 20')
    >>> classify([0, 0, 0, 2, 5, 9], k=3, zero_label="No sites").legend
    ('No sites', '1 – 5', '6 – 9')
    """
    problems, edges = _check_classify_args(scheme, k, bins)
    series, y_all = _numbers(values, problems)
    raise_if_any(problems)

    ok = np.isfinite(y_all)
    y = y_all[ok]
    distinct = np.unique(y)
    if distinct.size == 0:
        return _no_data(series, scheme)
    zeros_alone = edges is None and k > 1 and distinct[0] == 0 and distinct.size > 1
    if edges is not None:  # scheme="user_defined", whose bins were checked
        upper, yb, message = _user_defined(y, edges)
        asked = int(edges.size)
    elif zeros_alone:
        upper, yb = _zero_class(y, distinct, scheme, int(k))
        message, asked = _lowered(int(k), int(upper.size), int(distinct.size), scheme), int(k)
    else:
        upper, yb = _fitted(y, distinct, scheme, int(k))
        message, asked = _lowered(int(k), int(upper.size), int(distinct.size), scheme), int(k)
    lows, highs = _bounds(y, yb, upper)
    legend = _legend(lows, highs, zero_label)
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
        asked=asked,
    )
