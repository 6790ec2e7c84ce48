"""What every command shares: the local viewer, the audit entry, the progress bar, the store.

The command line runs as the local single user (:func:`assetmap.access.local_viewer`),
so every command asks :func:`viewer` for whom it computes; a command that changes the
store or writes a file appends an entry to the store's audit log through :func:`audit`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..settings import DEFAULT_STORE, STORE_ENV

if TYPE_CHECKING:
    import geopandas as gpd

    from ..access import Viewer
    from ..places import Place
    from ..store.interface import EstateStore

__all__ = [
    "LEVEL_HELP",
    "PLACE_HELP",
    "STORE_HELP",
    "audit",
    "guard_store_output",
    "level_option",
    "national_ready",
    "per_locality",
    "place_option",
    "print_json",
    "print_notes",
    "printable",
    "printable_stdout",
    "progress_bar",
    "store_and_out",
    "viewer",
]

#: What a terminal acts on rather than shows: the C0 controls but tab and newline (so
#: carriage return and escape), DEL, the C1 controls, and the marks that reorder text
#: (bidirectional marks, overrides and isolates). A register's name holding one could move
#: the cursor, recolour or rewrite what the officer reads. With them, the invisible ones
#: that make two names look the same (zero-width space, word joiner, byte order mark) and
#: the line and paragraph separators. Zero-width (non-)joiners stay: scripts need them.
_TERMINAL_CONTROLS = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u180e\u200b\u200e\u200f\u2028-\u202e"
    "\u2060-\u2064\u2066-\u2069\ufeff]"
)


def printable(text: str) -> str:
    r"""Return ``text`` with every terminal control written out (``"\x1b"``, ``"\u202e"``).

    Examples
    --------
    >>> printable("Depot\x1b[2J\rOK")
    'Depot\\x1b[2J\\rOK'
    """
    return _TERMINAL_CONTROLS.sub(lambda m: m.group().encode("unicode_escape").decode(), text)


class _PrintableStream:
    """A text stream that writes :func:`printable` text to the stream it wraps."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(printable(text))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextlib.contextmanager
def printable_stdout() -> Iterator[None]:
    """Within it, what is printed to standard output has its terminal controls written out.

    Every listing of the command line passes register values (names, agencies,
    references) through it; JSON output is escaped already and is unchanged.
    """
    saved = sys.stdout
    sys.stdout = _PrintableStream(saved)
    try:
        yield
    finally:
        sys.stdout = saved


def _plain(data: Any) -> Any:
    """Return ``data`` with every missing figure (NaN, ``pd.NA``, ``NaT``) as ``None``."""
    if isinstance(data, dict):
        return {key: _plain(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [_plain(value) for value in data]
    if isinstance(data, float) and not math.isfinite(data):
        return None
    if data is not None and not isinstance(data, (str, bool, int, float)):
        import pandas as pd

        if pd.api.types.is_scalar(data) and pd.isna(data):
            return None
    return data


def print_json(data: Any) -> None:
    """Print ``data`` as standard JSON: a missing figure is ``null``, never ``NaN``.

    Other values JSON has no type for (dates, paths) are written as text.
    """
    print(json.dumps(_plain(data), indent=2, default=str, allow_nan=False))


#: What an option of :func:`_found_option` finds (a place, a level).
_Found = TypeVar("_Found")

#: The help of every command's ``--store`` option.
STORE_HELP = f"the estate store (default: ${STORE_ENV} or ./{DEFAULT_STORE})"
#: The help of every command's ``--place`` option.
PLACE_HELP = (
    "a district ('Trafford'), ICB, sub-ICB location or health board, country or LSOA, by "
    "name or ONS code; 'Kent and Medway'; a postcode (its district); a place saved with "
    "`places save`, or an area of a boundary set added with `boundaries add`"
)
#: The help of the ``--level`` option of the commands that count per locality.
LEVEL_HELP = (
    "the localities: country, icb, nhs_area, district, lsoa, county (Kent and Medway) or "
    "a boundary set added with `boundaries add` (default: the level below the place)"
)


def viewer() -> Viewer:
    """Return the local single user, for whom every command computes."""
    from ..access import local_viewer

    return local_viewer()


def audit(
    store: str | Path | None,
    action: str,
    what: str,
    *,
    file: str | Path | None = None,
    digest: str = "",
    counts: Mapping[str, int] | None = None,
) -> None:
    """Append an entry to the store's audit log (``file``: a file written, hashed here)."""
    from ..audit import record, sha256
    from ..store import open_store

    if file is not None and Path(file).is_file():
        digest = sha256(file)
    record(
        open_store(store),  # the store keeps its log: a file beside it, or a database table
        viewer=viewer(),
        action=action,
        what=what,
        sha256=digest,
        counts=counts or {},
    )


def print_notes(notes: Iterable[str]) -> None:
    """Print each of a result's notes on a line of its own, under the result."""
    for note in notes:
        print(f"  note: {note}")


def progress_bar(description: str) -> tuple[Callable[[str, float], None], Any]:
    """Return a tqdm progress bar and the ``progress(stage, fraction)`` callback that feeds it."""
    from tqdm import tqdm

    bar = tqdm(
        total=100,
        desc=printable(description),  # (a register's or a place's name)
        unit="%",
        leave=False,
        file=sys.stderr,
        disable=None,
        bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix}",
    )

    def update(stage: str, fraction: float) -> None:
        bar.set_postfix_str(printable(stage))
        bar.n = round(fraction * 100)
        bar.refresh()
        if fraction >= 1:
            bar.close()

    return update, bar


def guard_store_output(
    path: str | Path, store: EstateStore, name: str, problems: list[str]
) -> None:
    """Add a problem if writing ``path`` would harm the store's files (a database has none).

    See :func:`assetmap.files.guard_output`.
    """
    from ..files import guard_output
    from ..store.geopackage import GeoPackageStore

    if isinstance(store, GeoPackageStore):
        guard_output(path, store=store.path, name=name, problems=problems)


def store_and_out(args: argparse.Namespace, problems: list[str]) -> tuple[EstateStore, Path | None]:
    """Return the store (which must exist) and the ``--out`` file (.csv or .gpkg, not the store).

    Each problem with them is added to ``problems``.
    """
    from ..store import open_store
    from ..store.geopackage import GeoPackageStore

    store = open_store(args.store)
    if not store.exists():
        problems.append(
            f"--store {store.location!r} does not exist; expected an estate store (import a "
            "register first)"
        )
    out = Path(args.out) if args.out else None
    if out is not None:
        if out.suffix.lower() not in (".csv", ".gpkg"):
            problems.append(f"--out {str(out)!r} is not valid; expected a .csv or .gpkg file")
        elif (
            isinstance(store, GeoPackageStore)
            and store.exists()
            and out.resolve() == store.path.resolve()
        ):
            problems.append(
                f"--out {str(out)!r} is the estate store; expected another .csv or .gpkg file"
            )
        else:
            guard_store_output(out, store, "--out", problems)
    return store, out


def national_ready() -> None:
    """Build the national boundaries now, with a progress bar, if this is their first use."""
    from .. import national

    update, bar = progress_bar("national boundaries (first use)")
    try:
        national.lsoa_lookup(progress=update)
    finally:
        bar.close()


def _found_option(
    args: argparse.Namespace,
    store: EstateStore,
    problems: list[str],
    option: str,
    find: Callable[..., _Found],
) -> _Found | None:
    """Return what ``find`` finds for ``--option`` (``None`` when not given or not found).

    What ``find`` refuses is added to ``problems``, its ``option=`` written ``--option``.
    """
    from ..errors import InvalidArgumentError

    try:
        return find(getattr(args, option), store=store if store.exists() else None)
    except InvalidArgumentError as exc:
        problems.append(str(exc).replace(f"{option}=", f"--{option} ", 1))
        return None


def place_option(args: argparse.Namespace, store: EstateStore, problems: list[str]) -> Place | None:
    """Return the place ``--place`` names (``None`` when not given); a problem if none is found."""
    from ..places import resolve_place

    if getattr(args, "place", None) is None:
        return None
    national_ready()
    return _found_option(args, store, problems, "place", resolve_place)


def level_option(args: argparse.Namespace, store: EstateStore, problems: list[str]) -> str | None:
    """Return the level ``--level`` names as places name it (``None`` when not given)."""
    from ..places import canonical_level

    if getattr(args, "level", None) is None:
        return None
    return _found_option(args, store, problems, "level", canonical_level)


def per_locality(
    points: gpd.GeoDataFrame, localities: gpd.GeoDataFrame, what: str, level: str
) -> str:
    """Return a line counting ``points`` (``what``: "sites") per locality, most first."""
    from ..localities import assign_localities

    if not len(points):
        return f"  {what} by {level}: none"
    found = assign_localities(points, localities)
    named = found.loc[~found["outside"], "locality_name"]
    counts = named.value_counts(sort=False).sort_index().sort_values(ascending=False, kind="stable")
    shown = ", ".join(f"{name} {n:,}" for name, n in counts.head(20).items())
    more = f" and {len(counts) - 20:,} more" if len(counts) > 20 else ""
    outside = int(found["outside"].sum())
    beyond = f"; {outside:,} outside them" if outside else ""
    return f"  {what} by {level}: {shown or 'none'}{more}{beyond}"
