"""The app on a store shared by agencies and servers (Streamlit's AppTest).

Every cached read is keyed by the store's location, its version and, for a database
store, the viewer's agency: a database store gives each agency only the rows it may
see (row-level security), so one agency's cached estate must never be served to
another on the same server. The version is read afresh in every run, so a rerun never
serves an estate older than the last completed import, wherever it was made.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from assetmap import access
from assetmap.access import Viewer
from assetmap.app import registers_page, state
from assetmap.app.navigation import page_path
from assetmap.errors import StoreError
from assetmap.registers.importer import import_register
from assetmap.settings import AGENCY_ENV, STORE_ENV
from assetmap.store import GeoPackageStore, open_store
from tests.app.conftest import run_app, shown

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "streamlit_app.py")

pytestmark = pytest.mark.usefixtures("fresh_caches")

POLICE = "Kent Police"
FIRE = "Kent Fire and Rescue Service"
#: Kent Police's register: two open sites and a restricted custody suite, in Maidstone.
POLICE_CSV = (
    b"Site name,Easting,Northing,GIA (sq ft),Sensitivity\n"
    b"Maidstone Police Office,575100,155100,4000,\n"
    b"Maidstone North Station,575500,156500,5000,\n"
    b"Custody Suite Alpha,575900,155900,6000,restricted\n"
)
#: Kent Fire and Rescue Service's register: two open sites in Maidstone.
FIRE_CSV = (
    b"Site name,Easting,Northing,GIA (sq ft)\n"
    b"Fire Station One,577500,157500,7000\n"
    b"Fire Station Two,578300,158300,8000\n"
)


def _officer(agency: str) -> Viewer:
    return Viewer(
        user=f"officer@{agency.split()[1].lower()}.example", agency=agency, signed_in=True
    )


def _import(location, data: bytes, agency: str, sector: str, name: str) -> None:
    """Import a register as an officer of ``agency`` (the engine, as another server would)."""
    viewer = _officer(agency)
    store = open_store(location, viewer=viewer)
    report = import_register(data, name=name, store=store, viewer=viewer, sector=sector)
    assert report.quarantined == 0, report.reasons


def _seed(location) -> None:
    _import(location, POLICE_CSV, POLICE, "police", "police.csv")
    _import(location, FIRE_CSV, FIRE, "fire", "fire.csv")


def _map_page(monkeypatch: pytest.MonkeyPatch, agency: str) -> AppTest:
    """Run the Map page as the local user of ``agency`` (a new session, same server)."""
    monkeypatch.setenv(AGENCY_ENV, agency)
    at = run_app(AppTest.from_file(APP, default_timeout=300))
    at.switch_page(str(page_path("map").relative_to(ROOT)))
    return run_app(at)


def _sites_shown(at: AppTest) -> int:
    return int(at.metric[0].value.replace(",", ""))


def _page_text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [i.value for i in at.info] + [e.value for e in at.error]
    return shown("\n".join(parts))


@pytest.fixture
def shared_store(pg_store, monkeypatch: pytest.MonkeyPatch) -> str:
    """A PostGIS store of both agencies' registers; the app connects as the app role."""
    _, app_url = pg_store
    _seed(app_url)
    monkeypatch.setenv(STORE_ENV, app_url)
    return app_url


def _no_engine_filter(monkeypatch: pytest.MonkeyPatch) -> None:
    """Take the engine's own withholding away: only the database and the caches remain."""
    monkeypatch.setattr(access, "visible_mask", lambda frame, viewer: np.ones(len(frame), bool))


def test_one_agencys_cached_estate_is_never_served_to_another(shared_store, monkeypatch):
    _no_engine_filter(monkeypatch)
    police = _map_page(monkeypatch, POLICE)
    assert _sites_shown(police) == 5  # its own custody suite too
    # a second session on the same server, of another agency, with every cache still warm
    fire = _map_page(monkeypatch, FIRE)
    assert _sites_shown(fire) == 4
    assert "Custody Suite Alpha" not in _page_text(fire)
    # and the other way: Kent Police is not given Kent Fire's narrower view
    assert _sites_shown(_map_page(monkeypatch, POLICE)) == 5


def test_each_agency_is_cached_under_its_own_key(shared_store, monkeypatch):
    """The key of every cached read names the view: location, version and agency."""
    _no_engine_filter(monkeypatch)
    keys: list[tuple] = []
    real = state._load

    def spy(signature, what):
        keys.append(signature)
        return real(signature, what)

    monkeypatch.setattr(state, "_load", spy)
    _map_page(monkeypatch, POLICE)
    _map_page(monkeypatch, FIRE)
    scopes = {key[2] for key in keys}
    assert scopes == {"kent police", "kent fire and rescue service"}
    password = urlsplit(shared_store).password
    assert password and all(password not in "".join(key) for key in keys)
    assert {key[1] for key in keys} == {open_store(shared_store).version()}


def test_a_rerun_shows_an_import_made_elsewhere(any_store, monkeypatch):
    location = str(any_store)
    _seed(location)
    monkeypatch.setenv(STORE_ENV, location)
    at = _map_page(monkeypatch, FIRE)
    assert _sites_shown(at) == 4
    # another server (here, the engine) imports while this session is open
    _import(
        location,
        b"Site name,Easting,Northing\nFire Station Three,576000,156000\n",
        FIRE,
        "fire",
        "more.csv",
    )
    run_app(at)  # the next rerun, with every cache warm
    assert _sites_shown(at) == 5


def test_the_store_version_is_read_once_a_run(shared_store, monkeypatch):
    """Each rerun asks the database for its version once (one query), not once a read."""
    calls: list[str] = []
    store_class = type(open_store(shared_store))
    real = store_class.version

    def counted(self):
        calls.append(self.location)
        return real(self)

    monkeypatch.setattr(store_class, "version", counted)
    at = _map_page(monkeypatch, POLICE)
    before = len(calls)
    run_app(at)
    assert len(calls) - before == 1


def test_an_empty_database_store_opens_on_an_empty_estate_saying_how_to_import(
    pg_store, monkeypatch, tmp_path
):
    monkeypatch.chdir(tmp_path)  # the sample estate would be built here, were it built
    monkeypatch.setenv(STORE_ENV, pg_store[1])
    at = _map_page(monkeypatch, POLICE)
    assert not at.error, [e.value for e in at.error]
    assert "The estate has no sites yet: import a register on the Registers page." in (
        _page_text(at)
    )
    assert list(tmp_path.iterdir()) == []  # no sample store was built anywhere
    assert not isinstance(open_store(pg_store[1]), GeoPackageStore)


def test_a_database_store_has_no_file_to_give(shared_store):
    with pytest.raises(
        StoreError, match=r"the store postgresql://\S+:\*\*\*@\S+ is a database, not a file"
    ):
        state.store_path()


def test_an_import_on_the_registers_page_writes_the_database_and_its_audit_log(
    shared_store, pg_store, monkeypatch
):
    monkeypatch.setenv(AGENCY_ENV, POLICE)
    at = run_app(AppTest.from_file(APP, default_timeout=300))
    at.switch_page(str(page_path("registers").relative_to(ROOT)))
    run_app(at)
    at.text_input(key=registers_page.AGENCY_KEY).input(POLICE)
    data = b"Site name,Easting,Northing\nMaidstone East Station,576200,155800\n"
    at.file_uploader(key=registers_page.UPLOAD_KEY).set_value(("east.csv", data, "text/csv"))
    run_app(at)
    at.button(key="register_import").click()
    run_app(at)
    assert any("Imported east.csv: 1 rows accepted" in s.value for s in at.success), [
        e.value for e in at.error
    ]
    owner = open_store(pg_store[0])  # the owner role sees every row
    assert "Maidstone East Station" in set(owner.sites()["name"])
    entries = [e for e in owner.audit_entries() if e["what"] == "east.csv"]
    assert [(e["action"], e["agency"], e["counts"].get("accepted")) for e in entries] == [
        ("import", POLICE, 1)
    ]
    # the next run of the map page, on the same server, counts it
    at.switch_page(str(page_path("map").relative_to(ROOT)))
    assert _sites_shown(run_app(at)) == 6
