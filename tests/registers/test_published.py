"""Registers as they are published: any delimiter, headerless NHS ODS extracts, the agency.

Issue 15, item 5. The ODS extracts here are small generated files in the published
layouts: fictional organisations at real postcodes (Trafford, Maidstone, Stockton).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assetmap.cli import main
from assetmap.errors import InvalidArgumentError, RegisterReadError
from assetmap.registers.fields import NO_AGENCY, is_no_agency
from assetmap.registers.importer import import_register, prepare_register
from assetmap.registers.ods import LAYOUTS, find_layout, layout_of_columns
from assetmap.registers.read import read_register
from assetmap.store import open_store

ROOT = Path(__file__).resolve().parents[2]

# --- any single-character delimiter -------------------------------------------------


def _delimited(d: str) -> str:
    return (
        d.join(["Site name", "Postcode", "Note"])
        + "\n"
        + d.join(["Café Hall", "TN1 1AA", f'"a{d}b"'])
        + "\n"
        + d.join(["Depot", "ME14 1XX", "plain"])
        + "\n"
    )


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252"])
@pytest.mark.parametrize(
    ("delimiter", "word"),
    [
        (",", "comma"),
        (";", "semicolon"),
        ("|", "pipe"),
        ("\t", "tab"),
        ("¬", "not-sign (¬)"),
        ("^", "caret (^)"),
        ("~", "'~'"),
    ],
)
def test_any_single_character_delimits_a_register(delimiter, word, encoding):
    raw = read_register(_delimited(delimiter).encode(encoding), name="r.csv")
    assert list(raw.table.columns) == ["Site name", "Postcode", "Note"]
    assert raw.table["Site name"].tolist() == ["Café Hall", "Depot"]
    # a delimiter inside a quoted field is text, and comes back as it was written
    assert raw.table["Note"].tolist() == [f"a{delimiter}b", "plain"]
    assert raw.row_numbers.tolist() == [2, 3]
    expected = "utf-8-sig" if encoding == "utf-8" else "cp1252"
    assert f"read as text in {expected} with {word} delimiters" in raw.notes


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252"])
def test_a_long_not_sign_register_is_read_past_its_head(encoding):
    rows = "".join(f"Site {i}¬TN1 1AA¬Kent Police\n" for i in range(30_000))
    data = ("Site name¬Postcode¬Agency\n" + rows).encode(encoding)
    assert len(data) > 4 * 65536  # more than the head decoded to sniff
    raw = read_register(data, name="nhs.csv")
    assert raw.table.shape == (30_000, 3)
    assert raw.table["Site name"].iloc[-1] == "Site 29999"


def test_an_nhs_export_delimited_with_not_signs_imports(tmp_path):
    text = (
        "Organisation Code¬Site Name¬Postcode\n"
        "RXX01¬Fictional General Hospital¬M13 9WL\n"
        "RXX02¬Fictional Clinic¬M15 4PS\n"
    )
    path = tmp_path / "nhs_sites.csv"
    path.write_bytes(text.encode("cp1252"))
    report = import_register(
        path, store=tmp_path / "estate.gpkg", agency="Fictional NHS Trust", sector="health"
    )
    assert report.accepted == 2 and report.quarantined == 0
    sites = open_store(tmp_path / "estate.gpkg").sites()
    assert sorted(sites["name"]) == ["Fictional Clinic", "Fictional General Hospital"]


def test_a_character_only_inside_quoted_fields_is_not_taken_for_the_delimiter():
    # as many commas as pipes on every line, but the commas are all inside quotes
    data = b'"Name, in full"|Postcode\n"Hall, the"|TN1 1AA\n"Depot, old"|ME14 1XX\n'
    raw = read_register(data, name="r.csv")
    assert list(raw.table.columns) == ["Name, in full", "Postcode"]
    assert raw.table["Postcode"].tolist() == ["TN1 1AA", "ME14 1XX"]
    assert any("pipe delimiters" in n for n in raw.notes)


def test_the_delimiter_splitting_every_line_alike_wins():
    # ";" is in the header and every row once; "," only in some rows' values
    data = b"Name;Postcode\nHall, the;TN1 1AA\nDepot;ME14 1XX\nYard, old;ME14 1XX\n"
    raw = read_register(data, name="r.csv")
    assert raw.table["Name"].tolist() == ["Hall, the", "Depot", "Yard, old"]


def test_a_non_ascii_delimiter_with_every_control_character_is_refused():
    controls = "".join(chr(c) for c in range(1, 32) if chr(c) not in "\t\n\r")
    data = f"Name¬Postcode\nHall{controls}¬TN1 1AA\n".encode()
    with pytest.raises(RegisterReadError, match="cannot be read with '¬' delimiters"):
        read_register(data, name="r.csv")


# --- headerless NHS ODS extracts ------------------------------------------------------


def _ods_row(key: str, code: str, name: str, postcode: str, **extra: str) -> list[str]:
    """One record of the ODS extract ``key``, as NHS England publishes it (27 fields)."""
    row = [""] * 27
    row[:10] = [code, name, "Y62", "QOP", "1 FICTION STREET", "", "TRAFFORD", "", "", postcode]
    row[10:12] = [extra.get("opened", "19740401"), extra.get("closed", "")]
    if key in ("epraccur", "egpcur"):
        row[12] = extra.get("status", "A")
        row[13] = "B" if key == "epraccur" else "P"
    if key == "epraccur":
        row[14], row[15], row[23], row[25] = "02A", "20130401", "02A", "4"
    if key in ("egpcur", "ets"):
        row[14], row[15] = extra["parent"], "20130401"
    row[17], row[21] = "0161 000 0000", "0"
    return row


def _ods_file(rows: list[list[str]], *, delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    lines = [delimiter.join(f'"{v}"' for v in row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


EXTRACTS = {
    "epraccur": [
        _ods_row("epraccur", "P91001", "FICTION MEDICAL CENTRE", "M32 0TH"),
        _ods_row("epraccur", "P91002", "IMAGINED SURGERY", "M41 5RN"),
        _ods_row("epraccur", "P91003", "CLOSED SURGERY", "M33 7ZF", closed="20190331"),
        _ods_row("epraccur", "P91004", "DORMANT SURGERY", "M33 7ZF", status="C"),
    ],
    "egpcur": [
        _ods_row("egpcur", "G9000001", "FICTION A", "M32 0TH", parent="P91001"),
        _ods_row("egpcur", "G9000002", "FICTION B", "M41 5RN", parent="P91002"),
    ],
    "etr": [
        _ods_row("etr", "RZ1", "FICTIONAL NHS FOUNDATION TRUST", "M13 9WL"),
        _ods_row("etr", "RZ2", "IMAGINED NHS TRUST", "ME14 1XX", closed="20200401"),
    ],
    "ets": [
        _ods_row("ets", "RZ101", "FICTIONAL GENERAL HOSPITAL", "M13 9WL", parent="RZ1"),
        _ods_row("ets", "RZ102", "FICTIONAL COMMUNITY CLINIC", "M15 4PS", parent="RZ1"),
    ],
}
TITLES = {
    "epraccur": "GP practice extract",
    "egpcur": "GP practitioner extract",
    "etr": "NHS trust extract",
    "ets": "NHS trust site extract",
}


@pytest.mark.parametrize("key", list(EXTRACTS))
def test_each_ods_layout_is_recognised_by_its_shape_and_named(key):
    raw = read_register(_ods_file(EXTRACTS[key]), name="extract.csv")  # not by its name
    note = f"read as the NHS ODS {TITLES[key]} ({key}), no header row"
    assert note in raw.notes
    assert len(raw.table) == len(EXTRACTS[key])  # the first record is a row, not a header
    assert raw.row_numbers.tolist() == list(range(1, len(EXTRACTS[key]) + 1))
    layout = layout_of_columns(raw.table.columns)
    assert layout is not None and layout.key == key
    assert raw.table["Organisation Code"].tolist() == [r[0] for r in EXTRACTS[key]]


def test_a_gp_practice_extract_imports_with_the_agency_from_its_rows(tmp_path):
    p = prepare_register(_ods_file(EXTRACTS["epraccur"]), name="epraccur.csv")
    assert "read as the NHS ODS GP practice extract (epraccur), no header row" in p.report.notes
    assert p.report.kind == "sites"
    rows = p.rows.set_index("source_ref")
    assert rows["agency"].to_dict() == {
        "P91001": "FICTION MEDICAL CENTRE",
        "P91002": "IMAGINED SURGERY",
    }
    assert set(rows["sector"]) == {"health"}
    assert rows.loc["P91001", "postcode"] == "M32 0TH"
    assert rows.loc["P91001", "address"].startswith("1 FICTION STREET, TRAFFORD")
    closed = p.quarantine.set_index("row")
    assert closed["reason_code"].to_dict() == {3: "closed", 4: "closed"}
    assert closed.loc[3, "reason"] == "the organisation closed on 2019-03-31"
    assert closed.loc[3, "column"] == "Close Date"
    assert closed.loc[4, "reason"] == "the status C means the organisation closed"
    assert p.report.reason_labels["closed"] == "organisation closed"
    preview = p.columns.preview().set_index("field")
    assert preview.loc["agency", "how"] == "ODS epraccur layout"


@pytest.mark.parametrize(
    ("key", "agencies", "quarantined"),
    [
        ("etr", {"RZ1": "FICTIONAL NHS FOUNDATION TRUST"}, 1),
        ("ets", {"RZ101": "RZ1", "RZ102": "RZ1"}, 0),
        ("egpcur", {"G9000001": "P91001", "G9000002": "P91002"}, 0),
    ],
)
def test_trust_site_and_practitioner_extracts_take_their_agency_from_the_data(
    key, agencies, quarantined
):
    p = prepare_register(_ods_file(EXTRACTS[key]), name=f"{key}.csv")
    assert p.rows.set_index("source_ref")["agency"].to_dict() == agencies
    assert set(p.rows["sector"]) == {"health"}
    assert p.report.quarantined == quarantined


def test_an_ods_extract_delimited_with_not_signs_in_cp1252_is_recognised():
    data = _ods_file(EXTRACTS["ets"], delimiter="¬", encoding="cp1252")
    p = prepare_register(data, name="ets.csv")
    assert "read as the NHS ODS NHS trust site extract (ets), no header row" in p.report.notes
    assert p.report.accepted == 2


def test_the_agency_given_wins_over_an_extracts_own():
    p = prepare_register(
        _ods_file(EXTRACTS["epraccur"]), name="epraccur.csv", agency="NHS Greater Manchester"
    )
    assert set(p.rows["agency"]) == {"NHS Greater Manchester"}


def test_registers_that_only_look_alike_are_not_taken_for_an_extract():
    headed = [["Organisation Code", *[f"Column {i}" for i in range(2, 28)]], EXTRACTS["etr"][0]]
    assert find_layout(headed) is None  # a header row: read by its headers
    short = [r[:26] for r in EXTRACTS["epraccur"]]
    assert find_layout(short) is None  # 26 fields
    no_postcode = [list(EXTRACTS["etr"][0])]
    no_postcode[0][9] = "NOT A POSTCODE"
    assert find_layout(no_postcode) is None
    bad_date = [list(EXTRACTS["etr"][0])]
    bad_date[0][10] = "01/04/1974"
    assert find_layout(bad_date) is None
    assert [layout.key for layout in LAYOUTS] == ["epraccur", "egpcur", "etr", "ets"]


def test_the_command_line_imports_an_extract_and_names_its_layout(tmp_path, capsys):
    path = tmp_path / "etr.csv"
    path.write_bytes(_ods_file(EXTRACTS["etr"]))
    assert main(["import", str(path), "--store", str(tmp_path / "estate.gpkg")]) == 0
    out = capsys.readouterr().out
    assert "read as the NHS ODS NHS trust extract (etr), no header row" in out
    sites = open_store(tmp_path / "estate.gpkg").sites()
    assert sites["agency"].tolist() == ["FICTIONAL NHS FOUNDATION TRUST"]


# --- a register with no agency ----------------------------------------------------------

NAMELESS = b"Site name,Postcode\nHall,TN1 1AA\nDepot,ME14 1XX\n"
NO_AGENCY_MESSAGE = (
    r"^the register names no agency in its rows \(it has no agency column\): give the agency "
    r"its rows belong to with --agency \(in the app, the Agency box\) or in a profile; "
    r"nothing was imported$"
)


@pytest.fixture
def store_path(tmp_path) -> Path:
    """A store holding one register already."""
    path = tmp_path / "estate.gpkg"
    import_register(
        b"Site name,Postcode\nStation,TN1 1AA\n",
        name="police.csv",
        store=path,
        agency="Kent Police",
    )
    return path


def test_a_register_with_no_agency_stops_and_the_store_is_unchanged(store_path):
    before = store_path.read_bytes()
    files = sorted(store_path.parent.iterdir())
    with pytest.raises(InvalidArgumentError, match=NO_AGENCY_MESSAGE) as caught:
        import_register(NAMELESS, name="nameless.csv", store=store_path)
    assert is_no_agency(caught.value)
    assert store_path.read_bytes() == before
    assert sorted(store_path.parent.iterdir()) == files  # no temporary copy left either
    with pytest.raises(InvalidArgumentError, match=NO_AGENCY_MESSAGE):
        prepare_register(NAMELESS, name="nameless.csv")  # the app's preview


def test_an_empty_agency_column_is_no_agency(store_path):
    before = store_path.read_bytes()
    empty = b"Site name,Agency,Postcode\nHall, ,TN1 1AA\nDepot,,ME14 1XX\n"
    with pytest.raises(InvalidArgumentError, match=r"\(its 'Agency' column is empty\): .*--agency"):
        import_register(empty, name="empty.csv", store=store_path)
    assert store_path.read_bytes() == before


def test_a_register_with_no_agency_imports_with_one_given(store_path):
    report = import_register(NAMELESS, name="nameless.csv", store=store_path, agency="KCC")
    assert report.accepted == 2
    sites = open_store(store_path).sites()
    assert set(sites.loc[sites["source_file"] == "nameless.csv", "agency"]) == {"KCC"}


def test_the_command_line_names_agency_once_and_changes_nothing(store_path, tmp_path, capsys):
    register = tmp_path / "nameless.csv"
    register.write_bytes(NAMELESS)
    before = store_path.read_bytes()
    assert main(["import", str(register), "--store", str(store_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"assetmap: error: {NO_AGENCY}")
    assert "--agency" in err[0]
    assert store_path.read_bytes() == before
    args = ["import", str(register), "--store", str(store_path), "--agency", "KCC"]
    assert main(args) == 0


def test_the_app_asks_for_the_agency_and_imports_with_it(store_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from assetmap.app import registers_page
    from assetmap.app.navigation import page_path
    from assetmap.store import STORE_ENV
    from tests.app.conftest import run_app, shown

    monkeypatch.setenv(STORE_ENV, str(store_path))
    before = store_path.read_bytes()
    at = run_app(AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=300))
    at.switch_page(str(page_path("registers").relative_to(ROOT)))
    run_app(at)
    at.file_uploader(key=registers_page.UPLOAD_KEY).set_value(
        ("nameless.csv", NAMELESS, "text/csv")
    )
    run_app(at)
    assert any("names no agency in its rows" in shown(w.value) for w in at.warning)
    assert not at.error
    assert "register_import" not in {b.key for b in at.button}  # nothing to import yet
    assert store_path.read_bytes() == before
    at.text_input(key=registers_page.ASK_AGENCY_KEY).input("Kent County Council")
    run_app(at)
    assert at.text_input(key=registers_page.AGENCY_KEY).value == "Kent County Council"
    at.button(key="register_import").click()
    run_app(at)
    sites = open_store(store_path).sites()
    assert set(sites.loc[sites["source_file"] == "nameless.csv", "agency"]) == {
        "Kent County Council"
    }


# --- agencies written as ONS codes -------------------------------------------------------


def test_agencies_written_as_ons_codes_are_shown_by_name():
    p = prepare_register(
        b"Site name,Agency,Postcode\nTown Hall,E08000009,M32 0TH\nOffices,E07000110,ME14 1XX\n"
        b"Depot,E07999999,ME14 1XX\nStation,Kent Police,TN1 1AA\n",
        name="codes.csv",
        sector="council",
    )
    agencies = p.rows.set_index("name")["agency"].to_dict()
    assert agencies == {
        "Town Hall": "Trafford",
        "Offices": "Maidstone",
        "Depot": "E07999999",  # no body has that code: kept as written
        "Station": "Kent Police",
    }
    notes = " ".join(p.report.notes)
    assert "shown by the body's name: E07000110 as 'Maidstone', E08000009 as 'Trafford'" in notes
    assert "ONS codes assetmap does not know are kept as written: E07999999" in notes


def test_an_agency_given_as_a_code_is_kept_as_given():
    """The agency given (--agency, a profile, the signed-in user's) is the source's owner:
    it is kept exactly, so its owner still sees its own restricted sites."""
    p = prepare_register(NAMELESS, name="n.csv", agency="E07000110", sector="council")
    assert set(p.rows["agency"]) == {"E07000110"}
    assert not any("ONS codes" in n for n in p.report.notes)


def test_ons_codes_of_nhs_bodies_and_welsh_authorities_are_shown_by_name():
    p = prepare_register(
        b"Site name,Agency,Postcode\nHQ,E54000057,M15 4PS\nClinic,E38000187,M32 0TH\n"
        b"Hall,W06000015,CF14 4XW\n",
        name="bodies.csv",
        sector="health",
    )
    assert p.rows.set_index("name")["agency"].to_dict() == {
        "HQ": "NHS Greater Manchester Integrated Care Board",
        "Clinic": "NHS Greater Manchester ICB - 02A",
        "Hall": "Cardiff",
    }
