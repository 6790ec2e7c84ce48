"""Importing a chunk at a time (checks overlapping the store's insert) changes nothing."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assetmap.errors import InvalidArgumentError
from assetmap.registers import importer
from assetmap.registers.importer import import_register, prepare_register
from assetmap.registers.locate import locate_rows
from assetmap.registers.validate import SiteChecks, check_sites
from assetmap.sample import sample_registers
from assetmap.store import open_store

WHEN = "2026-11-23T12:00:00Z"


def _build(path, monkeypatch, chunk_rows: int) -> list[dict]:
    monkeypatch.setattr(importer, "CHUNK_ROWS", chunk_rows)
    reports = []
    for reg in sample_registers():
        options = {k: reg[k] for k in ("kind", "agency", "sector", "layer", "profile") if k in reg}
        reports.append(import_register(reg["path"], store=path, imported_at=WHEN, **options))
    # another agency's register naming 25 of the police sites: shared sites
    police_sites = open_store(path).sites()
    police_sites = police_sites[police_sites["agency"].str.contains("Police")].head(25)
    shared = pd.DataFrame(
        {"Site name": police_sites["name"], "Postcode": police_sites["postcode"]}
    ).to_csv(index=False)
    reports.append(
        import_register(
            shared.encode(),
            name="shared.csv",
            store=path,
            imported_at=WHEN,
            agency="NHS Shared",
            sector="health",
        )
    )
    # the police register again under another name: every site is already in the estate
    police = next(r for r in sample_registers() if r["path"].name == "kent_police_estate.csv")
    reports.append(
        import_register(
            police["path"].read_bytes(),
            name="police_copy.csv",
            store=path,
            imported_at=WHEN,
            agency=police.get("agency"),
            sector=police.get("sector"),
        )
    )
    return [r.to_dict() for r in reports]


@pytest.mark.slow
def test_a_chunked_import_reports_what_prepare_register_finds(tmp_path, monkeypatch):
    monkeypatch.setattr(importer, "CHUNK_ROWS", 5)
    for reg in sample_registers():
        options = {k: reg[k] for k in ("kind", "agency", "sector", "layer", "profile") if k in reg}
        prepared = prepare_register(reg["path"], imported_at=WHEN, **options)
        report = import_register(
            reg["path"], store=tmp_path / f"{reg['path'].stem}.gpkg", imported_at=WHEN, **options
        )
        assert report.stored and report.replaced_rows == 0
        report.stored = False
        assert report.to_dict() == prepared.report.to_dict(), reg["path"].name
        if report.kind == "sites":
            stored = open_store(tmp_path / f"{reg['path'].stem}.gpkg").sites()
            expected = prepared.rows.drop(columns="shared_group")
            got = stored.drop(columns="shared_group")[list(expected.columns)]
            pd.testing.assert_frame_equal(pd.DataFrame(got), pd.DataFrame(expected))


@pytest.mark.slow
def test_a_chunked_import_gives_the_store_and_reports_of_a_whole_one(tmp_path, monkeypatch):
    whole = _build(tmp_path / "whole.gpkg", monkeypatch, 10**9)
    chunked = _build(tmp_path / "chunked.gpkg", monkeypatch, 7)
    assert chunked == whole
    # the estate has shared sites (a restricted site takes no part: it would flag its twin)
    assert whole[-2]["shared_sites"] == 24
    assert whole[-1]["accepted"] == 0 and whole[-1]["reasons"]["duplicate"] > 80  # clashes
    a, b = open_store(tmp_path / "whole.gpkg"), open_store(tmp_path / "chunked.gpkg")
    for layer in ("sites", "footprints", "requests", "quarantine", "imports"):
        left, right = getattr(a, layer)(), getattr(b, layer)()
        assert len(left) > 0, layer
        pd.testing.assert_frame_equal(pd.DataFrame(left), pd.DataFrame(right), obj=layer)
    assert a.sites()["shared_group"].ne("").sum() > 0


def test_site_checks_in_chunks_equal_the_whole_check():
    reg = next(r for r in sample_registers() if r["path"].name == "kent_police_estate.csv")
    prepared = prepare_register(reg["path"], agency="Kent Police", sector="police")
    raw = prepared.raw
    located = locate_rows(raw.table, prepared.columns)
    sites, footprints, quarantine, notes = check_sites(
        raw.table, raw.row_numbers, prepared.columns, located, points=False
    )
    checks = SiteChecks(raw.table, raw.row_numbers, prepared.columns, located)
    parts = [checks.chunk(i, min(i + 10, checks.n)) for i in range(0, checks.n, 10)]
    got = pd.concat(parts, ignore_index=True)
    pd.testing.assert_frame_equal(got, sites)
    fp, q, n = checks.finish()
    pd.testing.assert_frame_equal(q, quarantine)
    assert n == notes and len(fp) == len(footprints)
    assert len(quarantine) > 0


def test_site_checks_refuse_chunks_out_of_order():
    reg = next(r for r in sample_registers() if r["path"].name == "kent_police_estate.csv")
    prepared = prepare_register(reg["path"], agency="Kent Police", sector="police")
    located = locate_rows(prepared.raw.table, prepared.columns)
    checks = SiteChecks(prepared.raw.table, prepared.raw.row_numbers, prepared.columns, located)
    with pytest.raises(InvalidArgumentError, match=r"rows 5:10 are not the next chunk: expected "):
        checks.chunk(5, 10)
    checks.chunk(0, 5)
    with pytest.raises(InvalidArgumentError, match=r"rows 5:\d+ have not been checked"):
        checks.finish()


@settings(max_examples=25, deadline=None)
@given(
    refs=st.lists(st.sampled_from(["A", "B", "C", "D", ""]), min_size=1, max_size=30),
    size=st.integers(min_value=1, max_value=8),
)
def test_duplicates_across_chunks_are_those_of_the_whole_register(refs, size):
    postcodes = ["TN1 1AA", "ME99 9ZZ", "", "TN1", "BT1 1AA"]  # found, not found, none...
    text = "Ref,Site name,Postcode,GIA (sq ft)\n" + "".join(
        f"{r},Site {i % 3},{postcodes[i % 5]},{'x' if i % 7 == 3 else 100}\n"
        for i, r in enumerate(refs)
    )
    prepared = prepare_register(text.encode(), name="t.csv", agency="A", sector="police")
    raw, cmap = prepared.raw, prepared.columns
    located = locate_rows(raw.table, cmap)
    sites, _, quarantine, notes = check_sites(
        raw.table, raw.row_numbers, cmap, located, points=False
    )
    # located as a whole, or a chunk at a time (the rows are placed each on its own)
    for where in (located, lambda chunk: locate_rows(chunk, cmap)):
        checks = SiteChecks(raw.table, raw.row_numbers, cmap, where)
        parts = [checks.chunk(i, min(i + size, checks.n)) for i in range(0, checks.n, size)]
        pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), sites)
        _, q, n = checks.finish()
        pd.testing.assert_frame_equal(q, quarantine)
        assert n == notes


@pytest.mark.parametrize("n", [0, 1, 8_191, 8_193, 70_000, 200_000, 1_000_000])
def test_chunks_cover_every_row_once_small_at_both_ends(n):
    starts = importer._chunk_starts(n)
    sizes = [b - a for a, b in zip(starts, [*starts[1:], n][: len(starts)], strict=True)]
    assert sum(sizes) == n and all(size > 0 for size in sizes)
    assert max(sizes, default=0) <= importer.CHUNK_ROWS
    if n > importer._EDGE_CHUNK_ROWS:
        assert sizes[0] == importer._EDGE_CHUNK_ROWS >= sizes[-1]
