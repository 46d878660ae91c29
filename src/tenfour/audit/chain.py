"""Tamper evidence for the audit log: a SHA-256 hash chain over the entries, and its check.

Every entry has a link in ``audit_chain``: its position (``seq`` 1, 2, 3, ...), the hash of the link before it
(64 zeros for the first) and its own hash::

    entry_hash = SHA-256(canonical JSON of {the entry's fields (FIELDS), "seq": position, "prev_hash": previous hash})

Canonical JSON: keys sorted, no whitespace, ASCII only; the time as ISO 8601 in UTC with microseconds. So changing
any field of an entry changes its hash; removing, inserting or reordering entries breaks the link of the entry after;
removing entries at the end leaves the head (``audit_chain_head``) pointing past the last link.

When the links are written: in the session's ``before_commit`` hook, after everything else the transaction did, under
a lock on the single head row (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite already serialises writers with
``BEGIN IMMEDIATE``, see ``tenfour.db``). The lock is held for the commit only, not for the whole request: concurrent
requests queue for milliseconds, and a transaction waiting for it never holds it while waiting for another lock, so
it cannot deadlock. The chain's order is therefore the order in which entries were committed, which on PostgreSQL is
not always the order of their ids.

What it proves, and what it does not: anyone who edits, deletes or reorders entries with SQL (the append-only
triggers can be dropped by a database superuser) is caught by ``tenfour audit verify`` unless they also recompute
every later hash and the head. To catch that too, keep the head hash outside the database: every backup's manifest
records it, and ``tenfour audit verify`` prints it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, insert, inspect, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from tenfour.audit.models import AuditChainHead, AuditChainLink, AuditEvent
from tenfour.db import utcnow

GENESIS = "0" * 64
HEAD_ID = 1
# The entry's fields that are hashed, by name. Frozen: a new column of audit_events is not covered until a new chain
# version says so (the migration that backfilled the chain has its own copy of this list and of canonical()).
FIELDS = ("id", "at", "actor_user_id", "actor_label", "actor_role", "action", "clinic_id", "patient_id",
          "record_type", "record_id", "ip_address", "user_agent", "detail")
UNCHAINED = "tenfour.audit.unchained"  # session.info key: entries written in this transaction, not yet linked
_READ_BATCH = 500

_events = AuditEvent.__table__
_links = AuditChainLink.__table__
_head = AuditChainHead.__table__


def canonical(entry: Mapping[str, Any], seq: int, prev_hash: str) -> bytes:
    """The bytes that are hashed: the entry's FIELDS, its position and the previous hash, as canonical JSON."""
    document: dict[str, Any] = {}
    for name in FIELDS:
        value = entry[name]
        if isinstance(value, datetime):
            value = value.astimezone(UTC).isoformat(timespec="microseconds")
        document[name] = value
    document["seq"] = seq
    document["prev_hash"] = prev_hash
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def entry_hash(entry: Mapping[str, Any], seq: int, prev_hash: str) -> str:
    return hashlib.sha256(canonical(entry, seq, prev_hash)).hexdigest()


# --- Appending (at commit) ------------------------------------------------------------------------------------------


def track(db: Session, entry: AuditEvent) -> None:
    """Called by ``audit.service.record``: link this entry when the transaction commits."""
    db.info.setdefault(UNCHAINED, []).append(entry)


def _dialect_insert(db: Session):  # type: ignore[no-untyped-def]
    return pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert


def _lock_head(db: Session) -> tuple[int, str]:
    """The head (seq, hash), locked until the transaction ends. Created on first use if a database lacks it."""
    query = select(_head.c.seq, _head.c.entry_hash).where(_head.c.id == HEAD_ID).with_for_update()
    row = db.execute(query).one_or_none()
    if row is None:
        db.execute(_dialect_insert(db)(_head).values(id=HEAD_ID, seq=0, entry_hash=GENESIS, updated_at=utcnow())
                   .on_conflict_do_nothing(index_elements=["id"]))
        row = db.execute(query).one()
    return int(row.seq), str(row.entry_hash)


def append(db: Session, event_ids: Iterable[int]) -> tuple[int, str]:
    """Link these entries (in id order) after the current head; returns the new head (seq, hash)."""
    ids = sorted(set(event_ids))
    seq, previous = _lock_head(db)
    if not ids:
        return seq, previous
    for start in range(0, len(ids), _READ_BATCH):
        chunk = ids[start:start + _READ_BATCH]
        rows = db.execute(select(*(_events.c[name] for name in FIELDS)).where(_events.c.id.in_(chunk))
                          .order_by(_events.c.id)).mappings().all()
        links = []
        for row in rows:
            seq += 1
            digest = entry_hash(row, seq, previous)
            links.append({"seq": seq, "event_id": row["id"], "prev_hash": previous, "entry_hash": digest})
            previous = digest
        if links:
            db.execute(insert(_links), links)
    db.execute(update(_head).where(_head.c.id == HEAD_ID).values(seq=seq, entry_hash=previous, updated_at=utcnow()))
    return seq, previous


def _link_before_commit(session: Session) -> None:
    pending = session.info.get(UNCHAINED)
    if not pending or session.in_nested_transaction():
        return  # a SAVEPOINT's release is not the commit: link once, when the transaction itself commits
    session.flush()  # everything else first, so the head is locked for as short a time as possible
    # Entries of a rolled-back savepoint are no longer persistent: they were never written, so they get no link.
    ids = [entry.id for entry in pending if inspect(entry).persistent]
    pending.clear()
    if ids:
        append(session, ids)


event.listen(Session, "before_commit", _link_before_commit)


# --- Checking -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Break:
    """The first place the chain does not hold: the entry (audit_events.id), its position, and what differs."""

    entry_id: int | None
    seq: int | None
    problem: str


@dataclass(frozen=True)
class ChainReport:
    entries: int  # links checked
    head_seq: int
    head_hash: str
    broken: Break | None = None

    @property
    def ok(self) -> bool:
        return self.broken is None


def head(db: Session) -> tuple[int, str]:
    """The recorded head (seq, hash); (0, GENESIS) for an empty log."""
    row = db.execute(select(_head.c.seq, _head.c.entry_hash).where(_head.c.id == HEAD_ID)).one_or_none()
    return (int(row.seq), str(row.entry_hash)) if row else (0, GENESIS)


def verify(db: Session) -> ChainReport:
    """Walk the chain in order and recompute every hash. Stops at the first broken link.

    Safe while the application writes: the head is read first, and links committed after it are checked too."""
    head_seq, head_hash = head(db)
    columns = [_links.c.seq, _links.c.event_id, _links.c.prev_hash, _links.c.entry_hash, _events.c.id.label("e_id"),
               *(_events.c[name].label(f"e_{name}") for name in FIELDS if name != "id")]
    query = (select(*columns).select_from(_links.outerjoin(_events, _events.c.id == _links.c.event_id))
             .order_by(_links.c.seq).execution_options(yield_per=1000))
    previous, expected_seq, checked, head_seen = GENESIS, 1, 0, head_seq == 0

    def broken(row: Any, problem: str) -> ChainReport:
        return ChainReport(checked, head_seq, head_hash, Break(row.event_id, row.seq, problem))

    for row in db.execute(query):
        if row.seq != expected_seq:  # seq is the primary key: only a gap is possible
            return broken(row, f"position {expected_seq} is missing: an entry before this one was removed")
        if row.e_id is None:
            return broken(row, "the entry itself is missing from audit_events: it was deleted")
        if row.prev_hash != previous:
            return broken(row, f"its link to the previous entry differs: it records {row.prev_hash[:16]}…, the "
                               f"entry before it hashes to {previous[:16]}… (an entry was removed, inserted or "
                               "moved)")
        entry = {"id": row.e_id, **{name: getattr(row, f"e_{name}") for name in FIELDS if name != "id"}}
        digest = entry_hash(entry, row.seq, row.prev_hash)
        if digest != row.entry_hash:
            return broken(row, f"its content differs from its hash (stored {row.entry_hash[:16]}…, content hashes "
                               f"to {digest[:16]}…): a field was changed after it was written")
        if row.seq == head_seq:
            head_seen = True
            if digest != head_hash:
                return broken(row, "the head records a different hash for this position")
        previous, expected_seq, checked = row.entry_hash, expected_seq + 1, checked + 1
    if not head_seen:
        last = checked
        return ChainReport(checked, head_seq, head_hash, Break(None, last, (
            f"the chain ends at position {last} but the head records {head_seq} entries: entries at the end were "
            "removed")))
    orphan = db.scalar(select(_events.c.id).where(~select(_links.c.seq).where(_links.c.event_id == _events.c.id)
                                                   .exists()).order_by(_events.c.id).limit(1))
    if orphan is not None:
        return ChainReport(checked, head_seq, head_hash, Break(orphan, None, (
            "this entry has no place in the chain: it was inserted outside the application")))
    return ChainReport(checked, head_seq, head_hash)
