"""worklists: delegation, service code on tasks, candidate side table, inbox indexes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

"""
import json

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delegated_by', sa.String(length=150), nullable=True))
        batch_op.add_column(sa.Column('service_code', sa.String(length=64), nullable=True))
        # (case_id, spiff_id) is unique and indexed already; a second index on case_id only costs writes.
        batch_op.drop_index('ix_tasks_case_id')
        batch_op.drop_index('ix_tasks_inbox')
        batch_op.create_index(
            'ix_tasks_inbox', ['tenant_id', 'group', 'status', 'due_at', 'id'], unique=False,
            postgresql_include=['warn_at', 'service_code'],
        )
        batch_op.create_index(
            'ix_tasks_inbox_priority', ['tenant_id', 'group', 'status', sa.text('priority DESC'), 'id'], unique=False
        )
        batch_op.create_index('ix_tasks_inbox_created', ['tenant_id', 'group', 'status', 'created_at', 'id'], unique=False)
        batch_op.create_index(
            'ix_tasks_tenant', ['tenant_id', 'status', 'due_at', 'id'], unique=False,
            postgresql_include=['group', 'warn_at'],
        )
        batch_op.create_index(
            'ix_tasks_delegated', ['tenant_id', 'delegated_by', 'status', 'due_at', 'id'], unique=False,
            postgresql_where=sa.text('delegated_by IS NOT NULL'), sqlite_where=sa.text('delegated_by IS NOT NULL'),
        )

    candidates = op.create_table('task_candidates',
    sa.Column('task_id', BigId, nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('name', sa.String(length=150), nullable=False),
    sa.Column('tenant_id', BigId, nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_task_candidates_task_id_tasks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_task_candidates_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('task_id', 'kind', 'name', name=op.f('pk_task_candidates'))
    )
    with op.batch_alter_table('task_candidates', schema=None) as batch_op:
        batch_op.create_index('ix_task_candidates_lookup', ['tenant_id', 'kind', 'name', 'task_id'], unique=False)

    # Existing rows: the case's service code, and the candidates of open tasks.
    op.execute(
        "UPDATE tasks SET service_code = (SELECT cases.service_code FROM cases WHERE cases.id = tasks.case_id)"
    )
    conn = op.get_bind()
    rows = conn.execute(sa.text(
        "SELECT id, tenant_id, candidate_groups, candidate_users FROM tasks WHERE status IN ('ready', 'claimed')"
    )).all()
    values = []
    for task_id, tenant_id, groups, users in rows:
        for kind, names in (('group', groups), ('user', users)):
            if isinstance(names, str):
                names = json.loads(names)
            for name in sorted(set(names or ())):
                values.append({'task_id': task_id, 'kind': kind, 'name': str(name)[:150], 'tenant_id': tenant_id})
    if values:
        op.bulk_insert(candidates, values)


def downgrade():
    with op.batch_alter_table('task_candidates', schema=None) as batch_op:
        batch_op.drop_index('ix_task_candidates_lookup')
    op.drop_table('task_candidates')

    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_delegated')
        batch_op.drop_index('ix_tasks_tenant')
        batch_op.drop_index('ix_tasks_inbox_created')
        batch_op.drop_index('ix_tasks_inbox_priority')
        batch_op.drop_index('ix_tasks_inbox')
        batch_op.create_index('ix_tasks_inbox', ['tenant_id', 'group', 'status', 'due_at', 'id'], unique=False)
        batch_op.create_index(op.f('ix_tasks_case_id'), ['case_id'], unique=False)
        batch_op.drop_column('service_code')
        batch_op.drop_column('delegated_by')
