"""two-factor authentication: TOTP secret, last accepted step, recovery code hashes

Revision ID: 0143ff274f40
Revises: 85a05f5fb19c
Create Date: 2026-12-06 03:56:06.752055

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0143ff274f40'
down_revision = '85a05f5fb19c'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('recovery_code_hashes', sa.JSON(), server_default='[]', nullable=False))


def downgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('recovery_code_hashes')
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_secret')
