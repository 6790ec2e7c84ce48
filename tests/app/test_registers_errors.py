"""What the system refuses during an import or removal in the app: one message, no crash.

A full disk while the store is copied, or a read-only folder, reaches the
Registers page as a plain sentence (the command line's, from
:func:`assetmap.files.system_error_message`), and the store is left as it was.
"""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from assetmap.app import registers_page
from assetmap.app.navigation import page_path
from assetmap.store import geopackage as store_module
from tests.app.conftest import run_app, shown

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "streamlit_app.py")
REGISTER = b"Site name,Agency,Easting,Northing\nHall,Kent Police,576000,155000\n"

pytestmark = pytest.mark.usefixtures("fresh_caches")


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (errno.ENOSPC, "the disk is full"),
        (errno.EROFS, "it is on a read-only file system"),
    ],
)
def test_the_system_refusing_an_import_is_one_message(small_store, monkeypatch, code, words):
    at = run_app(AppTest.from_file(APP, default_timeout=300))
    at.switch_page(str(page_path("registers").relative_to(ROOT)))
    run_app(at)
    at.file_uploader(key=registers_page.UPLOAD_KEY).set_value(("hall.csv", REGISTER, "text/csv"))
    run_app(at)
    before = small_store.read_bytes()

    def refuse(fd, path, *args, **kwargs):  # the system refuses the import's commit
        raise OSError(code, "refused", str(path))

    monkeypatch.setattr(store_module, "committing", refuse)
    at.button(key="register_import").click()
    run_app(at)
    errors = [shown(e.value) for e in at.error]
    assert any("hall.csv was not imported, and the estate is unchanged" in e for e in errors)
    assert any(words in e for e in errors), errors
    assert small_store.read_bytes() == before
