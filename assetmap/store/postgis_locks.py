"""The PostGIS store's advisory locks: who waits for whom while a change is written.

Writers of one source (an import, a removal, an exchange edit of its rows) wait for each
other (:func:`lock_source`); the shared-site groups are settled by one writer at a time
(:data:`SHARED_LOCK`); exchange moves are made one at a time (:data:`EXCHANGE_LOCK`). A
write takes them in the order exchange, source, shared, and holds them until it commits.
"""

from __future__ import annotations

__all__ = ["EXCHANGE_LOCK", "SHARED_LOCK", "lock_source"]

#: The advisory lock under which the shared-site groups are settled ("shared").
SHARED_LOCK = 0x7368617265640000
#: The advisory lock every exchange move holds until it commits ("exchange").
EXCHANGE_LOCK = 0x65786368616E6765


def lock_source(cur, owner: str, source_file: str) -> None:
    """Serialise the writers of one source (owner and name), until the transaction ends."""
    cur.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"{owner}\x1f{source_file}",)
    )
