"""The command that measures how complete each body's property data is: ``completeness``.

It computes for the local user (restricted sites of other agencies withheld first,
so that no figure counts them), prints the ranked table with percentages and,
with ``--csv``, writes it (shares 0 to 1 and counts) and records the file in the
audit log. :func:`add_commands` adds it to the command line's parser.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from .._validate import raise_if_any
from .common import STORE_HELP, audit, guard_store_output, viewer

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["add_commands"]

#: The widest agency name printed (the CSV holds every name whole).
_NAME_WIDTH = 40


def _one_line(text: object) -> str:
    """Return text on one line (a register's name may hold line breaks or tabs)."""
    return " ".join(str(text).split())


def _print_table(table: pd.DataFrame, *, agency: str | None) -> None:
    """Print the ranked table with percentages, then the definitions and the figures note."""
    from ..access import FIGURES_NOTE
    from ..completeness import DEFINITIONS, MEASURES, formatted

    shown = formatted(table, counts=False)
    shown["Agency"] = [
        name if len(name) <= _NAME_WIDTH else name[: _NAME_WIDTH - 1] + "…"
        for name in (_one_line(a) for a in shown["Agency"])
    ]
    shown["Sector"] = [_one_line(s) for s in shown["Sector"]]
    who = f" of {_one_line(agency)}" if agency else ""
    bodies = "1 body" if len(table) == 1 else f"{len(table):,} bodies"
    print(f"Data completeness{who}: {bodies}, most complete first")
    columns = list(shown.columns)
    numbers = {"Rank", "Sites"}
    text = {
        c: [f"{n:,}" for n in shown[c].tolist()] if c in numbers else shown[c].astype(str).tolist()
        for c in columns
    }
    cells = [[text[c][i] for c in columns] for i in range(len(shown))]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    left = {"Agency", "Sector"}

    def line(values: list[str]) -> str:
        return "  ".join(
            v.ljust(w) if c in left else v.rjust(w)
            for v, w, c in zip(values, widths, columns, strict=True)
        ).rstrip()

    print("  " + line(columns))
    for row in cells:
        print("  " + line(row))
    print("Measures:")
    for measure, heading in {**MEASURES, "score": "Overall"}.items():
        print(f"  {heading}: {DEFINITIONS[measure]}")
    print(FIGURES_NOTE)


def _cmd_completeness(args: argparse.Namespace) -> int:
    from ..access import agency_key, visible_sites
    from ..completeness import completeness
    from ..io.outputs import write_csv
    from ..store import open_store

    problems: list[str] = []
    store = open_store(args.store)
    if not store.exists():
        problems.append(
            f"--store {store.location!r} does not exist; expected an estate store (import a "
            "register first)"
        )
    out = Path(args.csv) if args.csv else None
    if out is not None:
        if out.suffix.lower() != ".csv":
            problems.append(f"--csv {str(out)!r} is not valid; expected a .csv file")
        else:
            guard_store_output(out, store, "--csv", problems)
    if args.agency is not None and not agency_key(args.agency):
        problems.append(f"--agency {args.agency!r} is not valid; expected an agency's name")
    raise_if_any(problems)

    who = viewer()
    # withheld first, so that no figure counts what was withheld (assetmap.access)
    table = completeness(visible_sites(store.sites(), who), viewer=who)
    if args.agency is not None:
        keep = table["agency"].map(agency_key) == agency_key(args.agency)
        if not keep.any():
            raise_if_any(
                [
                    f"--agency {args.agency!r} has no sites you may see; expected the name of "
                    "a body with sites in the store (run without --agency to list them)"
                ]
            )
        table = table[keep.to_numpy()].reset_index(drop=True)
    _print_table(table, agency=table["agency"].iloc[0] if args.agency is not None else None)
    if out is not None:
        write_csv(table, out)
        audit(args.store, "export", str(out), file=out, counts={"rows": len(table)})
        print(f"Wrote {out}")
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``completeness`` to the parser's commands."""
    p = sub.add_parser(
        "completeness",
        help="how complete each body's property data is: floor area, running cost, tenure, "
        "lease dates, UPRN and exact location, ranked",
    )
    p.add_argument("--store", help=STORE_HELP)
    p.add_argument("--agency", metavar="NAME", help="only this body's row (default: every body's)")
    p.add_argument(
        "--csv",
        metavar="FILE",
        help="write the table as CSV: each share (0 to 1) and count, and the score",
    )
    p.set_defaults(func=_cmd_completeness)
