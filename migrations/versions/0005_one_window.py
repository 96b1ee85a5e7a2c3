"""one window, the data centre: places, residents, vehicles, parking, organisations, certificates

Tables ``dc_*``: grid cells, buildings (courtyard houses included) and houses, residents,
vehicles, parking spaces, organisations and the certificate library.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25

"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('dc_grid_cells',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('community', sa.String(length=100), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_dc_grid_cells_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dc_grid_cells')),
    sa.UniqueConstraint('tenant_id', 'code', name=op.f('uq_dc_grid_cells_tenant_id'))
    )
    op.create_table('dc_buildings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('grid_cell_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('floors', sa.SmallInteger(), nullable=False),
    sa.Column('has_parking', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['grid_cell_id'], ['dc_grid_cells.id'], name=op.f('fk_dc_buildings_grid_cell_id_dc_grid_cells')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_dc_buildings_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dc_buildings')),
    sa.UniqueConstraint('tenant_id', 'code', name=op.f('uq_dc_buildings_tenant_id'))
    )
    with op.batch_alter_table('dc_buildings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dc_buildings_grid_cell_id'), ['grid_cell_id'], unique=False)

    op.create_table('dc_organisations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('grid_cell_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('legal_representative', sa.String(length=100), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['grid_cell_id'], ['dc_grid_cells.id'], name=op.f('fk_dc_organisations_grid_cell_id_dc_grid_cells')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_dc_organisations_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dc_organisations')),
    sa.UniqueConstraint('tenant_id', 'credit_code', name=op.f('uq_dc_organisations_tenant_id'))
    )
    with op.batch_alter_table('dc_organisations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dc_organisations_grid_cell_id'), ['grid_cell_id'], unique=False)

    op.create_table('dc_houses',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('building_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('unit', sa.String(length=40), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('area_m2', sa.Float(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['building_id'], ['dc_buildings.id'], name=op.f('fk_dc_houses_building_id_dc_buildings')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_dc_houses_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dc_houses')),
    sa.UniqueConstraint('tenant_id', 'code', name=op.f('uq_dc_houses_tenant_id'))
    )
    with op.batch_alter_table('dc_houses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dc_houses_building_id'), ['building_id'], unique=False)

    op.create_table('dc_parking_spaces',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('grid_cell_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('building_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['building_id'], ['dc_buildings.id'], name=op.f('fk_dc_parking_spaces_building_id_dc_buildings')),
    sa.ForeignKeyConstraint(['grid_cell_id'], ['dc_grid_cells.id'], name=op.f('fk_dc_parking_spaces_grid_cell_id_dc_grid_cells')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_dc_parking_spaces_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dc_parking_spaces')),
    sa.UniqueConstraint('tenant_id', 'code', name=op.f('uq_dc_parking_spaces_tenant_id'))
    )
    with op.batch_alter_table('dc_parking_spaces', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dc_parking_spaces_building_id'), ['building_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dc_parking_spaces_grid_cell_id'), ['grid_cell_id'], unique=False)

    op.create_table('dc_people',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('sex', sa.String(length=6), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('ethnicity', sa.String(length=20), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('hukou_local', sa.Boolean(), nullable=False),
    sa.Column('hukou_address', sa.String(length=300), nullable=False),
    sa.Column('house_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('household_no', sa.String(length=40), nullable=True),
    sa.Column('relation_to_head', sa.String(length=20), nullable=True),
    sa.Column('marital_status', sa.String(length=20), nullable=True),
    sa.Column('disability_grade', sa.SmallInteger(), nullable=True),
    sa.Column('disability_kind', sa.String(length=20), nullable=True),
    sa.Column('low_income_status', sa.String(length=20), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attributes', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['house_id'], ['dc_houses.id'], name=op.f('fk_dc_people_house_id_dc_houses')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_dc_people_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dc_people')),
    sa.UniqueConstraint('tenant_id', 'id_number', name=op.f('uq_dc_people_tenant_id'))
    )
    with op.batch_alter_table('dc_people', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dc_people_house_id'), ['house_id'], unique=False)
        batch_op.create_index('ix_dc_people_tenant_birth', ['tenant_id', 'birth_date'], unique=False)
        batch_op.create_index('ix_dc_people_tenant_household', ['tenant_id', 'household_no'], unique=False)
        batch_op.create_index('ix_dc_people_tenant_name', ['tenant_id', 'name'], unique=False)

    op.create_table('dc_certificates',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('holder_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('number', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('issuing_case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('issued_by', sa.String(length=100), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['holder_id'], ['dc_people.id'], name=op.f('fk_dc_certificates_holder_id_dc_people')),
    sa.ForeignKeyConstraint(['issuing_case_id'], ['cases.id'], name=op.f('fk_dc_certificates_issuing_case_id_cases')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_dc_certificates_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dc_certificates')),
    sa.UniqueConstraint('tenant_id', 'type', 'number', name=op.f('uq_dc_certificates_tenant_id'))
    )
    with op.batch_alter_table('dc_certificates', schema=None) as batch_op:
        batch_op.create_index('ix_dc_certificates_holder', ['tenant_id', 'holder_id', 'type'], unique=False)
        batch_op.create_index(batch_op.f('ix_dc_certificates_issuing_case_id'), ['issuing_case_id'], unique=False)

    op.create_table('dc_vehicles',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('plate', sa.String(length=16), nullable=False),
    sa.Column('owner_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['dc_people.id'], name=op.f('fk_dc_vehicles_owner_id_dc_people')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_dc_vehicles_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dc_vehicles')),
    sa.UniqueConstraint('tenant_id', 'plate', name=op.f('uq_dc_vehicles_tenant_id'))
    )
    with op.batch_alter_table('dc_vehicles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dc_vehicles_owner_id'), ['owner_id'], unique=False)


def downgrade():
    with op.batch_alter_table('dc_vehicles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dc_vehicles_owner_id'))

    op.drop_table('dc_vehicles')
    with op.batch_alter_table('dc_certificates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dc_certificates_issuing_case_id'))
        batch_op.drop_index('ix_dc_certificates_holder')

    op.drop_table('dc_certificates')
    with op.batch_alter_table('dc_people', schema=None) as batch_op:
        batch_op.drop_index('ix_dc_people_tenant_name')
        batch_op.drop_index('ix_dc_people_tenant_household')
        batch_op.drop_index('ix_dc_people_tenant_birth')
        batch_op.drop_index(batch_op.f('ix_dc_people_house_id'))

    op.drop_table('dc_people')
    with op.batch_alter_table('dc_parking_spaces', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dc_parking_spaces_grid_cell_id'))
        batch_op.drop_index(batch_op.f('ix_dc_parking_spaces_building_id'))

    op.drop_table('dc_parking_spaces')
    with op.batch_alter_table('dc_houses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dc_houses_building_id'))

    op.drop_table('dc_houses')
    with op.batch_alter_table('dc_organisations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dc_organisations_grid_cell_id'))

    op.drop_table('dc_organisations')
    with op.batch_alter_table('dc_buildings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dc_buildings_grid_cell_id'))

    op.drop_table('dc_buildings')
    op.drop_table('dc_grid_cells')
