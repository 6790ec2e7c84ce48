"""The exception classes of assetmap.

Every error that assetmap raises on purpose is one of these. The faces of the
program (the command line and the Streamlit app) catch :class:`AssetmapError`
and show its message; anything else is a bug.
"""

from __future__ import annotations

__all__ = [
    "AssetmapError",
    "ConflictError",
    "DataNotFoundError",
    "InvalidArgumentError",
    "PermissionDeniedError",
    "ProfileError",
    "RegisterReadError",
    "StoreError",
    "UnsafeArchiveError",
]


class AssetmapError(Exception):
    """Base class of every error assetmap raises on purpose."""


class InvalidArgumentError(AssetmapError, ValueError):
    """An argument has a value assetmap cannot use.

    The message names the argument, the value given and what was expected.
    Where several arguments are wrong, one error lists every problem.
    """


class RegisterReadError(AssetmapError):
    """A register file cannot be read as a table at all.

    Raised for empty files, files with a header but no rows, files that are
    not a table, unknown formats, and shapefile archives without a ``.prj``.
    Nothing is written to the store when this is raised.
    """


class UnsafeArchiveError(RegisterReadError):
    """A zip archive was refused before it was opened for reading.

    Raised for archives that would expand too far, hold too many members,
    hold nested archives, or name members outside the archive.
    """


class ProfileError(AssetmapError):
    """A register profile file is malformed or names columns the file lacks."""


class StoreError(AssetmapError):
    """The estate store cannot be opened, read or written."""


class ConflictError(StoreError):
    """Someone else changed the same thing first: nothing was changed.

    Raised by the space exchange when a match, offer or amendment is no longer as
    the caller read it (two people accepting one match at once: one acceptance
    stands, the other gets this). The message says what it is now.
    """


class DataNotFoundError(AssetmapError):
    """A bundled data set (boundaries, sample estate, postcodes) is missing."""


class PermissionDeniedError(AssetmapError):
    """The user may not do this: another agency's source, or rows as another agency."""
