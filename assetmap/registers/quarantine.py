"""Gather the faults of a register's rows and turn them into quarantine rows.

Every check adds its faults to one :class:`Collector` and none stops the others;
each fault becomes one quarantine row (row number, column, bad value, reason
code from :data:`REASONS`, and a reason a person understands).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["REASONS", "Collector", "Problem", "flag_duplicates", "problem_frame"]

#: Reason codes for quarantined rows, with the description used in reports.
REASONS: dict[str, str] = {
    "missing_location": "missing location",
    "postcode_malformed": "postcode is not a UK postcode",
    "postcode_partial": "postcode district or sector not found",
    "postcode_not_found": "postcode not found",
    "postcode_far": "coordinates far from the postcode",
    "outside_gb": "coordinates outside Great Britain",
    "latlon_swapped": "latitude and longitude swapped",
    "bad_coordinates": "coordinates are not numbers",
    "bad_geometry": "geometry cannot be read",
    "negative_area": "negative area",
    "non_numeric_area": "non-numeric area",
    "surplus_exceeds_area": "surplus larger than the floor area",
    "bad_money": "running cost is not an amount",
    "bad_date": "date cannot be read",
    "bad_sector": "sector not recognised",
    "bad_sensitivity": "sensitivity not recognised",
    "no_name": "no name, address or reference",
    "no_agency": "no agency",
    "bad_distance": "maximum distance is not a positive number",
    "no_space_needed": "space needed is missing",
    "duplicate": "duplicate row",
    "closed": "organisation closed",
}

#: The columns of quarantine rows, before the importer adds their provenance.
_COLUMNS = ["row", "column", "value", "reason_code", "reason"]


@dataclass
class Problem:
    """One kind of fault on some rows of a register.

    Attributes
    ----------
    mask
        Which rows have the fault.
    column
        The register column the fault is in.
    values
        The offending values, aligned to the rows.
    code
        A key of :data:`REASONS`.
    messages
        Plain-English reason per row (aligned), or one message for all.
    """

    mask: np.ndarray
    column: str
    values: pd.Series
    code: str
    messages: pd.Series | str


class Collector:
    """Collect problems from every check; no check stops the others.

    Parameters
    ----------
    n
        The number of rows checked.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self.problems: list[Problem] = []

    def add(
        self,
        mask: np.ndarray | pd.Series,
        column: str | None,
        values: pd.Series,
        code: str,
        messages: pd.Series | str,
    ) -> None:
        """Add a fault (``code``) on the rows of ``mask``, if there are any."""
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            self.problems.append(Problem(mask, column or "", values, code, messages))

    def any_mask(self) -> np.ndarray:
        """Return which rows have at least one fault."""
        out = np.zeros(self.n, dtype=bool)
        for p in self.problems:
            out |= p.mask
        return out

    def parts(self, rows: np.ndarray) -> list[pd.DataFrame]:
        """Return one frame per problem, with the columns of :func:`problem_frame`."""
        parts = []
        for p in self.problems:
            idx = np.flatnonzero(p.mask)
            values = p.values.to_numpy(dtype=object)[idx] if len(p.values) else ""
            messages = (
                p.messages.to_numpy(dtype=object)[idx]
                if isinstance(p.messages, pd.Series)
                else p.messages
            )
            parts.append(
                pd.DataFrame(
                    {
                        "row": rows[idx],
                        "column": p.column,
                        "value": values,
                        "reason_code": p.code,
                        "reason": messages,
                    }
                )
            )
        return parts

    def frame(self, rows: np.ndarray) -> pd.DataFrame:
        """Return the quarantine rows of every problem (see :func:`problem_frame`)."""
        return problem_frame(self.parts(rows))


def problem_frame(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Return the quarantine rows of some problems, ordered by row and reason (stably)."""
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in _COLUMNS})
    out = pd.concat(parts, ignore_index=True)
    out["value"] = out["value"].astype(str)
    return out.sort_values(["row", "reason_code"], kind="stable").reset_index(drop=True)


def flag_duplicates(
    col: Collector,
    dup: np.ndarray,
    first_row: np.ndarray,
    column: str | None,
    key: pd.Series,
) -> None:
    """Quarantine the rows of ``dup``, each as a duplicate of its ``first_row``.

    Parameters
    ----------
    col
        The collector to add the fault to.
    dup
        Which rows repeat an earlier row.
    first_row
        For each row, the row number where its key first appeared.
    column
        The column that names the rows (the reference, else the name).
    key
        What identifies each row, shown as the bad value.
    """
    if dup.any():
        msg = np.full(len(dup), "", dtype=object)
        msg[dup] = [f"duplicate of row {r}" for r in first_row[dup]]
        col.add(dup, column or "(row)", key, "duplicate", pd.Series(msg))
