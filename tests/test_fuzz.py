"""Property-based fuzzing of the importer with hypothesis.

Valid registers from ``sample_estates/`` are mutated (bytes flipped, files cut
short, delimiters, quotes, newlines and NULs inserted, re-encoded, headers
rewritten) and handed to :func:`prepare_register`. Whatever the mutation, it must
return a :class:`PreparedRegister` whose every row is accepted or quarantined, or
raise one of the project's own errors: never anything else. The examples are
derandomised (the same on every run) and bounded, and have no deadline.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assetmap.errors import AssetmapError
from assetmap.registers.importer import PreparedRegister, prepare_register

SAMPLE = Path(__file__).resolve().parents[1] / "sample_estates"
TEXT_REGISTERS = sorted(p.name for p in SAMPLE.glob("*.csv"))
ALL_REGISTERS = sorted(
    p.name for p in SAMPLE.iterdir() if p.suffix in {".csv", ".xlsx", ".zip", ".geojson", ".gpkg"}
)
_BYTES = {name: (SAMPLE / name).read_bytes() for name in ALL_REGISTERS}

FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _check(data: bytes, name: str) -> None:
    try:
        prepared = prepare_register(data, name=name)
    except AssetmapError as exc:
        assert str(exc), "an error must say what is wrong"
        return
    assert isinstance(prepared, PreparedRegister)
    report = prepared.report
    assert report.rows_read == report.accepted + report.quarantined
    assert len(prepared.rows) == report.accepted


@st.composite
def _byte_mutations(draw, names: list[str]) -> tuple[str, bytes]:
    """A sample register with a few byte-level changes."""
    name = draw(st.sampled_from(names))
    data = bytearray(_BYTES[name])
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "repeat"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[at] ^= draw(st.integers(1, 255))
        elif kind == "truncate":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(
                st.sampled_from([b",", b";", b"\t", b'"', b"'", b"\n", b"\r", b"\x00", b"\xff"])
                | st.binary(min_size=1, max_size=16)
            )
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif kind == "repeat":
            data[at:at] = data[at : at + draw(st.integers(1, 256))] * draw(st.integers(1, 4))
    return name, bytes(data)


@st.composite
def _text_mutations(draw) -> tuple[str, bytes]:
    """A sample CSV register with its text changed: header, cells, quoting, encoding."""
    name = draw(st.sampled_from(TEXT_REGISTERS))
    raw = _BYTES[name]
    text = raw.decode("utf-8-sig") if raw[:3] == b"\xef\xbb\xbf" else raw.decode("cp1252")
    lines = text.splitlines()
    lines = lines[: draw(st.integers(1, min(len(lines), 40)))]
    kind = draw(
        st.sampled_from(["header", "cell", "delimiter", "quote", "blank", "duplicate", "none"])
    )
    if kind == "header":
        lines[0] = draw(st.text(max_size=80))
    elif kind == "cell" and len(lines) > 1:
        row = draw(st.integers(1, len(lines) - 1))
        lines[row] = lines[row] + draw(st.sampled_from([",", ";", "\t"])) + draw(st.text())
    elif kind == "delimiter":
        old, new = draw(st.sampled_from([(",", ";"), ("\t", ","), (";", "|"), (",", "")]))
        lines = [line.replace(old, new) for line in lines]
    elif kind == "quote" and len(lines) > 1:
        row = draw(st.integers(0, len(lines) - 1))
        lines[row] = '"' + lines[row]
    elif kind == "blank":
        lines = [line if draw(st.booleans()) else "" for line in lines]
    elif kind == "duplicate":
        lines[0] = lines[0] + "," + lines[0]
    body = draw(st.sampled_from(["\n", "\r\n", "\r"])).join(lines)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16", "utf-16-le"]))
    return name, body.encode(encoding, errors="replace")


@pytest.mark.parametrize("name", ALL_REGISTERS)
def test_every_sample_register_reads_unchanged(name: str):
    """The starting points are valid registers: each is read, row by row."""
    report = prepare_register(_BYTES[name], name=name, agency="Fuzz", sector="other").report
    assert report.rows_read >= 30 and report.accepted > report.rows_read / 2


@FUZZ
@given(_byte_mutations(ALL_REGISTERS))
def test_byte_mutations_give_a_report_or_our_error(case: tuple[str, bytes]):
    name, data = case
    _check(data, name)


@FUZZ
@given(_text_mutations())
def test_text_mutations_give_a_report_or_our_error(case: tuple[str, bytes]):
    name, data = case
    _check(data, name)
