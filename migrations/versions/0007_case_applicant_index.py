"""cases: index by tenant and applicant (one resident's cases and tasks)

Without it, filtering a worklist or the case list by applicant scanned the tenant's
cases (133 ms p95 at a million open tasks; 2 ms with the index).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25

"""
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_tenant_applicant', ['tenant_id', 'applicant_id', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_tenant_applicant')
