"""case_files_and_progress: files on cases (chunks in the database), the receipt's progress code

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29

"""
import sqlalchemy as sa
from alembic import op

import workflows.models

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table(
        'ow_case_files',
        sa.Column('id', ID, nullable=False),
        sa.Column('tenant_id', ID, nullable=False),
        sa.Column('case_id', ID, nullable=False),
        sa.Column('task_id', ID, nullable=True),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('content_type', sa.String(length=40), nullable=False),
        sa.Column('material_code', sa.String(length=40), nullable=True),
        sa.Column('storage', sa.String(length=16), nullable=False),
        sa.Column('uploaded_by', sa.String(length=150), nullable=False),
        sa.Column('uploaded_at', workflows.models.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_ow_case_files_case_id_cases')),
        sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_ow_case_files_task_id_tasks')),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_ow_case_files_tenant_id_tenants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ow_case_files')),
    )
    with op.batch_alter_table('ow_case_files', schema=None) as batch_op:
        batch_op.create_index('ix_ow_case_files_case', ['case_id', 'id'], unique=False)
    op.create_table(
        'ow_file_chunks',
        sa.Column('file_id', ID, nullable=False),
        sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['file_id'], ['ow_case_files.id'], name=op.f('fk_ow_file_chunks_file_id_ow_case_files'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('file_id', 'seq', name=op.f('pk_ow_file_chunks')),
    )
    with op.batch_alter_table('ow_intakes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('progress_code', sa.String(length=16), nullable=True))


def downgrade():
    with op.batch_alter_table('ow_intakes', schema=None) as batch_op:
        batch_op.drop_column('progress_code')
    op.drop_table('ow_file_chunks')
    with op.batch_alter_table('ow_case_files', schema=None) as batch_op:
        batch_op.drop_index('ix_ow_case_files_case')
    op.drop_table('ow_case_files')
