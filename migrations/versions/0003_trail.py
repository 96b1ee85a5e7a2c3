"""trail: hash-chained event table, chain heads, daily anchors, failed-login counters

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

On PostgreSQL a trigger refuses UPDATE and DELETE on ``trail_events`` (TRUNCATE and DROP
stay with the table owner: give the application role only INSERT and SELECT in production).
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION trail_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the trail is append-only: % on trail_events is refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
"""
APPEND_ONLY_TRIGGER = """
CREATE TRIGGER trail_events_append_only
BEFORE UPDATE OR DELETE ON trail_events
FOR EACH ROW EXECUTE FUNCTION trail_events_append_only()
"""


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('trail_seq', sa.Integer(), server_default=sa.text('0'), nullable=False))
        batch_op.add_column(sa.Column('trail_hash', sa.String(length=64), nullable=True))

    op.create_table('trail_events',
    sa.Column('id', BigId, nullable=False),
    sa.Column('tenant_id', BigId, nullable=False),
    sa.Column('case_id', BigId, nullable=True),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('actor', sa.String(length=150), nullable=True),
    sa.Column('task_id', BigId, nullable=True),
    sa.Column('data', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trail_events'))
    )
    with op.batch_alter_table('trail_events', schema=None) as batch_op:
        batch_op.create_index('uq_trail_events_chain', ['tenant_id', 'case_id', 'seq'], unique=True)
        batch_op.create_index(
            'uq_trail_events_tenant_chain', ['tenant_id', 'seq'], unique=True,
            sqlite_where=sa.text('case_id IS NULL'), postgresql_where=sa.text('case_id IS NULL'),
        )
        batch_op.create_index('ix_trail_events_at', ['at'], unique=False, postgresql_using='brin')

    op.create_table('trail_heads',
    sa.Column('tenant_id', BigId, nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_trail_heads_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_trail_heads'))
    )
    op.create_table('trail_anchors',
    sa.Column('id', BigId, nullable=False),
    sa.Column('tenant_id', BigId, nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.Column('heads', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_trail_anchors_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trail_anchors')),
    sa.UniqueConstraint('tenant_id', 'day', name=op.f('uq_trail_anchors_tenant_id'))
    )
    op.create_table('login_failures',
    sa.Column('id', BigId, nullable=False),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_failures')),
    sa.UniqueConstraint('scope', 'key', name=op.f('uq_login_failures_scope'))
    )

    if op.get_bind().dialect.name == 'postgresql':
        op.execute(APPEND_ONLY_FUNCTION)
        op.execute(APPEND_ONLY_TRIGGER)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER IF EXISTS trail_events_append_only ON trail_events')
        op.execute('DROP FUNCTION IF EXISTS trail_events_append_only()')
    op.drop_table('login_failures')
    op.drop_table('trail_anchors')
    op.drop_table('trail_heads')
    with op.batch_alter_table('trail_events', schema=None) as batch_op:
        batch_op.drop_index('ix_trail_events_at', postgresql_using='brin')
        batch_op.drop_index('uq_trail_events_tenant_chain', sqlite_where=sa.text('case_id IS NULL'),
                            postgresql_where=sa.text('case_id IS NULL'))
        batch_op.drop_index('uq_trail_events_chain')
    op.drop_table('trail_events')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('trail_hash')
        batch_op.drop_column('trail_seq')
