"""Say what happened to a register on import: the import report and its row in the log.

:class:`ImportReport` says what was read, how the columns were understood, what
was accepted, and why every other row was quarantined; :func:`log_row` is the
store's import-log row for it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

__all__ = ["ImportReport", "log_row"]


@dataclass
class ImportReport:
    """What happened to a register on import.

    Attributes
    ----------
    source_file, sha256, format, layer, kind, agency, sector, imported_at
        What was read and how it was labelled.
    rows_read
        Rows in the file.
    accepted
        Rows now in the estate.
    quarantined
        Rows not loaded (each has at least one reason in the quarantine table).
    reasons
        Reason code -> number of faults (a row may have several).
    reason_labels
        Reason code -> description, for the codes in ``reasons``.
    location_methods
        How accepted rows were located -> count.
    columns
        The recognised columns (field, meaning, column, how, unit).
    unused_columns
        Columns that fed nothing.
    notes
        Plain-English notes: encoding, units assumed, conversions...
    shared_sites
        Sites of this source that another agency also reports.
    replaced_rows
        Rows of an earlier import of the same source that this one replaced.
    amendments
        The space exchange's corrections of this source that the new file changed
        underneath, re-applied all the same: ``row_id``, ``name``, ``field``,
        ``was`` (the register's value when corrected), ``now`` (the new file's),
        ``amended_to`` and ``message`` (see :func:`assetmap.registers.reapply.reapply`).
    stored
        Whether the result was written to the store.
    """

    source_file: str
    sha256: str
    format: str
    layer: str | None
    kind: str
    agency: str
    sector: str
    imported_at: str
    rows_read: int
    accepted: int
    quarantined: int
    reasons: dict[str, int] = field(default_factory=dict)
    reason_labels: dict[str, str] = field(default_factory=dict)
    location_methods: dict[str, int] = field(default_factory=dict)
    columns: list[dict] = field(default_factory=list)
    unused_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    shared_sites: int = 0
    replaced_rows: int = 0
    amendments: list[dict] = field(default_factory=list)
    stored: bool = False

    def to_dict(self) -> dict:
        """Return the report as plain data (for JSON)."""
        return asdict(self)

    def to_json(self, **kwargs) -> str:
        """Return the report as JSON text."""
        return json.dumps(self.to_dict(), indent=kwargs.pop("indent", 2), **kwargs)

    def counts(self) -> dict[str, int]:
        """Rows read, accepted and quarantined (for the audit log)."""
        return {
            "rows_read": self.rows_read,
            "accepted": self.accepted,
            "quarantined": self.quarantined,
        }

    def summary(self) -> str:
        """Return the report in a few lines for people."""
        lines = [
            f"{self.source_file} ({self.format}, {self.kind}): {self.rows_read:,} rows read, "
            f"{self.accepted:,} accepted, {self.quarantined:,} quarantined",
        ]
        for code, count in sorted(self.reasons.items(), key=lambda kv: -kv[1]):
            lines.append(f"  {count:>7,}  {self.reason_labels.get(code, code)}")
        if self.location_methods:
            how = ", ".join(f"{k} {v:,}" for k, v in self.location_methods.items())
            lines.append(f"  located by: {how}")
        if self.shared_sites:
            lines.append(f"  {self.shared_sites:,} sites are also reported by another agency")
        if self.replaced_rows:
            lines.append(f"  replaced {self.replaced_rows:,} rows of an earlier import")
        lines.extend(f"  correction: {a['message']}" for a in self.amendments)
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)


def log_row(report: ImportReport) -> dict:
    """Return the import log's row for ``report`` (its ``report_json`` still empty)."""
    return {
        "source_file": report.source_file,
        "source_sha256": report.sha256,
        "kind": report.kind,
        "format": report.format,
        "layer": report.layer or "",
        "agency": report.agency,
        "sector": report.sector,
        "imported_at": report.imported_at,
        "rows_read": report.rows_read,
        "accepted": report.accepted,
        "quarantined": report.quarantined,
        "report_json": "",
    }
