"""personal API tokens: the SHA-256 of each secret, its scope (read or write), expiry, last use and revocation

Revision ID: ab07a3f77294
Revises: 8ec5b66e783f
Create Date: 2026-12-07 03:30:44.155158

"""
import sqlalchemy as sa
from alembic import op

import models.base

# revision identifiers, used by Alembic.
revision = 'ab07a3f77294'
down_revision = '8ec5b66e783f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('hint', sa.String(length=20), nullable=False),
    sa.Column('scope', sa.String(length=10), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("scope IN ('read', 'write')", name=op.f('ck_api_token_scope')),
    sa.CheckConstraint('expires_at > created_at', name=op.f('ck_api_token_expires_after_creation')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_api_token_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_token_token_hash'))
    )
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_token_user_id'), ['user_id'], unique=False)



def downgrade():
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_token_user_id'))

    op.drop_table('api_token')
