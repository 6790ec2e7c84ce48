"""Place names: which places a name or code matches, and one clear answer when several do.

:func:`assetmap.places.resolve_place` asks this module what a text names. Names and
codes are compared without regard to case or spacing (:func:`name_key`), among the
saved places of a store, the bundled Kent and Medway, the national levels of England
and Wales (:mod:`assetmap.national`) and the areas of the boundary sets a store keeps.

The rules (:func:`choose`):

- a text that is some match's code is that code: matches by name only are dropped;
- matches that are the very same area are one place: the same ONS codes (a letter
  and eight digits, unique across the country, so a boundary set's area coded
  ``E08000009`` is the district Trafford), or the same codes of the same boundary
  set (other codes mean something only within their set); the first in the search
  order (saved places, Kent and Medway, the national levels top to bottom, the
  boundary sets) is returned, so a national area is never replaced by a kept one;
- several different places stop with one :class:`~assetmap.errors.InvalidArgumentError`
  listing each with its kind and code, and how to say which: the code, or the kind
  first (``"district: Trafford"``, :func:`split_kind`).

No two national areas share a name (checked in the tests on the real boundaries:
"Kent and Medway" is the bundled outline, the ICB is "NHS Kent and Medway Integrated
Care Board"); several places come from what stores keep.
"""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import national
from .errors import InvalidArgumentError

if TYPE_CHECKING:
    from .store.interface import EstateStore

__all__ = [
    "BUNDLED_CODE",
    "BUNDLED_LEVEL",
    "BUNDLED_NAME",
    "SAVED_LEVEL",
    "SET_PREFIX",
    "Match",
    "available_levels",
    "choose",
    "find_matches",
    "name_key",
    "national_index",
    "not_found",
    "set_name",
    "split_kind",
]

#: The bundled place: Kent and Medway, its level and code.
BUNDLED_NAME = "Kent and Medway"
BUNDLED_LEVEL = "county"
BUNDLED_CODE = "KENT_MEDWAY"
#: The level of saved places (a ``level`` of :func:`assetmap.places.resolve_place`).
SAVED_LEVEL = "saved place"
#: A boundary set kept in the store is the level ``"boundary set <name>"``.
SET_PREFIX = "boundary set "

#: An ONS code: one letter and eight digits (E08000009), the same area wherever it is used.
_ONS_CODE = re.compile(r"^[A-Z][0-9]{8}$")
#: What each national level's places are called in a list of matches.
_KINDS = {
    "country": "country",
    "icb": "integrated care board",
    "nhs_area": "sub-ICB location",
    "district": "district",
    "lsoa": "LSOA",
}
_EXPECTED = (
    "expected a district, an integrated care board, a sub-ICB location or Welsh health "
    "board, a country or an LSOA of England and Wales (a name or an ONS code, such as "
    "'Trafford' or 'E08000009'), 'Kent and Medway', a full postcode, a place saved in the "
    "store or an area of one of its boundary sets"
)


def name_key(text: object) -> str:
    """Return a name or code as it is compared: spacing single, case folded.

    Parameters
    ----------
    text
        A name or code.

    Returns
    -------
    str

    Examples
    --------
    >>> name_key("  Kent   and MEDWAY ")
    'kent and medway'
    """
    return " ".join(str(text).split()).casefold()


@dataclass(frozen=True)
class Match:
    """One place a text names.

    Attributes
    ----------
    level
        A national level, :data:`BUNDLED_LEVEL`, :data:`SAVED_LEVEL` or
        ``"boundary set <name>"``.
    codes
        Its codes (a saved place's localities).
    name
        Its name as kept.
    by_code
        Whether the text is its code (rather than its name).
    of_level
        For a saved place, the level of its localities; else ``""``.

    Examples
    --------
    >>> Match("district", ("E08000009",), "Trafford", by_code=False).identity
    frozenset({'E08000009'})
    """

    level: str
    codes: tuple[str, ...]
    name: str
    by_code: bool
    of_level: str = ""

    @property
    def identity(self) -> frozenset[str]:
        """Return what makes two matches the same area: ONS codes, else the set's own codes."""
        level = name_key(self.of_level or self.level)
        return frozenset(
            c.upper() if _ONS_CODE.match(c.upper()) else f"{level}|{name_key(c)}"
            for c in self.codes
        )

    def described(self) -> str:
        """Return the match for a list of matches: its kind, name and code."""
        if self.level == SAVED_LEVEL:
            shown = ", ".join(self.codes[:3]) + (", ..." if len(self.codes) > 3 else "")
            return f"the saved place {self.name} ({shown})"
        if self.level == BUNDLED_LEVEL:
            return f"the bundled place {self.name} ({self.codes[0]})"
        if self.level.startswith(SET_PREFIX):
            return (
                f"the area {self.name} ({self.codes[0]}) of the boundary set "
                f"{self.level.removeprefix(SET_PREFIX)!r}"
            )
        kind = _KINDS[self.level]
        if self.level == "nhs_area" and self.codes[0].startswith("W"):
            kind = "Welsh health board"
        return f"the {kind} {self.name} ({self.codes[0]})"

    def qualified(self) -> str:
        """Return how to name it with its kind first (``"district: Trafford"``)."""
        return f"{self.level}: {self.name}"


# --------------------------------------------------------------------------- levels


def set_name(level: str, store: EstateStore | None) -> str | None:
    """Return the stored name of the boundary set ``level`` names (with or without prefix).

    Parameters
    ----------
    level
        ``"boundary set wards"`` or ``"wards"``, in any case or spacing.
    store
        The estate store whose boundary sets are searched.

    Returns
    -------
    str or None
        ``None`` when the store keeps no such set.

    Examples
    --------
    >>> set_name("boundary set wards", None) is None
    True
    """
    if store is None or not store.exists():
        return None
    wanted = name_key(level).removeprefix(SET_PREFIX)
    for name in store.boundary_sets()["set_name"].drop_duplicates():
        if name_key(name) == wanted:
            return str(name)
    return None


def available_levels(store: EstateStore | None) -> list[str]:
    """Return every level: the national ones, ``"county"``, then the store's boundary sets.

    Parameters
    ----------
    store
        The estate store whose boundary sets are listed.

    Returns
    -------
    list of str

    Examples
    --------
    >>> available_levels(None)[-1]
    'county'
    """
    sets = []
    if store is not None and store.exists():
        sets = [SET_PREFIX + n for n in store.boundary_sets()["set_name"].drop_duplicates()]
    return [*national.LEVELS, BUNDLED_LEVEL, *sets]


def split_kind(text: str, store: EstateStore | None) -> tuple[str | None, str]:
    """Split a place named with its kind first (``"district: Trafford"``) into level and name.

    Parameters
    ----------
    text
        The text a user typed.
    store
        The estate store, whose boundary sets are kinds too (``"boundary set wards:
        Stretford"``, or ``"wards: Stretford"``).

    Returns
    -------
    level, name
        The level (``None`` when the text does not begin with a kind and a colon) and
        the rest of the text.

    Examples
    --------
    >>> split_kind("District: Trafford", None)
    ('district', 'Trafford')
    >>> split_kind("Trafford", None)
    (None, 'Trafford')
    """
    head, colon, rest = text.partition(":")
    if not colon or not rest.strip():
        return None, text
    key = name_key(head)
    for level in national.LEVELS:
        if key in (level, name_key(national.LEVEL_LABELS[level]), name_key(_KINDS[level])):
            return level, rest.strip()
    if key in (BUNDLED_LEVEL, SAVED_LEVEL):
        return key, rest.strip()
    found = set_name(head, store)
    return (SET_PREFIX + found, rest.strip()) if found is not None else (None, text)


# --------------------------------------------------------------------------- matching


@functools.lru_cache(maxsize=1)
def _national_names(folder: str) -> dict[str, dict[str, list[tuple[str, str]]]]:
    """Return, per national level, each name and code (as compared) -> [(code, name)]."""
    del folder  # the cache folder the lookup is read from: another is indexed again
    lookup = national.lsoa_lookup()
    found: dict[str, dict[str, list[tuple[str, str]]]] = {}
    for level in national.LEVELS:
        pairs = lookup[[f"{level}_code", f"{level}_name"]].drop_duplicates()
        index: dict[str, list[tuple[str, str]]] = {}
        for code, name in pairs.itertuples(index=False):
            if code:
                index.setdefault(name_key(code), []).append((str(code), str(name)))
                if name_key(name) != name_key(code):
                    index.setdefault(name_key(name), []).append((str(code), str(name)))
        found[level] = index
    return found


def national_index() -> dict[str, dict[str, list[tuple[str, str]]]]:
    """Return, per national level, each name and code (as compared) -> its [(code, name)].

    Returns
    -------
    dict
        Read once per cache folder.

    Examples
    --------
    >>> national_index()["district"]["trafford"]  # doctest: +SKIP
    [('E08000009', 'Trafford')]
    """
    return _national_names(str(national.cache_folder()))


def _national(wanted: str, levels: tuple[str, ...]) -> list[Match]:
    index = national_index()
    return [
        Match(level, (code,), name, by_code=name_key(code) == wanted)
        for level in levels
        for code, name in index[level].get(wanted, [])
    ]


def _saved(wanted: str, store: EstateStore | None) -> list[Match]:
    if store is None or not store.exists():
        return []
    saved = store.places()
    hits = saved[saved["name"].map(name_key) == wanted]
    return [
        Match(
            SAVED_LEVEL,
            tuple(c for c in str(codes).split(";") if c),
            str(name),
            by_code=False,
            of_level=str(level),
        )
        for name, level, codes in hits[["name", "level", "codes"]].itertuples(index=False)
    ]


def _bundled(wanted: str) -> list[Match]:
    if wanted not in (name_key(BUNDLED_NAME), name_key(BUNDLED_CODE)):
        return []
    return [Match(BUNDLED_LEVEL, (BUNDLED_CODE,), BUNDLED_NAME, wanted == name_key(BUNDLED_CODE))]


def _in_sets(wanted: str, store: EstateStore | None, only: str | None) -> list[Match]:
    if store is None or not store.exists():
        return []
    sets = store.boundary_sets()
    if only is not None:
        sets = sets[sets["set_name"] == only]
    by_code = sets["code"].map(name_key) == wanted
    hits = sets[(sets["name"].map(name_key) == wanted) | by_code]
    return [
        Match(SET_PREFIX + str(s), (str(c),), str(n), by_code=name_key(c) == wanted)
        for s, c, n in hits[["set_name", "code", "name"]].itertuples(index=False)
    ]


def find_matches(wanted: str, store: EstateStore | None, level: str | None) -> list[Match]:
    """Return every place whose name or code is ``wanted``, in the search order.

    Parameters
    ----------
    wanted
        The text as compared (:func:`name_key`).
    store
        The estate store whose saved places and boundary sets are searched.
    level
        Search only this level (``None``: saved places, Kent and Medway, the
        national levels top to bottom, then the boundary sets).

    Returns
    -------
    list of Match

    Raises
    ------
    InvalidArgumentError
        If ``level`` is not a level.

    Examples
    --------
    >>> [m.level for m in find_matches("e08000009", None, None)]  # doctest: +SKIP
    ['district']
    """
    if level is None:
        return [
            *_saved(wanted, store),
            *_bundled(wanted),
            *_national(wanted, tuple(national.LEVELS)),
            *_in_sets(wanted, store, None),
        ]
    if level == SAVED_LEVEL:
        return _saved(wanted, store)
    if level == BUNDLED_LEVEL:
        return _bundled(wanted)
    if level in national.LEVELS:
        return _national(wanted, (level,))
    found = set_name(level, store)
    if found is None:
        levels = [*available_levels(store), SAVED_LEVEL]
        raise InvalidArgumentError(
            f"level={level!r} is not a level; expected one of: {', '.join(levels)}"
        )
    return _in_sets(wanted, store, found)


def choose(text: str, matches: list[Match]) -> Match | None:
    """Return the one place ``matches`` stand for, or stop listing them all.

    Parameters
    ----------
    text
        The text the user gave (for the message).
    matches
        From :func:`find_matches`, in the search order.

    Returns
    -------
    Match or None
        ``None`` when nothing matched. Matches by code win over matches by name;
        matches that are the same area (:attr:`Match.identity`) are one place,
        the first of them.

    Raises
    ------
    InvalidArgumentError
        If the matches are several different places: the message lists each with
        its kind and code, and says to give the code or the kind first.

    Examples
    --------
    >>> one = Match("district", ("E08000009",), "Trafford", by_code=False)
    >>> same = Match("boundary set boroughs", ("E08000009",), "Trafford", by_code=False)
    >>> choose("Trafford", [one, same]) is one
    True
    """
    if not matches:
        return None
    by_code = [m for m in matches if m.by_code]
    matches = by_code or matches
    first: dict[frozenset[str], Match] = {}
    for match in matches:
        first.setdefault(match.identity, match)
    distinct = list(first.values())
    if len(distinct) == 1:
        return matches[0]
    listed = ", ".join(m.described() for m in distinct)
    hint = "say which by its code"
    if len({m.level for m in distinct}) > 1:
        forms = ", ".join(repr(m.qualified()) for m in distinct)
        hint += f", or name its kind first: {forms}"
    raise InvalidArgumentError(f"place={text!r} is several places: {listed}; {hint}")


def _suggestions(wanted: str, store: EstateStore | None) -> list[str]:
    """Return up to five names close to ``wanted``: those containing it, then difflib's."""
    names: list[str] = [BUNDLED_NAME]
    if store is not None and store.exists():
        names += store.places()["name"].tolist() + store.boundary_sets()["name"].tolist()
    index = national_index()
    for level in national.LEVELS:
        if level != "lsoa":
            names += [name for pairs in index[level].values() for _, name in pairs]
    lowered = {name_key(n): str(n) for n in names if str(n).strip()}
    containing = sorted((n for n in lowered if wanted in n), key=lambda n: (len(n), n))
    close = difflib.get_close_matches(wanted, list(lowered), n=5, cutoff=0.6)
    return [lowered[n] for n in list(dict.fromkeys([*containing, *close]))[:5]]


def not_found(text: str, store: EstateStore | None, level: str | None) -> InvalidArgumentError:
    """Return the error for a name that is no place, suggesting close names.

    Parameters
    ----------
    text
        The text the user gave.
    store
        The estate store, whose names are suggested too.
    level
        The level searched (``None``: every level).

    Returns
    -------
    InvalidArgumentError
        "place='Traford' is not a place; did you mean: Trafford, Stafford...".

    Examples
    --------
    >>> str(not_found("Traford", None, None))  # doctest: +SKIP
    "place='Traford' is not a place; did you mean: Trafford, Stafford, ..."
    """
    close = _suggestions(name_key(text), store)
    hint = f"did you mean: {', '.join(close)}? " if close else ""
    where = f" at the level {level!r}" if level else ""
    return InvalidArgumentError(f"place={text!r} is not a place{where}; {hint}{_EXPECTED}")
