"""The audit log: every import, removal and export, one entry each.

Each entry records who (user and agency, from :class:`assetmap.access.Viewer`),
what (``action``: ``import``, ``remove``, ``export``, or a move of the space
exchange, ``exchange`` or ``exchange refused``; ``what``: the source, the file
exported or the move), the SHA-256 of the file imported or written, row counts,
and the time in UTC.

Where it is kept is the store's business: :func:`record` and :func:`read_log` take
a store (anything with ``append_audit`` and ``audit_entries``, as every
:class:`~assetmap.store.interface.EstateStore` has) and hand the entry to it, or a
store's file path, whose log is the JSON-lines file :func:`append_jsonl` and
:func:`read_jsonl` keep. That file is the GeoPackage store's log: it sits beside the
store (``<store>.audit.jsonl``; ``$ASSETMAP_AUDIT_LOG`` names another file), one
JSON line an entry, appended under the store's lock file (the one its writers
hold), flushed and fsync'd, so two processes never interleave half lines and an
entry written is on disk. The PostGIS store keeps its entries in its append-only
``audit_log`` table.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from filelock import FileLock, Timeout

from assetmap._validate import raise_if_any
from assetmap.access import Viewer
from assetmap.errors import InvalidArgumentError, StoreError
from assetmap.settings import AUDIT_ENV, audit_log, is_database_url

__all__ = [
    "ACTIONS",
    "AUDIT_ENV",
    "AuditEntry",
    "AuditedStore",
    "append_jsonl",
    "audit_path",
    "read_jsonl",
    "read_log",
    "record",
    "sha256",
]

#: What can be recorded.
ACTIONS = ("import", "remove", "export", "exchange", "exchange refused")
_LOCK_TIMEOUT_S = 120


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit log."""

    time: str
    user: str
    agency: str | None
    signed_in: bool
    action: str
    what: str
    sha256: str
    counts: dict[str, int]


@runtime_checkable
class AuditedStore(Protocol):
    """A store that keeps its own audit log (every :class:`~assetmap.store.EstateStore`)."""

    def append_audit(self, entry: dict[str, Any]) -> None:
        """Append one entry (the fields of :class:`AuditEntry`) to the store's log."""

    def audit_entries(self) -> list[dict[str, Any]]:
        """Return every entry of the store's log, oldest first."""


#: What :func:`record` and :func:`read_log` take: a store, or a store's file path.
StoreOrPath = AuditedStore | str | os.PathLike[str]


def sha256(data: bytes | str | os.PathLike[str]) -> str:
    """Return the SHA-256 (hex) of bytes, or of a file's content."""
    digest = hashlib.sha256()
    if isinstance(data, bytes | bytearray | memoryview):
        digest.update(data)
        return digest.hexdigest()
    with open(data, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def audit_path(store: str | os.PathLike[str]) -> Path:
    """Return the audit log of a store: ``$ASSETMAP_AUDIT_LOG``, else ``<store>.audit.jsonl``.

    Raises
    ------
    InvalidArgumentError
        If ``$ASSETMAP_AUDIT_LOG`` names the store itself, its lock or a journal of
        it (by any name: a link, ``..``), which appending would destroy; or if
        ``store`` is a database's URL (a database keeps its log in a table).
    """
    if is_database_url(store):  # not echoed: it may hold a password
        raise InvalidArgumentError(
            "the store given is a database's URL, which keeps its audit log in its own "
            "audit_log table, not in a file; give the store itself (assetmap.open_store(url))"
        )
    store = Path(store)
    configured = audit_log()
    if configured is None:
        return store.with_name(store.name + ".audit.jsonl")
    for endangered in (store, *(Path(f"{store}{e}") for e in (".lock", "-journal", "-wal"))):
        if _same_file(configured, endangered):
            raise InvalidArgumentError(
                f"${AUDIT_ENV}={str(configured)!r} is the estate store {str(store)!r} or one of "
                "its files, which the audit log would be appended to and destroy; name a file "
                "of its own"
            )
    return configured


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths lead to one file: by their real path, or as hard links."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def record(
    store: StoreOrPath,
    *,
    viewer: Viewer,
    action: str,
    what: str,
    sha256: str = "",
    counts: Mapping[str, int] | None = None,
) -> AuditEntry:
    """Append one entry to the store's audit log.

    Parameters
    ----------
    store
        The store, which keeps the entry (:meth:`AuditedStore.append_audit`), or a
        store's file path, whose log is the JSON-lines file :func:`audit_path` names
        (appended under the store's lock and fsync'd: :func:`append_jsonl`).
    viewer
        Who did it.
    action
        One of :data:`ACTIONS`.
    what
        The source imported or removed, or the file exported.
    sha256
        The SHA-256 of the file imported or written (hex), if any.
    counts
        Row counts (``{"accepted": 120, "quarantined": 3}``, ``{"rows": 40}``).

    Returns
    -------
    AuditEntry

    Raises
    ------
    InvalidArgumentError
        Listing every argument that cannot be used.
    StoreError
        If the log cannot be written (or the lock not taken within two minutes).
    """
    problems = []
    if not isinstance(viewer, Viewer):
        problems.append(f"viewer={viewer!r} is not valid; expected an assetmap.access.Viewer")
    if action not in ACTIONS:
        problems.append(f"action={action!r} is not valid; expected one of: {', '.join(ACTIONS)}")
    if not isinstance(what, str) or not what.strip():
        problems.append(f"what={what!r} is not valid; expected the source or file's name")
    if not isinstance(sha256, str) or (
        sha256 and (len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256))
    ):
        problems.append(f"sha256={sha256!r} is not valid; expected 64 lower-case hex digits")
    clean: dict[str, int] = {}
    for key, value in (counts or {}).items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            problems.append(f"counts[{key!r}]={value!r} is not valid; expected a whole number")
        else:
            clean[str(key)] = int(value)
    raise_if_any(problems)
    entry = AuditEntry(
        time=datetime.now(UTC).isoformat(timespec="seconds"),
        user=viewer.user,
        agency=viewer.agency,
        signed_in=viewer.signed_in,
        action=action,
        what=what,
        sha256=sha256,
        counts=clean,
    )
    if isinstance(store, AuditedStore):
        store.append_audit(dict(entry.__dict__))
    else:
        append_jsonl(store, entry.__dict__)
    return entry


def append_jsonl(store: str | os.PathLike[str], entry: Mapping[str, Any]) -> None:
    """Append one entry as a JSON line to the log of the store file ``store``.

    The line is written under the store's lock file in one ``write`` and fsync'd.

    Parameters
    ----------
    store
        The store's file (the log is :func:`audit_path` of it).
    entry
        The entry's fields (those of :class:`AuditEntry`), written as given.

    Raises
    ------
    StoreError
        If the log cannot be written (or the lock not taken within two minutes).
    """
    line = (json.dumps(dict(entry), ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
    path = audit_path(store)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(Path(store)) + ".lock", timeout=_LOCK_TIMEOUT_S):
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
    except (OSError, Timeout) as exc:
        raise StoreError(f"the audit log {str(path)!r} could not be written: {exc}") from None


def read_log(store: StoreOrPath) -> list[AuditEntry]:
    """Every entry of the store's audit log, oldest first (none if there is no log).

    Parameters
    ----------
    store
        The store (:meth:`AuditedStore.audit_entries`), or a store's file path
        (:func:`read_jsonl`).

    Returns
    -------
    list of AuditEntry

    Raises
    ------
    StoreError
        If an entry is not an audit entry.
    """
    if isinstance(store, AuditedStore):
        raw, where = store.audit_entries(), "the audit log of the store"
    else:
        raw, where = read_jsonl(store), f"the audit log {str(audit_path(store))!r}"
    entries = []
    for n, fields in enumerate(raw, start=1):
        try:
            entries.append(AuditEntry(**fields))
        except TypeError as exc:
            raise StoreError(f"entry {n} of {where} is not an audit entry: {exc}") from None
    return entries


def read_jsonl(store: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every entry of the JSON-lines log of the store file ``store``, oldest first.

    Returns
    -------
    list of dict
        Each line's fields, as written; none if there is no log.

    Raises
    ------
    StoreError
        If a line is not a JSON object.
    """
    path = audit_path(store)
    if not path.is_file():
        return []
    entries = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            fields = json.loads(line)
        except ValueError as exc:
            fields, problem = None, str(exc)
        else:
            problem = "" if isinstance(fields, dict) else "not a JSON object"
        if problem:
            raise StoreError(
                f"line {n} of the audit log {str(path)!r} is not an audit entry: {problem}"
            )
        entries.append(fields)
    return entries
