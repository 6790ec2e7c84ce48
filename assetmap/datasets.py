"""Paths to the data sets that ship with assetmap.

All bundled data is reached through :func:`get_path`, so that no other module
hard-codes where the boundaries or the sample estate live.
"""

from __future__ import annotations

from pathlib import Path

from .errors import DataNotFoundError

__all__ = ["available", "get_path"]

_ROOT = Path(__file__).resolve().parent.parent
#: Where an installed copy keeps the data sets: the wheel carries them inside the
#: package (pyproject.toml maps ``boundaries/`` and ``sample_estates/`` there), so
#: the ``assetmap`` command works without the project's folder. A checkout has no
#: such folder and reads them at its root.
_INSTALLED = Path(__file__).resolve().parent / "_data"

#: Bundled data sets: name -> path relative to the project root (or to ``_INSTALLED``).
_DATASETS: dict[str, str] = {
    "boundaries": "boundaries/kent_medway.gpkg",
    "sample_estate": "sample_estates",
    "sample_manifest": "sample_estates/manifest.toml",
    "sample_estate_trafford": "sample_estates/trafford",
    "sample_manifest_trafford": "sample_estates/trafford/manifest.toml",
}


def available() -> list[str]:
    """Return the names of the bundled data sets.

    Returns
    -------
    list of str
    """
    return sorted(_DATASETS)


def get_path(name: str) -> Path:
    """Return the path of a bundled data set.

    Parameters
    ----------
    name
        One of :func:`available`.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    DataNotFoundError
        If the name is unknown or the file is missing from this checkout.
    """
    if name not in _DATASETS:
        raise DataNotFoundError(
            f"name={name!r} is not a bundled data set; expected one of: {', '.join(available())}"
        )
    path = (_INSTALLED if _INSTALLED.is_dir() else _ROOT) / _DATASETS[name]
    if not path.exists():
        raise DataNotFoundError(
            f"the bundled data set {name!r} is missing: expected it at {path}. "
            "Rebuild it with the script in its folder (see the README)."
        )
    return path
