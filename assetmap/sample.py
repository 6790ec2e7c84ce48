"""The bundled sample estate: fictional sites at real Kent and Medway postcodes.

``sample_estates/manifest.toml`` lists the registers and how to label them;
:func:`build_sample_store` imports them all, and :func:`ensure_sample_store`
does so only when the store does not exist yet, so that the app runs on the
sample estate with no set-up.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from .datasets import get_path
from .errors import DataNotFoundError
from .registers.importer import ImportReport, Progress, import_register
from .store import open_store

__all__ = ["build_sample_store", "ensure_sample_store", "sample_registers"]


def sample_registers() -> list[dict]:
    """Return the registers of the sample estate, as listed in its manifest.

    Returns
    -------
    list of dict
        Each with ``path`` (absolute) and the manifest's ``kind``, ``agency``,
        ``sector`` and optional ``layer`` and ``profile``.
    """
    manifest = get_path("sample_manifest")
    folder = manifest.parent
    entries = tomllib.loads(manifest.read_text(encoding="utf-8")).get("register", [])
    out = []
    for entry in entries:
        item = dict(entry)
        item["path"] = folder / item.pop("file")
        if "profile" in item:
            item["profile"] = folder / item["profile"]
        if not item["path"].is_file():
            raise DataNotFoundError(f"the sample register {item['path'].name!r} is missing")
        out.append(item)
    return out


def build_sample_store(
    path: str | Path | None = None, *, progress: Progress | None = None
) -> list[ImportReport]:
    """Import every sample register into the store at ``path``.

    Parameters
    ----------
    path
        The store file; the default store when ``None``.
    progress
        Called as ``progress(register name, fraction of registers done)``.

    Returns
    -------
    list of ImportReport

    Examples
    --------
    >>> reports = build_sample_store("estate.gpkg")  # doctest: +SKIP
    >>> sum(report.accepted for report in reports)  # doctest: +SKIP
    """
    store = open_store(path)
    registers = sample_registers()
    reports = []
    for i, reg in enumerate(registers):
        if progress is not None:
            progress(reg["path"].name, i / len(registers))
        options = {k: reg[k] for k in ("kind", "agency", "sector", "layer", "profile") if k in reg}
        reports.append(import_register(reg["path"], store=store, **options))
    if progress is not None:
        progress("done", 1.0)
    return reports


def ensure_sample_store(path: str | Path | None = None) -> Path:
    """Build the sample store at ``path`` if no store exists there yet.

    Parameters
    ----------
    path
        The store file; the default store when ``None``.

    Returns
    -------
    pathlib.Path
        The store's path.
    """
    store = open_store(path)
    if not store.exists():
        build_sample_store(store.path)
    return store.path
