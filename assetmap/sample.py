"""The bundled sample estates: fictional sites at real postcodes of two places.

Kent and Medway (``sample_estates/``, the default) and Trafford, Greater
Manchester (``sample_estates/trafford/``, ONS district E08000009), each
written by ``sample_estates/generate.py``. Each place's ``manifest.toml``
lists its registers and how to label them; :func:`build_sample_store`
imports them all, and :func:`ensure_sample_store` does so only when the store
does not exist yet, so that the app runs on the Kent sample with no set-up.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from ._validate import one_of
from .datasets import get_path
from .errors import DataNotFoundError, InvalidArgumentError
from .registers.importer import ImportReport, Progress, import_register
from .store import EstateStore, GeoPackageStore, open_store

__all__ = [
    "SAMPLE_PLACES",
    "SAMPLE_SCENARIO",
    "build_sample_store",
    "ensure_sample_store",
    "sample_registers",
    "save_sample_scenario",
]

#: The bundled sample places: name -> the data set of its manifest (``assetmap.datasets``).
#: The first is the default.
SAMPLE_PLACES: dict[str, str] = {
    "kent": "sample_manifest",
    "trafford": "sample_manifest_trafford",
}


def sample_registers(*, place: str = "kent") -> list[dict]:
    """Return the registers of a sample place, as listed in its manifest.

    Parameters
    ----------
    place
        One of :data:`SAMPLE_PLACES`: ``"kent"`` (Kent and Medway, the default)
        or ``"trafford"``.

    Returns
    -------
    list of dict
        Each with ``path`` (absolute) and the manifest's ``kind``, ``agency``,
        ``sector`` and optional ``layer`` and ``profile``.

    Raises
    ------
    InvalidArgumentError
        If ``place`` is not a sample place.
    DataNotFoundError
        If a register the manifest lists is missing.

    Examples
    --------
    >>> [r["path"].name for r in sample_registers(place="trafford")][:2]
    ['trafford_council_land_assets.csv', 'gmp_trafford_estate.csv']
    """
    if place not in SAMPLE_PLACES:
        raise InvalidArgumentError(one_of("place", place, SAMPLE_PLACES, what="a sample place"))
    manifest = get_path(SAMPLE_PLACES[place])
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
    path: str | Path | None = None, *, place: str = "kent", progress: Progress | None = None
) -> list[ImportReport]:
    """Import every register of a sample place into the store at ``path``.

    Parameters
    ----------
    path
        The store file; the default store when ``None``.
    place
        One of :data:`SAMPLE_PLACES`: ``"kent"`` (the default) or ``"trafford"``.
    progress
        Called as ``progress(register name, fraction of registers done)``.

    Returns
    -------
    list of ImportReport

    Raises
    ------
    InvalidArgumentError
        If ``place`` is not a sample place (the store is unchanged).

    Examples
    --------
    >>> reports = build_sample_store("estate.gpkg")  # doctest: +SKIP
    >>> sum(report.accepted for report in reports)  # doctest: +SKIP
    >>> build_sample_store("trafford.gpkg", place="trafford")  # doctest: +SKIP
    """
    registers = sample_registers(place=place)
    store = open_store(path)
    reports = []
    for i, reg in enumerate(registers):
        if progress is not None:
            progress(reg["path"].name, i / len(registers))
        options = {k: reg[k] for k in ("kind", "agency", "sector", "layer", "profile") if k in reg}
        reports.append(import_register(reg["path"], store=store, **options))
    if place == "kent":
        save_sample_scenario(store)
    if progress is not None:
        progress("done", 1.0)
    return reports


#: The saved sample scenario of the Kent sample: the Total Place move.
SAMPLE_SCENARIO = "Total Place: community health into Maidstone Police Office"


def save_sample_scenario(store: EstateStore) -> None:
    """Save the Kent sample's scenario: the 40,000 sq ft the police offer, taken by health.

    Kent Community Health NHS Foundation Trust's request ``SR-2025-001`` takes the
    40,000 sq ft of vacant offices Kent Police offers in Maidstone Police Office
    (``sample_estates/README.md``, the Total Place case): one
    :class:`~assetmap.scenarios.TakeOffer` of the register's spare space.
    """
    from .exchange._ids import register_offer_id
    from .scenarios import Scenario, TakeOffer, shares

    sites, requests = store.sites(), store.requests()
    office = sites[(sites["name"] == "Maidstone Police Office") & (sites["sector"] == "police")]
    request = requests[requests["source_ref"] == "SR-2025-001"]
    if office.empty or request.empty:  # a sample register was changed: nothing to save
        return
    site = office.iloc[0]
    offer = register_offer_id(site["source_owner"], site["source_file"], site["site_id"])
    scenario = Scenario(
        SAMPLE_SCENARIO,
        (TakeOffer(offer, request["request_id"].iloc[0]),),
        author="assetmap sample",
    )
    store.save_scenario(
        {
            "name": scenario.name,
            "author": scenario.author,
            "agency": "",
            "created_at": "2026-01-01T00:00:00+00:00",
            "moves": scenario.moves_json(),
            "shared": shares(scenario, sites, requests=requests),
        }
    )


def ensure_sample_store(path: str | Path | None = None) -> Path:
    """Build the Kent sample store at ``path`` if no store exists there yet.

    Parameters
    ----------
    path
        The store file; the default store when ``None``.

    Returns
    -------
    pathlib.Path
        The store's path.

    Examples
    --------
    >>> ensure_sample_store("estate.gpkg")  # doctest: +SKIP
    PosixPath('estate.gpkg')
    """
    store = open_store(path)
    if not isinstance(store, GeoPackageStore):
        raise InvalidArgumentError(
            f"the sample estate is built only into a GeoPackage file, and {store.location} is "
            "a database; import the registers into it with `python -m assetmap import`"
        )
    if not store.exists():
        build_sample_store(store.path)
    return store.path
