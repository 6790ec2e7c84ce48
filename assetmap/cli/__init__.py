"""The command line: ``assetmap COMMAND`` (or ``python -m assetmap COMMAND``).

Exit codes: 0 on success (an import with quarantined rows still succeeds),
2 when the input cannot be used (a file that cannot be read, a bad option) or
the system refuses (a full disk, a read-only folder, a file size limit, the
store's lock held too long by another writer), with one clear message on
standard error and never a traceback.

The command line runs as the local single user (:func:`assetmap.access.local_viewer`):
restricted sites are left out of every listing, cluster, match, map and file
unless ``$ASSETMAP_AGENCY`` names their agency. Imports, removals and every
file written (``--out``, ``export-map``, ``export-pack``) are appended to the
store's audit log (:mod:`assetmap.audit`).

One module per group of commands adds its commands to :func:`build_parser`:
:mod:`~assetmap.cli.registers` (import, summary, remove, sample),
:mod:`~assetmap.cli.analyses` (density, colocate, match),
:mod:`~assetmap.cli.completeness` (completeness: how complete each body's data is) and
:mod:`~assetmap.cli.print_maps` (export-map, export-pack), :mod:`~assetmap.cli.places`
(boundaries, places), :mod:`~assetmap.cli.store_ops` (store init, upgrade, copy) and
:mod:`~assetmap.cli.exchange` (offer, request, amend, matches, disposal: the space exchange);
:mod:`~assetmap.cli.common` holds what they share.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from ..errors import AssetmapError
from ..files import system_error_message
from . import analyses, completeness, exchange, places, print_maps, registers, store_ops
from .common import printable, printable_stdout

__all__ = ["build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    """An argument parser whose messages write out terminal controls (each command's too)."""

    def error(self, message: str) -> NoReturn:
        """Print the usage and ``message`` (an argument quoted in it written out); exit 2."""
        super().error(printable(message))


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser (also used to document the commands)."""
    parser = _Parser(
        prog="python -m assetmap",
        description="assetmap: one map of the whole public estate of a place.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for group in (registers, analyses, completeness, print_maps, places, store_ops, exchange):
        group.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code.

    Parameters
    ----------
    argv
        The arguments after the program's name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 2 when the input cannot be used or the system refuses, 130 when
        interrupted.

    Examples
    --------
    >>> from assetmap.cli import main
    >>> main(["summary", "--store", "no-such-store.gpkg"])
    The store no-such-store.gpkg does not exist yet: import a register first.
    0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if hasattr(args, "store"):
            from ..audit import audit_path
            from ..settings import is_database_url, store_location

            store = args.store if args.store is not None else store_location()
            if not is_database_url(store):  # a database keeps its own log
                audit_path(store)  # a misnamed audit log, before any change
        with printable_stdout():  # a register's text never drives the terminal
            code: int = args.func(args)
        return code
    except AssetmapError as exc:
        print(f"assetmap: error: {printable(str(exc))}", file=sys.stderr)
        return 2
    except Exception as exc:  # the system refused: one line, not a traceback
        message = system_error_message(exc)
        if message is None:
            raise
        print(f"assetmap: error: {printable(message)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("assetmap: interrupted; the store is unchanged", file=sys.stderr)
        return 130
