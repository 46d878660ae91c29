"""Tamper-evident audit and idempotent submissions (issue 9): the hash chain over the audit log (audit_chain, one
link per entry, and audit_chain_head), backfilled for the entries already there; and idempotency_keys.

Stop the application while this runs: an entry written by the old code during the backfill would have no link, and
``tenfour audit verify`` would report it.

Revision ID: eb616dd67736
Revises: d68ef6702ce9
Create Date: 2026-11-25 18:00:00+00:00
"""
import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'eb616dd67736'
down_revision: str | None = 'd68ef6702ce9'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A frozen copy of tenfour.audit.chain (version 1): migrations never import application code.
GENESIS = "0" * 64
FIELDS = ("id", "at", "actor_user_id", "actor_label", "actor_role", "action", "clinic_id", "patient_id",
          "record_type", "record_id", "ip_address", "user_agent", "detail")


def _hash(entry, seq: int, prev_hash: str) -> str:  # type: ignore[no-untyped-def]
    document = {}
    for name in FIELDS:
        value = entry[name]
        if isinstance(value, datetime):
            value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
            value = value.isoformat(timespec="microseconds")
        document[name] = value
    document["seq"] = seq
    document["prev_hash"] = prev_hash
    return hashlib.sha256(json.dumps(document, sort_keys=True, separators=(",", ":"),
                                     ensure_ascii=True).encode("ascii")).hexdigest()


def _backfill() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("LOCK TABLE audit_events IN SHARE MODE")  # no entry may slip in unlinked while we read
    json_type = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    events = sa.table("audit_events", *(sa.column(name) for name in FIELDS if name not in ("at", "detail")),
                      sa.column("at", sa.DateTime(timezone=True)), sa.column("detail", json_type))
    links = sa.table("audit_chain", sa.column("seq"), sa.column("event_id"), sa.column("prev_hash"),
                     sa.column("entry_hash"))
    seq, previous = 0, GENESIS
    last_id = 0
    while True:
        rows = bind.execute(sa.select(*(events.c[name] for name in FIELDS)).where(events.c.id > last_id)
                            .order_by(events.c.id).limit(1000)).mappings().all()
        if not rows:
            break
        batch = []
        for row in rows:
            seq += 1
            digest = _hash(row, seq, previous)
            batch.append({"seq": seq, "event_id": row["id"], "prev_hash": previous, "entry_hash": digest})
            previous = digest
        bind.execute(links.insert(), batch)
        last_id = rows[-1]["id"]
    head = sa.table("audit_chain_head", sa.column("id"), sa.column("seq"), sa.column("entry_hash"),
                    sa.column("updated_at", sa.DateTime(timezone=True)))
    now = datetime.now(UTC)
    bind.execute(head.insert().values(id=1, seq=seq, entry_hash=previous,
                                      updated_at=now.replace(tzinfo=None) if bind.dialect.name == "sqlite" else now))


def upgrade() -> None:
    op.create_table('audit_chain',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('entry_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_chain')),
    sa.UniqueConstraint('event_id', name=op.f('uq_audit_chain_event_id'))
    )
    op.create_table('audit_chain_head',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('entry_hash', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_audit_chain_head_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_chain_head'))
    )
    op.create_table('idempotency_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('principal', sa.String(length=100), nullable=False),
    sa.Column('route', sa.String(length=200), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('response_status', sa.Integer(), nullable=True),
    sa.Column('response_body', sa.Text(), nullable=True),
    sa.Column('response_location', sa.String(length=2000), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_keys')),
    sa.UniqueConstraint('principal', 'route', 'key', name='uq_idempotency_keys_principal_route_key')
    )
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.create_index('ix_idempotency_keys_expires_at', ['expires_at'], unique=False)

    # The chain's links are append-only, like the entries.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_chain_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'audit_chain is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_chain_no_change BEFORE UPDATE OR DELETE ON audit_chain "
            "FOR EACH ROW EXECUTE FUNCTION audit_chain_append_only()"
        )
    else:
        op.execute(
            "CREATE TRIGGER audit_chain_no_update BEFORE UPDATE ON audit_chain "
            "BEGIN SELECT RAISE(ABORT, 'audit_chain is append-only'); END"
        )
        op.execute(
            "CREATE TRIGGER audit_chain_no_delete BEFORE DELETE ON audit_chain "
            "BEGIN SELECT RAISE(ABORT, 'audit_chain is append-only'); END"
        )
    _backfill()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_chain_no_change ON audit_chain")
        op.execute("DROP FUNCTION IF EXISTS audit_chain_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_chain_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_chain_no_delete")
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_index('ix_idempotency_keys_expires_at')

    op.drop_table('idempotency_keys')
    op.drop_table('audit_chain_head')
    op.drop_table('audit_chain')
