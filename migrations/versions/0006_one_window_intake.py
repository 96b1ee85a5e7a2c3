"""one window intake: prefill counts, ratings, the auditors' queue, daily job runs, event photos

Tables ``ow_*`` (``onewindow.models``): how each catalogue case was received (typed against
prefilled fields, proactive origin keys), ratings (好差评) with their follow-up cases, the
auditors' queue of concluded cases with findings, and the runs of daily jobs.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25

"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table('ow_intakes',
    sa.Column('id', ID, nullable=False),
    sa.Column('tenant_id', ID, nullable=False),
    sa.Column('case_id', ID, nullable=False),
    sa.Column('service_code', sa.String(length=64), nullable=False),
    sa.Column('applicant_id', ID, nullable=False),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('origin_key', sa.String(length=120), nullable=True),
    sa.Column('total_fields', sa.SmallInteger(), nullable=False),
    sa.Column('prefilled_fields', sa.SmallInteger(), nullable=False),
    sa.Column('typed_fields', sa.SmallInteger(), nullable=False),
    sa.Column('sources', sa.JSON(), nullable=False),
    sa.Column('received_by', sa.String(length=150), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['applicant_id'], ['dc_people.id'], name=op.f('fk_ow_intakes_applicant_id_dc_people')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_ow_intakes_case_id_cases')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_ow_intakes_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ow_intakes')),
    sa.UniqueConstraint('case_id', name=op.f('uq_ow_intakes_case_id')),
    sa.UniqueConstraint('tenant_id', 'origin_key', name=op.f('uq_ow_intakes_tenant_id'))
    )
    with op.batch_alter_table('ow_intakes', schema=None) as batch_op:
        batch_op.create_index('ix_ow_intakes_service', ['tenant_id', 'service_code', 'id'], unique=False)
        batch_op.create_index('ix_ow_intakes_applicant', ['tenant_id', 'applicant_id', 'service_code'], unique=False)

    op.create_table('ow_ratings',
    sa.Column('id', ID, nullable=False),
    sa.Column('tenant_id', ID, nullable=False),
    sa.Column('case_id', ID, nullable=False),
    sa.Column('score', sa.SmallInteger(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('rated_by', sa.String(length=150), nullable=True),
    sa.Column('rated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('follow_up_case_id', ID, nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_ow_ratings_case_id_cases')),
    sa.ForeignKeyConstraint(['follow_up_case_id'], ['cases.id'], name=op.f('fk_ow_ratings_follow_up_case_id_cases')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_ow_ratings_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ow_ratings')),
    sa.UniqueConstraint('case_id', name=op.f('uq_ow_ratings_case_id'))
    )
    with op.batch_alter_table('ow_ratings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ow_ratings_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('ow_audits',
    sa.Column('id', ID, nullable=False),
    sa.Column('tenant_id', ID, nullable=False),
    sa.Column('case_id', ID, nullable=False),
    sa.Column('service_code', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('queued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('trail_valid', sa.Boolean(), nullable=True),
    sa.Column('trail_checked', sa.Integer(), nullable=True),
    sa.Column('result', sa.String(length=16), nullable=True),
    sa.Column('finding', sa.Text(), nullable=True),
    sa.Column('audited_by', sa.String(length=150), nullable=True),
    sa.Column('audited_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_ow_audits_case_id_cases')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_ow_audits_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ow_audits')),
    sa.UniqueConstraint('case_id', name=op.f('uq_ow_audits_case_id'))
    )
    with op.batch_alter_table('ow_audits', schema=None) as batch_op:
        batch_op.create_index('ix_ow_audits_queue', ['tenant_id', 'status', 'id'], unique=False)

    op.create_table('ow_job_runs',
    sa.Column('id', ID, nullable=False),
    sa.Column('tenant_id', ID, nullable=False),
    sa.Column('job', sa.String(length=40), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_ow_job_runs_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ow_job_runs')),
    sa.UniqueConstraint('tenant_id', 'job', 'day', name=op.f('uq_ow_job_runs_tenant_id'))
    )
    op.create_table('ow_event_photos',
    sa.Column('id', ID, nullable=False),
    sa.Column('tenant_id', ID, nullable=False),
    sa.Column('case_id', ID, nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_ow_event_photos_case_id_cases')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_ow_event_photos_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ow_event_photos')),
    sa.UniqueConstraint('case_id', name=op.f('uq_ow_event_photos_case_id'))
    )


def downgrade():
    op.drop_table('ow_event_photos')
    op.drop_table('ow_job_runs')
    with op.batch_alter_table('ow_audits', schema=None) as batch_op:
        batch_op.drop_index('ix_ow_audits_queue')
    op.drop_table('ow_audits')
    with op.batch_alter_table('ow_ratings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ow_ratings_tenant_id'))
    op.drop_table('ow_ratings')
    with op.batch_alter_table('ow_intakes', schema=None) as batch_op:
        batch_op.drop_index('ix_ow_intakes_applicant')
        batch_op.drop_index('ix_ow_intakes_service')
    op.drop_table('ow_intakes')
