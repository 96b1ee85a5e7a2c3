"""task_candidate_counts: badge counters per candidate group and user, kept by triggers on tasks

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30

Every change of an open task that names candidates appends signed rows to
``task_candidate_counts`` in the same transaction (worklists.task_counts), so a supervisor's
or an admin's badges sum counter rows instead of reading every candidate task. The counters
start from the tasks there are. Two partial indexes let the badges count exactly the
candidate tasks due or warned today. On PostgreSQL, statistics of how tenant, kind and name go
together in both counter tables keep the planner hashing a count's rows instead of sorting them.
"""
import sqlalchemy as sa
from alembic import op

from workflows.models import HAS_CANDIDATES, BigId
from worklists import task_counts

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'task_candidate_counts',
        sa.Column('id', BigId, primary_key=True),
        sa.Column('tenant_id', sa.BigInteger(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('name', sa.String(length=150), nullable=False),
        sa.Column('lane', sa.String(length=100), nullable=False),
        sa.Column('sig', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('due_day', sa.Integer(), nullable=True),
        sa.Column('warn_day', sa.Integer(), nullable=True),
        sa.Column('n', sa.Integer(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index('ix_task_candidate_counts_key', 'task_candidate_counts', ['tenant_id', 'kind', 'name'])
    for name, column in (('ix_tasks_candidates_due', 'due_at'), ('ix_tasks_candidates_warn', 'warn_at')):
        op.create_index(name, 'tasks', ['tenant_id', column], postgresql_where=sa.text(HAS_CANDIDATES['postgresql']),
                        sqlite_where=sa.text(HAS_CANDIDATES['sqlite']))
    conn = op.get_bind()
    task_counts.install_candidate_triggers(conn)
    task_counts.rebuild_candidates(conn)
    task_counts.create_statistics(conn)


def downgrade():
    task_counts.drop_statistics(op.get_bind())
    task_counts.drop_candidate_triggers(op.get_bind())
    op.drop_index('ix_tasks_candidates_warn', table_name='tasks')
    op.drop_index('ix_tasks_candidates_due', table_name='tasks')
    op.drop_index('ix_task_candidate_counts_key', table_name='task_candidate_counts')
    op.drop_table('task_candidate_counts')
