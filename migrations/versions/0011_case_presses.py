"""case_presses: supervisors' pressing (督办) of cases, with the department's answer

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29

"""
import sqlalchemy as sa
from alembic import op

import workflows.models

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'case_presses',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('department', sa.String(length=100), nullable=True),
        sa.Column('pressed_by', sa.String(length=150), nullable=False),
        sa.Column('pressed_at', workflows.models.UtcDateTime(), nullable=False),
        sa.Column('comment', sa.Text(), nullable=False),
        sa.Column('answer', sa.Text(), nullable=True),
        sa.Column('answered_by', sa.String(length=150), nullable=True),
        sa.Column('answered_at', workflows.models.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_presses_case_id_cases')),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_case_presses_tenant_id_tenants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_case_presses')),
    )
    with op.batch_alter_table('case_presses', schema=None) as batch_op:
        batch_op.create_index('ix_case_presses_case', ['tenant_id', 'case_id', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('case_presses', schema=None) as batch_op:
        batch_op.drop_index('ix_case_presses_case')
    op.drop_table('case_presses')
