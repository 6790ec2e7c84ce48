"""The limits a register file must keep: its rows, its columns and, for a zip archive, its members.

A zip archive is inspected against :class:`ZipLimits` before anything opens it, and every
reader refuses a file over the row or column limit with a message that says how to go on.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath

from ..errors import RegisterReadError, UnsafeArchiveError

__all__ = [
    "DEFAULT_MAX_COLUMNS",
    "DEFAULT_MAX_ROWS",
    "ZipLimits",
    "check_row_count",
    "inspect_zip",
    "too_many_columns",
]

#: Rows (or features) a register may hold unless ``max_rows`` says otherwise.
DEFAULT_MAX_ROWS = 1_000_000
#: Columns a register may have unless ``max_columns`` says otherwise.
DEFAULT_MAX_COLUMNS = 2_000

_NESTED = (".zip", ".gz", ".tgz", ".tar", ".7z", ".rar", ".bz2", ".xz", ".kmz")


@dataclass(frozen=True)
class ZipLimits:
    """Limits that a zip archive must respect before it is opened.

    Attributes
    ----------
    max_members
        Most members (files and folders) an archive may hold.
    max_total_bytes
        Most bytes all members may expand to together.
    max_ratio
        Highest compression ratio allowed for a member larger than ``ratio_floor``.
    ratio_floor
        Members smaller than this many bytes expanded are not ratio-checked.
    """

    max_members: int = 1_000
    max_total_bytes: int = 1_000_000_000
    max_ratio: float = 100.0
    ratio_floor: int = 10_000_000


def _member_problems(member: zipfile.ZipInfo, limits: ZipLimits) -> list[str]:
    """Return what is wrong with one member of an archive: its path, kind or compression."""
    problems = []
    name = member.filename
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        problems.append(f"member {name!r} points outside the archive")
    if name.lower().endswith(_NESTED):
        problems.append(f"member {name!r} is itself an archive (nested archives)")
    ratio = member.file_size / max(member.compress_size, 1)
    if member.file_size > limits.ratio_floor and ratio > limits.max_ratio:
        problems.append(
            f"member {name!r} is compressed {ratio:,.0f} to 1 "
            f"(at most {limits.max_ratio:,.0f} to 1 above "
            f"{limits.ratio_floor:,} bytes): a possible zip bomb"
        )
    return problems


def inspect_zip(data: bytes, *, limits: ZipLimits | None = None) -> list[zipfile.ZipInfo]:
    """Check a zip archive against ``limits`` without extracting anything.

    Parameters
    ----------
    data
        The archive's bytes.
    limits
        The limits to apply; :class:`ZipLimits` defaults when ``None``.

    Returns
    -------
    list of zipfile.ZipInfo
        The archive's members.

    Raises
    ------
    UnsafeArchiveError
        Listing every reason the archive was refused.
    RegisterReadError
        If the bytes are not a readable zip archive.
    """
    limits = limits or ZipLimits()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise RegisterReadError(
            f"the file looks like a zip archive but cannot be read: {exc}"
        ) from None
    problems: list[str] = []
    if len(members) > limits.max_members:
        problems.append(f"it holds {len(members):,} members (at most {limits.max_members:,})")
    total = sum(m.file_size for m in members)
    if total > limits.max_total_bytes:
        problems.append(f"it would expand to {total:,} bytes (at most {limits.max_total_bytes:,})")
    for member in members:
        problems.extend(_member_problems(member, limits))
    if problems:
        raise UnsafeArchiveError("the zip archive was refused: " + "; ".join(problems))
    return members


def check_row_count(n: int, max_rows: int, what: str = "rows") -> None:
    """Refuse a file of ``n`` rows (or features) when that is more than ``max_rows``.

    Raises
    ------
    RegisterReadError
        Naming the count and the limit.
    """
    if n > max_rows:
        raise RegisterReadError(
            f"the file has {n:,} {what}, more than the limit of {max_rows:,}; "
            "split it or raise the limit (max_rows)"
        )


def too_many_columns(count: int | None, max_columns: int) -> RegisterReadError:
    """Return the error for a file of ``count`` columns, more than ``max_columns``.

    ``count`` is ``None`` for a header of more than ``max_columns`` names, counted
    before any parser saw it.
    """
    if count is None:
        return RegisterReadError(
            f"the file has more than {max_columns:,} columns (the limit); check that its "
            "first row is its header, or raise the limit (max_columns)"
        )
    return RegisterReadError(
        f"the file has {count:,} columns, more than the limit of {max_columns:,}; keep only "
        "the columns the register needs, or raise the limit (max_columns)"
    )
