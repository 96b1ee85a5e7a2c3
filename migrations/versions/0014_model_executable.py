"""process_models.executable: models with nothing to run are stored too

A model whose processes are all ``isExecutable="false"`` (or only empty black-box pools)
is stored as a version that can be viewed and edited but never started (issue 12). Every
version deployed before was executable, hence the server default.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29

"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('process_models', schema=None) as batch_op:
        batch_op.add_column(sa.Column('executable', sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade():
    with op.batch_alter_table('process_models', schema=None) as batch_op:
        batch_op.drop_column('executable')
