"""timers: timer rows with due times, case deadline clocks, calendar overrides, scheduler heartbeats

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25

"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
AWARE = sa.DateTime(timezone=True)


def upgrade():
    op.create_table('timers',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('tenant_id', BIG_ID, nullable=False),
    sa.Column('case_id', BIG_ID, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('spiff_id', sa.String(length=36), nullable=True),
    sa.Column('element_id', sa.String(length=255), nullable=True),
    sa.Column('due_at', AWARE, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('claims', sa.Integer(), nullable=False),
    sa.Column('claimed_by', sa.String(length=150), nullable=True),
    sa.Column('claimed_at', AWARE, nullable=True),
    sa.Column('fired_at', AWARE, nullable=True),
    sa.Column('fired_by', sa.String(length=150), nullable=True),
    sa.Column('created_at', AWARE, nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_timers_case_id_cases')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_timers_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_timers'))
    )
    with op.batch_alter_table('timers', schema=None) as batch_op:
        batch_op.create_index('ix_timers_due', ['status', 'due_at'], unique=False)
        batch_op.create_index('ix_timers_case', ['case_id', 'status'], unique=False)

    op.create_table('case_clocks',
    sa.Column('case_id', BIG_ID, nullable=False),
    sa.Column('tenant_id', BIG_ID, nullable=False),
    sa.Column('time_limit_working_days', sa.Integer(), nullable=True),
    sa.Column('warn_working_days', sa.Integer(), nullable=False),
    sa.Column('red_after_working_days', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('started_at', AWARE, nullable=False),
    sa.Column('deadline', AWARE, nullable=True),
    sa.Column('warn_at', AWARE, nullable=True),
    sa.Column('red_at', AWARE, nullable=True),
    sa.Column('paused_at', AWARE, nullable=True),
    sa.Column('remaining_working_days', sa.Integer(), nullable=True),
    sa.Column('pauses', sa.JSON(), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('warned_at', AWARE, nullable=True),
    sa.Column('overdue_at', AWARE, nullable=True),
    sa.Column('seriously_overdue_at', AWARE, nullable=True),
    sa.Column('stopped_at', AWARE, nullable=True),
    sa.Column('on_time', sa.Boolean(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_clocks_case_id_cases')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_case_clocks_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_case_clocks'))
    )
    with op.batch_alter_table('case_clocks', schema=None) as batch_op:
        batch_op.create_index('ix_case_clocks_tenant_warned', ['tenant_id', 'warned_at'], unique=False)

    op.create_table('calendar_overrides',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('tenant_id', BIG_ID, nullable=True),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('working', sa.Boolean(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('created_at', AWARE, nullable=False),
    sa.Column('created_by', sa.String(length=150), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_calendar_overrides_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_overrides')),
    sa.UniqueConstraint('tenant_id', 'day', name=op.f('uq_calendar_overrides_tenant_id'))
    )

    op.create_table('scheduler_heartbeats',
    sa.Column('name', sa.String(length=150), nullable=False),
    sa.Column('started_at', AWARE, nullable=False),
    sa.Column('beat_at', AWARE, nullable=False),
    sa.Column('claimed', sa.BigInteger(), nullable=False),
    sa.Column('lag_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_scheduler_heartbeats'))
    )


def downgrade():
    op.drop_table('scheduler_heartbeats')
    op.drop_table('calendar_overrides')
    with op.batch_alter_table('case_clocks', schema=None) as batch_op:
        batch_op.drop_index('ix_case_clocks_tenant_warned')
    op.drop_table('case_clocks')
    with op.batch_alter_table('timers', schema=None) as batch_op:
        batch_op.drop_index('ix_timers_case')
        batch_op.drop_index('ix_timers_due')
    op.drop_table('timers')
