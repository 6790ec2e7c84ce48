"""Store a register's chunks in a second thread while the next chunk is made.

Both stores write a big register a chunk at a time: the importer checks a chunk while
the store writes the one before (the GeoPackage's bulk writer, the PostGIS store's
``COPY``), so checking and writing overlap instead of following each other.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor

import pandas as pd

__all__ = ["store_overlapped"]

#: Chunks made and waiting to be stored: a chunk slow to store holds up the checks only
#: when the next one is slow too.
IN_FLIGHT = 2


def store_overlapped(
    frames: Iterable[pd.DataFrame], store: Callable[[pd.DataFrame], None], *, name: str
) -> None:
    """Call ``store`` on each frame, in order, in a second thread, while the next is made.

    ``store`` runs one frame at a time, on what the caller does not touch meanwhile
    (its connection, its cursor). Once a frame fails, no later one is stored (the
    caller's transaction is lost anyway); an error on either side (making a frame or
    storing one) is raised here once no ``store`` is running, so the caller can roll
    back.

    Parameters
    ----------
    frames
        The frames, made as they are asked for (the importer's checked chunks).
    store
        Stores one frame.
    name
        The thread's name prefix (it shows in a traceback).
    """
    failed = threading.Event()

    def store_one(frame: pd.DataFrame) -> None:
        if failed.is_set():  # a frame before failed: the transaction is lost anyway
            return
        try:
            store(frame)
        except BaseException:
            failed.set()
            raise

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=name) as pool:
        pending: collections.deque[Future[None]] = collections.deque()
        try:
            for frame in frames:
                while len(pending) >= IN_FLIGHT or (pending and failed.is_set()):
                    pending.popleft().result()
                pending.append(pool.submit(store_one, frame))
            while pending:
                pending.popleft().result()
        except BaseException:
            failed.set()
            for waiting in pending:
                waiting.cancel()
            raise  # (leaving the pool waits for a frame still being stored)
