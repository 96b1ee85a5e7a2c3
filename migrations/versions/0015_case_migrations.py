"""case_migrations, case_migration_items: moving running cases to a new version

A run (key, from → to, mapping, the cases asked for) and one item per case it looked at, written
in the case's own transaction, so a run interrupted half-way resumes without moving a case twice
(issue 12, "Moving running cases to a new version").

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29

"""
import sqlalchemy as sa
from alembic import op

import workflows.models

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table(
        'case_migrations',
        sa.Column('id', ID, nullable=False),
        sa.Column('tenant_id', ID, nullable=False),
        sa.Column('process_key', sa.String(length=255), nullable=False),
        sa.Column('from_version', sa.Integer(), nullable=False),
        sa.Column('to_version', sa.Integer(), nullable=False),
        sa.Column('from_model_id', ID, nullable=False),
        sa.Column('to_model_id', ID, nullable=False),
        sa.Column('mapping', sa.JSON(), nullable=False),
        sa.Column('case_ids', sa.JSON(), nullable=True),
        sa.Column('dry_run', sa.Boolean(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('error', sa.String(length=2000), nullable=True),
        sa.Column('batch_size', sa.Integer(), nullable=False),
        sa.Column('batches', sa.Integer(), nullable=False),
        sa.Column('created_by', sa.String(length=150), nullable=False),
        sa.Column('created_at', workflows.models.UtcDateTime(), nullable=False),
        sa.Column('updated_at', workflows.models.UtcDateTime(), nullable=False),
        sa.Column('finished_at', workflows.models.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['from_model_id'], ['process_models.id'],
                                name=op.f('fk_case_migrations_from_model_id_process_models')),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_case_migrations_tenant_id_tenants')),
        sa.ForeignKeyConstraint(['to_model_id'], ['process_models.id'],
                                name=op.f('fk_case_migrations_to_model_id_process_models')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_case_migrations')),
    )
    with op.batch_alter_table('case_migrations', schema=None) as batch_op:
        batch_op.create_index('ix_case_migrations_key', ['tenant_id', 'process_key', 'id'], unique=False)
    op.create_table(
        'case_migration_items',
        sa.Column('id', ID, nullable=False),
        sa.Column('run_id', ID, nullable=False),
        sa.Column('case_id', ID, nullable=False),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('reasons', sa.JSON(), nullable=False),
        sa.Column('at', workflows.models.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_migration_items_case_id_cases')),
        sa.ForeignKeyConstraint(['run_id'], ['case_migrations.id'],
                                name=op.f('fk_case_migration_items_run_id_case_migrations'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_case_migration_items')),
        sa.UniqueConstraint('run_id', 'case_id', name=op.f('uq_case_migration_items_run_id')),
    )


def downgrade():
    op.drop_table('case_migration_items')
    with op.batch_alter_table('case_migrations', schema=None) as batch_op:
        batch_op.drop_index('ix_case_migrations_key')
    op.drop_table('case_migrations')
