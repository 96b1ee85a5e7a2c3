"""handling operations: send back, transfer, add signers, copy, withdraw, urge, suspend

Tasks get a kind (``user`` or a co-signer's ``sign`` task), the task a sign task belongs to,
a note (the reason a task was sent back), urging counters and the operation state; cases
get copies (抄送), urgings (催办) and suspensions (挂起). Case clocks may count a limit in
calendar minutes (emergencies) instead of working days.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29

"""
import sqlalchemy as sa
from alembic import op

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=8), server_default=sa.text("'user'"), nullable=False))
        batch_op.add_column(sa.Column('parent_id', BigId, nullable=True))
        batch_op.add_column(sa.Column('note', sa.String(length=2000), nullable=True))
        batch_op.add_column(sa.Column('urged_count', sa.Integer(), server_default=sa.text('0'), nullable=False))
        batch_op.add_column(sa.Column('urged_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('handling', sa.JSON(), nullable=True))
    with op.batch_alter_table('case_clocks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('time_limit_minutes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('remaining_seconds', sa.Integer(), nullable=True))
    op.create_table(
        'case_copies',
        sa.Column('id', BigId, nullable=False),
        sa.Column('tenant_id', BigId, nullable=False),
        sa.Column('case_id', BigId, nullable=False),
        sa.Column('username', sa.String(length=150), nullable=False),
        sa.Column('copied_by', sa.String(length=150), nullable=False),
        sa.Column('comment', sa.String(length=2000), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_copies_case_id_cases')),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_case_copies_tenant_id_tenants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_case_copies')),
        sa.UniqueConstraint('case_id', 'username', name=op.f('uq_case_copies_case_id')),
    )
    op.create_index('ix_case_copies_inbox', 'case_copies', ['tenant_id', 'username', 'id'], unique=False)
    op.create_table(
        'case_urgings',
        sa.Column('id', BigId, nullable=False),
        sa.Column('tenant_id', BigId, nullable=False),
        sa.Column('case_id', BigId, nullable=False),
        sa.Column('urged_by', sa.String(length=150), nullable=False),
        sa.Column('comment', sa.String(length=2000), nullable=True),
        sa.Column('targets', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_urgings_case_id_cases')),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_case_urgings_tenant_id_tenants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_case_urgings')),
    )
    op.create_index('ix_case_urgings_tenant_at', 'case_urgings', ['tenant_id', 'created_at'], unique=False)
    op.create_index(op.f('ix_case_urgings_case_id'), 'case_urgings', ['case_id'], unique=False)
    op.create_table(
        'case_suspensions',
        sa.Column('id', BigId, nullable=False),
        sa.Column('tenant_id', BigId, nullable=False),
        sa.Column('case_id', BigId, nullable=False),
        sa.Column('previous_status', sa.String(length=32), nullable=False),
        sa.Column('reason', sa.String(length=2000), nullable=False),
        sa.Column('suspended_by', sa.String(length=150), nullable=False),
        sa.Column('suspended_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('resumed_by', sa.String(length=150), nullable=True),
        sa.Column('resumed_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_suspensions_case_id_cases')),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_case_suspensions_tenant_id_tenants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_case_suspensions')),
    )
    op.create_index(op.f('ix_case_suspensions_case_id'), 'case_suspensions', ['case_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_case_suspensions_case_id'), table_name='case_suspensions')
    op.drop_table('case_suspensions')
    op.drop_index(op.f('ix_case_urgings_case_id'), table_name='case_urgings')
    op.drop_index('ix_case_urgings_tenant_at', table_name='case_urgings')
    op.drop_table('case_urgings')
    op.drop_index('ix_case_copies_inbox', table_name='case_copies')
    op.drop_table('case_copies')
    with op.batch_alter_table('case_clocks', schema=None) as batch_op:
        batch_op.drop_column('remaining_seconds')
        batch_op.drop_column('time_limit_minutes')
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_column('handling')
        batch_op.drop_column('urged_at')
        batch_op.drop_column('urged_count')
        batch_op.drop_column('note')
        batch_op.drop_column('parent_id')
        batch_op.drop_column('kind')
