"""Writing files safely: whole or not at all, and tables a spreadsheet cannot run.

Every file assetmap writes (the store, tables, map packs) goes through
:func:`replace_atomically`: it is written under a temporary name in the same
folder, flushed to disk, and renamed over the target, so a reader never sees
half a file and a failure or a kill leaves the old file as it was. The new file
keeps the old one's permissions (and owner and group, where the user may set
them).

Every file written where a user names it (``--out``, ``--report``, a map pack's
folder) is first checked by :func:`guard_output`: it may not be the estate
store, its audit log, its lock or its temporary files, under any other name
(a symbolic link, a hard link, ``..``).

Every table written for people (CSV and XLSX files and downloads) goes through
:func:`safe_table`: a text cell that begins with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return would run as a formula in Excel or LibreOffice
("CSV injection"), so it is written with a leading ``'`` (the OWASP advice);
numbers stay numbers. :func:`csv_bytes` and :func:`xlsx_bytes` give a table as
the bytes of a file, for downloads.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import sqlite3
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

__all__ = [
    "FORMULA_PREFIXES",
    "csv_bytes",
    "guard_output",
    "is_store_file",
    "neutralise_text",
    "replace_atomically",
    "safe_table",
    "system_error_message",
    "temporary_files",
    "unwritable_folder",
    "write_csv_text",
    "xlsx_bytes",
]

#: Text cells beginning with one of these are neutralised in CSV and XLSX files.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def unwritable_folder(start: str | os.PathLike) -> tuple[Path, str | None]:
    """Return the nearest existing folder at or above ``start``, and why it cannot be written.

    Why: ``"not a folder"``, ``"not writable"`` or ``None`` (it can be written).

    Missing folders below it are created when a file is written.
    """
    folder = Path(start)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        return folder, "not a folder"
    if not os.access(folder, os.W_OK | os.X_OK):
        return folder, "not writable"
    return folder, None


#: The name of the temporary file :func:`replace_atomically` writes a store in, beside
#: it: ``.<store's name>.<8 random characters>.tmp.gpkg`` (``tempfile.mkstemp``), and of
#: the SQLite journals beside that.
_TEMPORARY = r"\.{name}\.[a-z0-9_]{{8}}\.tmp\.gpkg(?:-journal|-wal|-shm)?"


def temporary_files(path: str | os.PathLike) -> list[Path]:
    """Return the temporary files (and journals) :func:`replace_atomically` makes beside ``path``.

    It makes them beside the store while it writes it, and leaves them there only
    when killed.

    Parameters
    ----------
    path
        The target file (a symbolic link is followed, as :func:`replace_atomically` does).

    Returns
    -------
    list of pathlib.Path
        Those that exist now, by name.
    """
    target = _target(path)
    pattern = re.compile(_TEMPORARY.format(name=re.escape(target.name)))
    try:
        names = sorted(entry.name for entry in os.scandir(target.parent))
    except OSError:
        return []
    return [target.parent / name for name in names if pattern.fullmatch(name)]


def _target(path: str | os.PathLike) -> Path:
    """Return the file a write to ``path`` replaces: a symbolic link's target, else ``path``."""
    path = Path(path)
    return Path(os.path.realpath(path)) if os.path.islink(path) else path


_SQLITE_HEADER = b"SQLite format 3\x00"


def is_store_file(path: str | os.PathLike) -> bool:
    """Return whether ``path`` is an estate store, of any version of assetmap.

    An estate store is an SQLite file holding the ``sites`` and ``imports`` tables;
    anything else is ``False``.
    """
    try:
        with open(path, "rb") as fh:
            if fh.read(len(_SQLITE_HEADER)) != _SQLITE_HEADER:
                return False
        uri = f"{Path(path).resolve().as_uri()}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
            (found,) = db.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                "AND name IN ('sites', 'imports')"
            ).fetchone()
    except (OSError, sqlite3.Error):
        return False
    return found == 2


def _copy_permissions(source: os.stat_result, path: Path) -> None:
    """Give ``path`` the mode of ``source``, and its owner and group where allowed."""
    mine = os.stat(path)
    if (mine.st_uid, mine.st_gid) != (source.st_uid, source.st_gid):
        for uid in (source.st_uid, -1):  # another owner needs privilege; the group may not
            try:
                os.chown(path, uid, source.st_gid)
                break
            except OSError:
                continue
    os.chmod(path, stat.S_IMODE(source.st_mode))  # after chown, which may clear set-id bits


@contextlib.contextmanager
def replace_atomically(
    path: str | os.PathLike,
    *,
    suffix: str = ".tmp",
    private: bool = False,
    replaces_store: bool = False,
) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success, move it over ``path``.

    The temporary file is ``.<name>.<random><suffix>`` in the same folder. When the
    block ends it is flushed to disk, given the permissions of the file it replaces
    (mode, and owner and group where the user may set them), and renamed over
    ``path``. If the block raises, it is removed, with any SQLite journal beside
    it, and ``path`` is untouched. A symbolic link at ``path`` is followed: its
    target is replaced, and the link kept.

    Parameters
    ----------
    path
        The file to write; its folder is created if missing.
    suffix
        The temporary file's suffix (GDAL picks its driver from it, e.g. ``".tmp.gpkg"``).
    private
        Create the temporary file, empty, readable by this user only, for a block
        that writes into an existing file (a copy, SQLite), so that nobody else can
        open it while it is written. Otherwise it does not exist when the block
        starts (GDAL and pandas create files themselves).
    replaces_store
        Whether ``path`` may be an estate store (only the store itself writes one);
        otherwise an estate store at ``path`` is refused.

    Yields
    ------
    pathlib.Path

    Raises
    ------
    InvalidArgumentError
        If ``path`` is an estate store and ``replaces_store`` is not set.
    """
    from .errors import InvalidArgumentError

    path = _target(path)
    if not replaces_store and is_store_file(path):
        raise InvalidArgumentError(
            f"{str(path)!r} is an estate store, which would be lost; choose another file"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)  # made with mode 600
    tmp = Path(name)
    if not private:
        tmp.unlink()
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        try:
            before = os.stat(path)
        except FileNotFoundError:
            before = None
        if before is not None:
            _copy_permissions(before, tmp)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        for ending in ("", "-journal", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                os.unlink(f"{tmp}{ending}")
        raise


def guard_output(
    path: str | os.PathLike,
    *,
    store: str | os.PathLike,
    name: str,
    problems: list[str],
) -> Path:
    """Check that writing ``path`` cannot harm the estate store; add a problem if it could.

    ``path`` may not be the store, its audit log (:func:`assetmap.audit.audit_path`),
    its lock file, its SQLite journals or its temporary files
    (:func:`temporary_files`), whether named as they are or through another name
    for the same file: a symbolic link, a hard link, a path with ``..``.

    Parameters
    ----------
    path
        The file (or folder) to be written.
    store
        The estate store's file (it need not exist).
    name
        The argument's name, for the message (``"--out"``, ``"out_dir"``).
    problems
        Receives the problem, if any.

    Returns
    -------
    pathlib.Path
        ``path``, as a :class:`~pathlib.Path`.
    """
    path = Path(path)
    store = Path(store)
    clash, via = _clash(path, store)
    if clash is not None:
        if via is None and os.path.islink(path):
            via = "through a symbolic link"
        elif via is None and ".." in path.parts:
            via = "through '..'"
        problems.append(
            f"{name} {str(path)!r} is {clash[0]} {str(store)!r}"
            + (f" ({via})" if via else "")
            + f"; writing it would destroy {clash[1]}. Choose another file"
        )
    return path


#: What a temporary file of the store is, and what writing over it would destroy.
_IN_PROGRESS = ("a temporary file of the estate store", "a change of the store in progress")


def _protected_files(store: Path) -> dict[Path, tuple[str, str]]:
    """Return the store's files, each with what it is and what writing over it destroys."""
    from .audit import audit_path

    protected = {
        store: ("the estate store", "the store"),
        _target(store): ("the estate store", "the store"),
        audit_path(store): ("the audit log of the estate store", "its audit log"),
        Path(f"{store}.lock"): ("the lock file of the estate store", "its lock"),
    }
    for ending in ("-journal", "-wal", "-shm"):
        protected[Path(f"{store}{ending}")] = ("an SQLite journal of the estate store", "it")
    for leftover in temporary_files(store):
        protected[leftover] = _IN_PROGRESS
    return protected


def _clash(path: Path, store: Path) -> tuple[tuple[str, str] | None, str | None]:
    """Return which of the store's files ``path`` is (``None``: none), and how if by a hard link.

    A temporary file of the store that does not exist yet counts as one.
    """
    real = Path(os.path.realpath(path))
    try:
        found: os.stat_result | None = os.stat(path)
    except OSError:
        found = None
    for other, meaning in _protected_files(store).items():
        if Path(os.path.realpath(other)) == real:
            return meaning, None
        if found is not None:
            with contextlib.suppress(OSError):
                if os.path.samestat(found, os.stat(other)):
                    return meaning, "a hard link to it"
    real_store = _target(store)
    temporary = re.compile(_TEMPORARY.format(name=re.escape(real_store.name)))
    if temporary.fullmatch(real.name) and real.parent == Path(os.path.realpath(real_store.parent)):
        return _IN_PROGRESS, None
    return None, None


def neutralise_text(value: object) -> object:
    """Return ``value`` with a leading ``'`` if it is text a spreadsheet would run as a formula.

    Anything that is not a ``str`` (numbers, dates, missing values) is returned
    as it is.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def safe_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``frame`` fit to write for people: formula-like text neutralised.

    A GeoDataFrame's geometry becomes a ``wkt_bng`` column (WKT, 0.1 m). Text
    cells (and column names) that begin with ``=``, ``+``, ``-``, ``@``, a tab
    or a carriage return get a leading ``'``; numeric, boolean and date columns
    are untouched. A named index becomes a column.

    Parameters
    ----------
    frame
        Any table.

    Returns
    -------
    pandas.DataFrame
    """
    import geopandas as gpd
    import shapely

    out = pd.DataFrame(frame).copy()
    if isinstance(frame, gpd.GeoDataFrame):
        name = frame.geometry.name
        out[name] = shapely.to_wkt(frame.geometry.to_numpy(), rounding_precision=1)
        out = out.rename(columns={name: "wkt_bng"})
    if any(n is not None for n in out.index.names):
        out = out.reset_index()
    for column in out.columns:
        series = out[column]
        if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
            continue
        if pd.api.types.is_datetime64_any_dtype(series.dtype):
            continue
        values = series.astype("object")
        risky = values.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_PREFIXES))
        if risky.any():
            out[column] = values.map(neutralise_text)
    out.columns = [neutralise_text(str(c)) for c in out.columns]
    return out


def write_csv_text(frame: pd.DataFrame, target) -> None:
    """Write a table as CSV (UTF-8, CRLF line ends as RFC 4180) through :func:`safe_table`.

    With CRLF line ends every cell holding a carriage return or a line feed is
    quoted, so no cell's text can start a new row.

    Parameters
    ----------
    frame
        Any table.
    target
        A path or a text buffer.
    """
    safe_table(frame).to_csv(target, index=False, encoding="utf-8", lineterminator="\r\n")


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """Return a table as the bytes of a UTF-8 CSV file (see :func:`write_csv_text`)."""
    buffer = io.StringIO()
    write_csv_text(frame, buffer)
    return buffer.getvalue().encode("utf-8")


def xlsx_bytes(frame: pd.DataFrame, *, sheet: str = "table") -> bytes:
    """Return a table as the bytes of an XLSX workbook (one sheet), through :func:`safe_table`.

    Every neutralised cell is written as text, never as a formula; characters
    that XLSX cannot hold (control characters) are dropped; time-zone-aware
    dates are written as ISO text.

    Parameters
    ----------
    frame
        Any table.
    sheet
        The sheet's name (at most 31 characters are kept).

    Returns
    -------
    bytes
    """
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    table = safe_table(frame)
    book = Workbook(write_only=True)
    ws = book.create_sheet(title=(sheet or "table")[:31])
    ws.append([ILLEGAL_CHARACTERS_RE.sub("", str(c)) for c in table.columns])
    for row in table.itertuples(index=False, name=None):
        cells: list[object] = []
        for value in row:
            if value is None or value is pd.NA or value is pd.NaT:
                cells.append(None)
            elif isinstance(value, float) and value != value:
                cells.append(None)
            elif isinstance(value, str):
                cells.append(ILLEGAL_CHARACTERS_RE.sub("", value))
            elif isinstance(value, pd.Timestamp):
                cells.append(value.isoformat() if value.tzinfo else value.to_pydatetime())
            elif hasattr(value, "item"):  # numpy scalars
                cells.append(value.item())
            else:
                cells.append(value if isinstance(value, int | float | bool) else str(value))
        ws.append(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --------------------------------------------------------------------------- system errors

#: Libraries whose errors carry the system's reason in their text (SQLite, GDAL).
_DATABASE_MODULES = ("sqlite3", "adbc_driver_manager", "pyogrio")
#: SQLite's "readonly database": a read-only disk, or a file this user may not change.
_READ_ONLY = -1
#: Words of those errors -> the system error they stand for.
_DATABASE_REASONS = (
    ("disk is full", errno.ENOSPC),
    ("no space left on device", errno.ENOSPC),
    ("file too large", errno.EFBIG),
    ("read-only file system", errno.EROFS),
    ("readonly database", _READ_ONLY),
    ("permission denied", errno.EACCES),
    ("disk i/o error", errno.EIO),
)


def _shown_path(name: str | bytes | None) -> tuple[str, bool] | None:
    """Return a path for a message, and whether it is a folder.

    A temporary file or folder assetmap made (a hidden name holding ``.tmp``) is
    shown as the folder it is in.
    """
    if name is None:
        return None
    path = Path(name.decode(errors="replace") if isinstance(name, bytes) else str(name))
    for i, part in enumerate(path.parts):
        if i and part.startswith(".") and ".tmp" in part:
            return repr(str(Path(*path.parts[:i]))), True
    return repr(str(path)), False


def _file_size_limit() -> int | None:
    """Return the most bytes this process may write to a file (``ulimit -f``), or ``None``."""
    try:
        import resource
    except ImportError:  # Windows has no such limit
        return None
    soft = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    return None if soft == resource.RLIM_INFINITY else soft


#: The message for each system error, by its code: ``{failed}`` says what could not be
#: written, ``{what}`` names the file or folder, ``{allowed}`` the file size limit.
_MESSAGES: dict[int, str] = {
    errno.ENOSPC: "the disk is full: {failed}; free some space and try again",
    errno.EFBIG: (
        "{failed}: the file would be larger than the file size limit{allowed} this "
        "system sets for this program (ulimit -f)"
    ),
    errno.EROFS: "{failed}: it is on a read-only file system",
    _READ_ONLY: ("{failed}: it is read-only (on a read-only disk, or this user may not change it)"),
    errno.EACCES: "permission denied: this user may not use {what}",
    errno.EPERM: "permission denied: this user may not use {what}",
    errno.ENOENT: "{what} does not exist, and cannot be made there",
    errno.EISDIR: "{what} is a folder; expected a file",
    errno.ENOTDIR: "{what} cannot be used: part of its path is a file, not a folder",
    errno.EIO: "the disk reported an error reading or writing {what}",
}
if hasattr(errno, "EDQUOT"):  # not on Windows
    _MESSAGES[errno.EDQUOT] = "the disk quota is used up: {failed}; free some space and try again"
#: The message for a system error about a folder, where it differs from a file's.
_FOLDER_MESSAGES: dict[int, str] = {
    errno.ENOENT: "{failed}: that folder does not take new files",
}
#: The message for any other system error.
_OTHER_MESSAGE = "{what} could not be used: {reason}"
#: The message when the store's writer lock was held too long by another writer.
_LOCK_TIMEOUT_MESSAGE = (
    "another import or removal is writing to the store and did not finish in time; "
    "nothing was changed. Try again when it has finished"
)


def _error_facts(exc: BaseException) -> tuple[int | None, tuple[str, bool] | None, str] | None:
    """Return the system error code, the path shown and the reason of ``exc``.

    ``None`` if ``exc`` is not an error the system raised (nor SQLite's or GDAL's
    report of one).
    """
    if isinstance(exc, OSError):
        reason = (exc.strerror or str(exc)).lower()
        return exc.errno, _shown_path(exc.filename2 or exc.filename), reason
    if type(exc).__module__.split(".")[0] in _DATABASE_MODULES:
        reason = str(exc).lower()
        code = next((c for words, c in _DATABASE_REASONS if words in reason), None)
        return None if code is None else (code, None, reason)
    return None


def _what_failed(shown: tuple[str, bool] | None, module: str) -> tuple[str, str]:
    """Return what the message names, and what could not be written, for a path shown."""
    if shown is None and module == "pyogrio":  # GDAL, writing a file
        return "a file", "a file could not be written"
    if shown is None:  # SQLite, changing a copy of the store
        return "the store", "the store could not be written (it is unchanged)"
    if shown[1]:
        what = f"the folder {shown[0]}"
        return what, f"nothing could be written in {what}"
    return shown[0], f"{shown[0]} could not be written"


def system_error_message(exc: BaseException) -> str | None:
    """Return one plain line for an error the operating system raised.

    ``None`` if ``exc`` is not one (a bug, which keeps its traceback).

    Covers :class:`OSError` (a full disk, a read-only folder, a file size limit, a
    path that cannot be written...) and the same conditions reported by SQLite and
    GDAL in their own error classes (then about the store, which a failed write
    leaves as it was).

    Parameters
    ----------
    exc
        The error raised.

    Returns
    -------
    str or None
    """
    from filelock import Timeout

    if isinstance(exc, Timeout):
        return _LOCK_TIMEOUT_MESSAGE
    facts = _error_facts(exc)
    if facts is None:
        return None
    code, shown, reason = facts
    limit = _file_size_limit()
    if code == errno.EIO and limit is not None and shown is None:
        code = errno.EFBIG  # SQLite reports a write past ulimit -f as a disk I/O error
    what, failed = _what_failed(shown, type(exc).__module__.split(".")[0])
    messages = _MESSAGES | _FOLDER_MESSAGES if shown is not None and shown[1] else _MESSAGES
    template = _OTHER_MESSAGE if code is None else messages.get(code, _OTHER_MESSAGE)
    allowed = f" ({limit:,} bytes)" if limit is not None else ""
    return template.format(what=what, failed=failed, allowed=allowed, reason=reason)
