"""Read delimited text (CSV, TSV, or any one character between fields) into a table of text.

The encoding is found (UTF-8, UTF-8 with BOM, cp1252 or UTF-16 with a byte-order mark)
and the delimiter sniffed (any single character: ``,`` tab ``;`` ``|`` ``¬`` ``^``...);
the header is counted before any parser sees it. A UTF-8 file with a one-byte
delimiter goes to pyarrow's CSV reader as it is; ragged rows fall back to pandas'
reader. A headerless NHS ODS extract (:mod:`~assetmap.registers.ods`) is given its
layout's column names.
"""

from __future__ import annotations

import codecs
import collections
import csv
import functools
import io
import itertools
import re
from typing import cast

import numpy as np
import pandas as pd

from ..errors import RegisterReadError
from .limits import DEFAULT_MAX_COLUMNS, too_many_columns
from .ods import Layout, find_layout

__all__ = ["read_delimited", "utf16_text"]


def utf16_text(data: bytes) -> str:
    """Decode text that starts with a UTF-16 byte-order mark; undecodable bytes become U+FFFD."""
    return data.decode("utf-16", errors="replace").lstrip("\ufeff")


def _decode(data: bytes) -> tuple[str, str]:
    """Decode a whole file: UTF-16 by its byte-order mark, else UTF-8, cp1252 or latin-1.

    Returns
    -------
    text, encoding
        The text, and the name of the encoding it was read in.
    """
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return utf16_text(data), "UTF-16"
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1"), "latin-1"


def _decode_head(data: bytes) -> tuple[str, str, bool]:
    """Decode the file's first 65,536 characters or more, or the whole file.

    The head is decoded as UTF-8 (``"utf-8-sig"``) while it is UTF-8 so far; else the
    whole file is decoded as :func:`_decode` decodes it.

    Returns
    -------
    text, encoding, whole
        The text, its encoding, and whether the text is the whole file.
    """
    if data[:2] not in (b"\xff\xfe", b"\xfe\xff"):
        head = data[: 4 * 65536]  # four bytes a character at most
        try:
            whole = len(head) == len(data)
            text = codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=whole)
            return text, "utf-8-sig", whole
        except UnicodeDecodeError:
            pass
    return (*_decode(data), True)


#: Delimiters preferred, in order, where several characters split the lines alike.
_PREFERRED = ",\t;|¬^~:#"
#: Words for the delimiters the read note names.
_DELIMITER_NAMES = {
    ",": "comma",
    "\t": "tab",
    ";": "semicolon",
    "|": "pipe",
    ":": "colon",
    "¬": "not-sign (¬)",
    "^": "caret (^)",
}
#: Characters never taken for a delimiter: they are common inside values.
_NOT_DELIMITERS = frozenset(" \"'.-/()&%+@_£$*!?[]{}<>=\\\r\n\ufeff")
#: A quoted field (doubled quotes inside), dropped before the characters are counted.
_QUOTED = re.compile(r'"[^"]*(?:""[^"]*)*"?')
#: The share of lines a delimiter must split into as many fields as the header.
_CONSISTENT = 0.9


def _candidate(char: str) -> bool:
    """Say whether ``char`` could delimit fields: not a letter, digit or common punctuation."""
    if char == "\t":
        return True
    return not char.isalnum() and char not in _NOT_DELIMITERS and char.isprintable()


def _sniff_delimiter(sample: str) -> str:
    """Return the delimiter of the file whose first text this is: any single character.

    Quoted fields are dropped first, so a character found only inside quotes is
    never taken. Of the characters the header holds, the one that splits (nearly)
    every line into as many fields as the header wins; among several, a usual
    delimiter (comma, tab, semicolon, pipe, ``¬``, ``^``...) before an unusual one,
    then the one splitting the header into the most fields.

    Raises
    ------
    RegisterReadError
        If the first line holds no character that could be a delimiter.
    """
    lines = [line for line in _QUOTED.sub("", sample).splitlines() if line.strip()][:50]
    header = lines[0] if lines else ""
    counts = collections.Counter(c for c in header if _candidate(c))
    if not counts:
        raise RegisterReadError(
            "the file is not a table: no comma, tab, semicolon or other delimiter was "
            "found in its first line"
        )
    rows = lines[1:]

    def score(char: str) -> tuple[bool, int, float, int]:
        alike = sum(row.count(char) == counts[char] for row in rows) / len(rows) if rows else 1
        rank = _PREFERRED.find(char)
        return alike >= _CONSISTENT, -(rank if rank >= 0 else len(_PREFERRED)), alike, counts[char]

    return max(counts, key=score)


def _parse(
    data: bytes, head: tuple[str, str, bool], sample: str, delimiter: str, utf8: memoryview
) -> tuple[pd.DataFrame, str]:
    """Parse the whole file: by pyarrow where it can, else by pandas' reader.

    A UTF-8 file goes to pyarrow as it is (the parser checks every value is UTF-8);
    any other file, or one pyarrow refuses, is decoded whole and parsed as that text.

    Returns
    -------
    frame, encoding
        The table, every cell as text, and the encoding the file was read in.
    """
    text, encoding, whole = head
    frame = _parse_utf8(sample, delimiter, utf8) if encoding == "utf-8-sig" else None
    if frame is None:
        if not whole:
            text, encoding = _decode(data)
        if encoding != "utf-8-sig":  # now UTF-8 for pyarrow
            frame = _parse_utf8(sample, delimiter, text.encode("utf-8"))
        if frame is None:  # ragged rows and other oddities: pandas' reader copes, more slowly
            frame = _parse_text(text, delimiter)
    return frame, encoding


def read_delimited(
    data: bytes, notes: list[str], max_columns: int = DEFAULT_MAX_COLUMNS
) -> tuple[pd.DataFrame, np.ndarray]:
    """Read a delimited text file into a table of text.

    Only the file's head is decoded here, to sniff the delimiter (any single
    character: :func:`_sniff_delimiter`), count the header and see whether the file
    is a headerless NHS ODS extract (:func:`~assetmap.registers.ods.find_layout`);
    the parser reads the rest.

    Parameters
    ----------
    data
        The file's bytes.
    notes
        Receives a note of the encoding and delimiter the file was read with, and
        of the ODS layout it was read as.
    max_columns
        Refuse a header of more names than this, counted before any parser sees it.

    Returns
    -------
    table, row_numbers
        The table, and each row's number in the file (the header is row 1; in a
        headerless ODS extract the first row is row 1).

    Raises
    ------
    RegisterReadError
        If the file is empty, has no delimiter, too many columns or a single column.
    """
    head = _decode_head(data)
    sample = head[0][:65536]
    if not any(line.strip() for line in sample.splitlines()[:50]):
        raise RegisterReadError("the file is empty")
    delimiter = _sniff_delimiter(sample)
    layout = find_layout(_records(sample, delimiter))
    stand_in = None
    if layout is not None or not delimiter.isascii():
        data, head, stand_in = _rewritten(data, head, delimiter, layout)
        sample = head[0][:65536]
    parsed_with = stand_in or delimiter
    text, _, whole = head
    utf8 = memoryview(data)[3 if data.startswith(b"\xef\xbb\xbf") else 0 :]  # no copy
    # the header is counted before any parser sees it: a parser makes a column of each
    # name (and pandas renames repeated names in time that grows as their square)
    if _header_width(text if whole else utf8, parsed_with, max_columns) > max_columns:
        raise too_many_columns(None, max_columns)
    frame, encoding = _parse(data, head, sample, parsed_with, utf8)
    if stand_in is not None:
        frame = _restored(frame, stand_in, delimiter)
    if frame.shape[1] < 2:
        raise RegisterReadError(
            "the file is not a table: its header has a single column "
            f"({frame.columns[0]!r}); a register needs at least a name and a location"
        )
    named = _DELIMITER_NAMES.get(delimiter, repr(delimiter))
    notes.append(f"read as text in {encoding} with {named} delimiters")
    if layout is not None:
        notes.append(layout.description)
    rows = np.arange(len(frame), dtype="int64") + (1 if layout is not None else 2)
    return frame, rows


def _records(sample: str, delimiter: str) -> list[list[str]]:
    """Return the first 50 records of the file's first text, as the csv module reads them."""
    try:
        return list(itertools.islice(csv.reader(io.StringIO(sample), delimiter=delimiter), 50))
    except csv.Error:  # a stray carriage return...: not an ODS extract
        return []


#: Characters that may stand in for a delimiter pyarrow cannot take (it reads one byte).
_STAND_INS = "".join(chr(c) for c in range(1, 32) if chr(c) not in "\t\n\r")


def _rewritten(
    data: bytes, head: tuple[str, str, bool], delimiter: str, layout: Layout | None
) -> tuple[bytes, tuple[str, str, bool], str | None]:
    """Return the file as UTF-8 a parser can read: a one-byte delimiter, and a header.

    A delimiter that is not ASCII (``¬``) is replaced by a control character the
    file does not hold, everywhere (quoted fields too: :func:`_restored` puts it
    back); a headerless ODS extract gets its layout's names as a header line.

    Returns
    -------
    data, head, stand_in
        The new bytes, their text (as :func:`_decode_head` returns it, whole) and
        the character standing in for the delimiter (``None`` when it is ASCII).

    Raises
    ------
    RegisterReadError
        If the delimiter is not ASCII and the file holds every character that could
        stand in for it.
    """
    text, encoding, whole = head
    if not whole:
        text, encoding = _decode(data)
    stand_in = None
    if not delimiter.isascii():
        stand_in = next((c for c in _STAND_INS if c not in text), None)
        if stand_in is None:
            raise RegisterReadError(
                f"the file cannot be read with {delimiter!r} delimiters: it also holds every "
                "control character, so it is not a register's text"
            )
        text = text.replace(delimiter, stand_in)
    if layout is not None:
        text = (stand_in or delimiter).join(layout.columns) + "\n" + text
    return text.encode("utf-8"), (text, encoding, True), stand_in


def _restored(frame: pd.DataFrame, stand_in: str, delimiter: str) -> pd.DataFrame:
    """Put ``delimiter`` back where ``stand_in`` stood for it: in quoted values and headers."""
    out = frame.rename(columns=lambda c: str(c).replace(stand_in, delimiter))
    for column in out.columns:
        values = out[column]
        if values.astype("str").str.contains(stand_in, regex=False).any():
            out[column] = values.str.replace(stand_in, delimiter, regex=False)
    return out


@functools.cache
def _field_pattern(delimiter: str, binary: bool) -> re.Pattern:
    """Return the pattern of one field of delimited text and the character after it.

    A field is a quoted field (doubled quotes inside; it may hold delimiters and line
    breaks) or text up to the next delimiter.
    """
    d = re.escape(delimiter)
    pattern = rf'(?:"[^"]*(?:""[^"]*)*"[^{d}\r\n]*|[^{d}\r\n]*)({d})?'
    return re.compile(pattern.encode("ascii") if binary else pattern)


def _header_width(text: str | bytes | memoryview, delimiter: str, limit: int) -> int:
    """Count the fields in the first record of ``text``, up to ``limit + 1``.

    Linear in the header's length, and it stops as soon as the count passes ``limit``.
    Bytes are counted as they are: delimiters and quotes are ASCII, which no byte of a
    UTF-8 (or cp1252) character other than themselves can be.
    """
    binary = not isinstance(text, str)
    pattern: re.Pattern = _field_pattern(delimiter, binary)
    blank: re.Pattern = re.compile(rb"[\r\n]*" if binary else r"[\r\n]*")
    # both patterns match the empty text, so a match is never None
    at = cast("re.Match", blank.match(text)).end()  # blank lines above the header are skipped
    count = 0
    while count <= limit:
        field = cast("re.Match", pattern.match(text, at))
        count += 1
        if field.group(1) is None:  # the end of the line or of the text
            break
        at = field.end()
    return count


def _header(sample: str, delimiter: str) -> list[str]:
    """Return the header row's names as the csv module reads them from the file's first text."""
    try:
        return next(csv.reader(io.StringIO(sample), delimiter=delimiter), [])
    except csv.Error:  # a stray carriage return...: pandas' reader decides
        return []


def _parse_utf8(sample: str, delimiter: str, utf8: bytes | memoryview) -> pd.DataFrame | None:
    """Parse a UTF-8 file with pyarrow, every cell as a string.

    Returns ``None`` when pyarrow cannot (ragged rows, bytes that are not UTF-8 after
    all...).
    """
    header = _header(sample, delimiter)
    if not header or not all(h.strip() for h in header):
        return None
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        table = pacsv.read_csv(
            pa.BufferReader(pa.py_buffer(utf8)),  # the bytes as they are, not a copy
            read_options=pacsv.ReadOptions(block_size=16 << 20),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={h: pa.large_string() for h in header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowException):
        return None
    if len(set(table.column_names)) != table.num_columns:  # repeated names, as pandas has them
        table = table.rename_columns(_numbered_like_pandas(table.column_names))
    return table.to_pandas(
        types_mapper=lambda t: pd.StringDtype(na_value=np.nan) if t == pa.large_string() else None
    )


def _numbered_like_pandas(names: list[str]) -> list[str]:
    """Rename repeated names as pandas' CSV reader numbers them.

    ``x``, ``x.1``, ``x.2``..., skipping a name the header already has, in time linear
    in the number of names: pandas' own renaming searches the whole header for each
    repeat.
    """
    taken = set(names)
    counts: dict[str, int] = {}
    out = []
    for name in names:
        column, count = name, counts.get(name, 0)
        while count > 0:
            counts[name] = count + 1
            column = f"{name}.{count}"
            count = count + 1 if column in taken else counts.get(column, 0)
        taken.add(column)
        counts[column] = count + 1
        out.append(column)
    return out


def _parse_text(text: str, delimiter: str) -> pd.DataFrame:
    """Parse delimited text with pandas' reader, every cell as a string."""
    try:
        return pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype="str",
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=True,
            engine="c",
        )
    except pd.errors.EmptyDataError:
        raise RegisterReadError("the file is empty") from None
    except (pd.errors.ParserError, ValueError, csv.Error) as exc:
        raise RegisterReadError(f"the file is not a readable table: {exc}") from None
