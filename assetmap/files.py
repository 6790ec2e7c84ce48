"""Writing files safely: whole or not at all.

Every file assetmap writes (the store, tables, map packs) goes through
:func:`replace_atomically`: it is written under a temporary name in the same
folder, flushed to disk, and renamed over the target, so a reader never sees
half a file and a failure or a kill leaves the old file as it was.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["replace_atomically"]


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


@contextlib.contextmanager
def replace_atomically(path: str | os.PathLike, *, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success, move it over ``path``.

    The temporary file does not exist when the block starts (GDAL and pandas
    create files themselves); if the block raises, it is removed and ``path``
    is untouched.

    Parameters
    ----------
    path
        The file to write; its folder is created if missing.
    suffix
        The temporary file's suffix (GDAL picks its driver from it, e.g. ``".tmp.gpkg"``).

    Yields
    ------
    pathlib.Path
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    tmp.unlink()
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
