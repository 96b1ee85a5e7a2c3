"""saved_filters: inbox filters clerks save for themselves or share with their group

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29

"""
import sqlalchemy as sa
from alembic import op

import workflows.models

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'saved_filters',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('owner_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('owner', sa.String(length=150), nullable=False),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('shared_with', sa.String(length=64), nullable=True),
        sa.Column('query', sa.JSON(), nullable=False),
        sa.Column('created_at', workflows.models.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_saved_filters_owner_id_users')),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_saved_filters_tenant_id_tenants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_filters')),
    )
    with op.batch_alter_table('saved_filters', schema=None) as batch_op:
        batch_op.create_index('ix_saved_filters_group', ['tenant_id', 'shared_with'], unique=False)
        batch_op.create_index('ix_saved_filters_owner', ['tenant_id', 'owner_id'], unique=False)


def downgrade():
    with op.batch_alter_table('saved_filters', schema=None) as batch_op:
        batch_op.drop_index('ix_saved_filters_owner')
        batch_op.drop_index('ix_saved_filters_group')
    op.drop_table('saved_filters')
