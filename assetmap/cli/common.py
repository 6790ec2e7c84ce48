"""What every command shares: the local viewer, the audit entry, the progress bar, the store.

The command line runs as the local single user (:func:`assetmap.access.local_viewer`),
so every command asks :func:`viewer` for whom it computes; a command that changes the
store or writes a file appends an entry to the store's audit log through :func:`audit`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..settings import DEFAULT_STORE, STORE_ENV

if TYPE_CHECKING:
    from ..access import Viewer
    from ..store.geopackage import GeoPackageStore

__all__ = ["STORE_HELP", "audit", "print_notes", "progress_bar", "store_and_out", "viewer"]

#: The help of every command's ``--store`` option.
STORE_HELP = f"the estate store (default: ${STORE_ENV} or ./{DEFAULT_STORE})"


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

    path = open_store(store).path
    if file is not None and Path(file).is_file():
        digest = sha256(file)
    record(path, viewer=viewer(), action=action, what=what, sha256=digest, counts=counts or {})


def print_notes(notes: Iterable[str]) -> None:
    """Print each of a result's notes on a line of its own, under the result."""
    for note in notes:
        print(f"  note: {note}")


def progress_bar(description: str) -> tuple[Callable[[str, float], None], Any]:
    """Return a tqdm progress bar and the ``progress(stage, fraction)`` callback that feeds it."""
    from tqdm import tqdm

    bar = tqdm(
        total=100,
        desc=description,
        unit="%",
        leave=False,
        file=sys.stderr,
        disable=None,
        bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix}",
    )

    def update(stage: str, fraction: float) -> None:
        bar.set_postfix_str(stage)
        bar.n = round(fraction * 100)
        bar.refresh()
        if fraction >= 1:
            bar.close()

    return update, bar


def store_and_out(
    args: argparse.Namespace, problems: list[str]
) -> tuple[GeoPackageStore, Path | None]:
    """Return the store (which must exist) and the ``--out`` file (.csv or .gpkg, not the store).

    Each problem with them is added to ``problems``.
    """
    from ..files import guard_output
    from ..store import open_store

    store = open_store(args.store)
    if not store.exists():
        problems.append(
            f"--store {str(store.path)!r} does not exist; expected an estate store (import a "
            "register first)"
        )
    out = Path(args.out) if args.out else None
    if out is not None:
        if out.suffix.lower() not in (".csv", ".gpkg"):
            problems.append(f"--out {str(out)!r} is not valid; expected a .csv or .gpkg file")
        elif store.exists() and out.resolve() == store.path.resolve():
            problems.append(
                f"--out {str(out)!r} is the estate store; expected another .csv or .gpkg file"
            )
        else:
            guard_output(out, store=store.path, name="--out", problems=problems)
    return store, out
