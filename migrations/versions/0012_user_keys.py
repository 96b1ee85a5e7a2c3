"""users: a random token key per user (tokens and sessions name it), ids never reused on SQLite

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29

A token or session names the user's id *and* key, so a token can never act as another user
that happens to get the same id, and rotating the key (a password reset, disabling) revokes
every token and session at once. On SQLite the table is rebuilt with AUTOINCREMENT, so a
deleted user's id is never handed out again (PostgreSQL's sequence never reuses one anyway).
"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_key', sa.String(length=32), nullable=True))
    conn = op.get_bind()
    users = sa.table('users', sa.column('id', sa.Integer), sa.column('token_key', sa.String))
    for (user_id,) in conn.execute(sa.select(users.c.id)).all():
        conn.execute(users.update().where(users.c.id == user_id).values(token_key=secrets.token_hex(16)))
    if conn.dialect.name == 'sqlite':
        with op.batch_alter_table('users', schema=None, recreate='always',
                                  table_kwargs={'sqlite_autoincrement': True}) as batch_op:
            batch_op.alter_column('token_key', existing_type=sa.String(length=32), nullable=False)
    else:
        op.alter_column('users', 'token_key', existing_type=sa.String(length=32), nullable=False)


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('token_key')
