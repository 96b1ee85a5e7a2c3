"""task_counts: badge counters kept by triggers on tasks (PostgreSQL and SQLite)

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29

Every change of an open task's row appends signed rows to ``task_counts`` in the same
transaction (worklists.task_counts), so the inbox badges sum a few counter rows instead of
counting a department's tasks. The counters start from the tasks there are. A warning-time
index lets the badges count today's warned tasks exactly.
"""
import sqlalchemy as sa
from alembic import op

from workflows.models import BigId
from worklists import task_counts

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'task_counts',
        sa.Column('id', BigId, primary_key=True),
        sa.Column('tenant_id', sa.BigInteger(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('name', sa.String(length=150), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('due_day', sa.Integer(), nullable=True),
        sa.Column('warn_day', sa.Integer(), nullable=True),
        sa.Column('n', sa.Integer(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index('ix_task_counts_key', 'task_counts', ['tenant_id', 'kind', 'name'])
    op.create_index('ix_tasks_warn', 'tasks', ['tenant_id', 'warn_at'], postgresql_include=['group', 'status', 'due_at'],
                    postgresql_where=sa.text('warn_at IS NOT NULL'), sqlite_where=sa.text('warn_at IS NOT NULL'))
    conn = op.get_bind()
    task_counts.install_triggers(conn)
    task_counts.rebuild(conn)


def downgrade():
    task_counts.drop_triggers(op.get_bind())
    op.drop_index('ix_tasks_warn', table_name='tasks')
    op.drop_index('ix_task_counts_key', table_name='task_counts')
    op.drop_table('task_counts')
