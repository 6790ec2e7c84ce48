"""Give each record a stable id from who holds it and its key.

The same agency, sector and key always give the same id, in any import: a 64-bit
hash of the parts (pandas' SipHash, combined modulo 2**64) written as a letter
(``S`` site, ``R`` request, ``G`` shared group) and 16 hex digits. Agencies are
compared by :func:`norm_key`: their names in lower-case letters and digits.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionArray

from ..schema import arrow_strings, one_value
from .text import constant_text

__all__ = ["hex_ids", "key_hashes", "norm_key", "stable_ids"]


def norm_key(values: pd.Series) -> pd.Series:
    """Return the text in lower-case letters and digits only: "The Hub, Sale" is "thehubsale"."""
    import pyarrow.compute as pc

    arr = arrow_strings(values)
    if len(arr) > 1 and one_value(arr):  # one value (an agency): normalised once
        one = pc.replace_substring_regex(pc.utf8_lower(arr[:1]), "[^a-z0-9]", "")[0].as_py()
        return constant_text(one, values.index)
    arr = pc.replace_substring_regex(pc.utf8_lower(arr), "[^a-z0-9]", "")
    return pd.Series(arr, index=values.index, dtype=pd.StringDtype(na_value=np.nan))


def stable_ids(prefix: str, parts: Sequence[pd.Series]) -> pd.Series:
    """Return deterministic ids from key parts: the same parts always give the same id.

    Parameters
    ----------
    prefix
        ``"S"`` for sites, ``"R"`` for requests.
    parts
        Aligned text series that together identify a record.

    Returns
    -------
    pandas.Series
        Ids such as ``"S3f9a0c1d2e4b5a67"`` (a 64-bit hash in hex).
    """
    return pd.Series(hex_ids(prefix, key_hashes(parts)), index=parts[0].index)


@functools.lru_cache(maxsize=256)
def _hash_one(value: str) -> np.uint64:
    """Return one text's hash, as :func:`key_hashes` hashes each part.

    An agency or sector is the same on every row of a register, and of each of
    its chunks: cached, it is hashed once.
    """
    return np.uint64(pd.util.hash_array(np.array([value], dtype=object))[0])


def key_hashes(parts: Sequence[pd.Series | str]) -> np.ndarray:
    """Return the 64-bit hash behind :func:`stable_ids`: equal parts, equal hash, equal id.

    A part may be one text for every row (then it hashes as a column holding it
    would); at least one part is a column.

    Each part's text is hashed with pandas' SipHash (``pandas.util.hash_array``),
    and the parts are combined by multiply-and-add modulo 2**64. The id is this
    number in hex, so two rows have the same id exactly when they have the same
    hash, and duplicates can be found on the numbers, without the text.
    """
    n = next(len(part) for part in parts if not isinstance(part, str))
    hashed = np.zeros(n, dtype=np.uint64)
    for part in parts:
        if isinstance(part, str):
            with np.errstate(over="ignore"):
                hashed = hashed * np.uint64(0x9E3779B97F4A7C15) + _hash_one(part)
            continue
        text = part.astype(str)
        if len(text) and one_value(arrow_strings(text)):  # one value for all: hash it once
            h = np.full(len(text), _hash_one(text.iloc[0]), dtype=np.uint64)
        else:
            # categorize=False gives the same hashes; it only skips a factorisation that
            # costs more than it saves when most values are distinct, as keys are
            h = pd.util.hash_array(text.to_numpy(dtype=object), categorize=False)
            h = h.astype(np.uint64)
        with np.errstate(over="ignore"):  # arithmetic modulo 2**64 is the point
            hashed = hashed * np.uint64(0x9E3779B97F4A7C15) + h
    return hashed


#: Two hex digits for each byte value, as one little-endian 16-bit unit each.
_HEX_UNITS = np.frombuffer(
    "".join(f"{i:02x}" for i in range(256)).encode("ascii"), dtype="<u2"
).copy()


def hex_ids(prefix: str, values: np.ndarray) -> ExtensionArray:
    """Return ``prefix`` and 16 hex digits for each unsigned 64-bit value, vectorised."""
    import pyarrow as pa

    n = len(values)
    big_endian = values.astype(">u8").view(np.uint8).reshape(n, 8)
    record = np.dtype([("prefix", "u1"), ("digits", "<u2", (8,))])  # packed: 17 bytes
    chars = np.empty(n, dtype=record)
    chars["prefix"] = ord(prefix)
    chars["digits"] = _HEX_UNITS[big_endian]
    offsets = np.arange(0, 17 * (n + 1), 17, dtype=np.int32)
    arr = pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(chars))
    return pd.array(arr, dtype=pd.StringDtype(na_value=np.nan))
