"""selection evidence pack: one frozen record per challenge at the decision

Revision ID: d4f6b8a0c2e5
Revises: d8a1f3c5e7b9
Create Date: 2026-12-07 09:30:00

"""
import sqlalchemy as sa
from alembic import op

import models.base

# revision identifiers, used by Alembic.
revision = 'd4f6b8a0c2e5'
down_revision = 'd8a1f3c5e7b9'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'selection_record',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('challenge_id', sa.Integer(), nullable=False),
        sa.Column('match_id', sa.Integer(), nullable=False),
        sa.Column('decision', sa.String(length=20), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('frozen_at', models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('frozen_by_id', sa.Integer(), nullable=True),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.CheckConstraint("decision IN ('selected', 'adopted')", name=op.f('ck_selection_record_decision')),
        sa.ForeignKeyConstraint(['challenge_id'], ['challenge.id'], name=op.f('fk_selection_record_challenge_id_challenge')),
        sa.ForeignKeyConstraint(['frozen_by_id'], ['user_account.id'], name=op.f('fk_selection_record_frozen_by_id_user_account')),
        sa.ForeignKeyConstraint(['match_id'], ['match.id'], name=op.f('fk_selection_record_match_id_match')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_selection_record')),
        sa.UniqueConstraint('challenge_id', name=op.f('uq_selection_record_challenge_id')),
    )


def downgrade():
    op.drop_table('selection_record')
