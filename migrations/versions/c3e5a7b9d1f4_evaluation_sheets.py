"""evaluation sheets: weighted criteria per challenge and each evaluator's scores

Revision ID: c3e5a7b9d1f4
Revises: b7d1e0c4a9f2
Create Date: 2026-12-07 05:40:00

"""
import sqlalchemy as sa
from alembic import op

import models.base

# revision identifiers, used by Alembic.
revision = 'c3e5a7b9d1f4'
down_revision = 'b7d1e0c4a9f2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'evaluation_criterion',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('challenge_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('weight', sa.Integer(), nullable=False),
        sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint('weight >= 1 AND weight <= 100', name=op.f('ck_evaluation_criterion_weight')),
        sa.ForeignKeyConstraint(['challenge_id'], ['challenge.id'], name=op.f('fk_evaluation_criterion_challenge_id_challenge'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_criterion')),
        sa.UniqueConstraint('challenge_id', 'name', name='uq_evaluation_criterion_challenge_name'),
    )
    op.create_index(op.f('ix_evaluation_criterion_challenge_id'), 'evaluation_criterion', ['challenge_id'], unique=False)
    op.create_table(
        'evaluation_score',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('criterion_id', sa.Integer(), nullable=False),
        sa.Column('proposal_id', sa.Integer(), nullable=False),
        sa.Column('evaluator_id', sa.Integer(), nullable=False),
        sa.Column('score', sa.Integer(), nullable=False),
        sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint('score >= 1 AND score <= 5', name=op.f('ck_evaluation_score_score')),
        sa.ForeignKeyConstraint(['criterion_id'], ['evaluation_criterion.id'], name=op.f('fk_evaluation_score_criterion_id_evaluation_criterion'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['evaluator_id'], ['user_account.id'], name=op.f('fk_evaluation_score_evaluator_id_user_account')),
        sa.ForeignKeyConstraint(['proposal_id'], ['proposal.id'], name=op.f('fk_evaluation_score_proposal_id_proposal'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_score')),
        sa.UniqueConstraint('criterion_id', 'proposal_id', 'evaluator_id', name='uq_evaluation_score_once'),
    )
    op.create_index(op.f('ix_evaluation_score_criterion_id'), 'evaluation_score', ['criterion_id'], unique=False)
    op.create_index(op.f('ix_evaluation_score_evaluator_id'), 'evaluation_score', ['evaluator_id'], unique=False)
    op.create_index(op.f('ix_evaluation_score_proposal_id'), 'evaluation_score', ['proposal_id'], unique=False)


def downgrade():
    op.drop_table('evaluation_score')
    op.drop_table('evaluation_criterion')
