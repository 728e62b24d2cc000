"""第三者意見照会: one row per inquiry asked of a company about a disclosure version

Revision ID: d8a1f3c5e7b9
Revises: c3e5a7b9d1f4
Create Date: 2026-12-07 09:25:00

"""
import sqlalchemy as sa
from alembic import op

import models.base

# revision identifiers, used by Alembic.
revision = 'd8a1f3c5e7b9'
down_revision = 'c3e5a7b9d1f4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'disclosure_inquiry',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('record_kind', sa.String(length=40), nullable=False),
        sa.Column('record_id', sa.Integer(), nullable=False),
        sa.Column('challenge_id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('open_key', sa.String(length=120), nullable=True),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('request_note', sa.Text(), nullable=False),
        sa.Column('document_text', sa.Text(), nullable=False),
        sa.Column('deadline', sa.Date(), nullable=False),
        sa.Column('started_by_id', sa.Integer(), nullable=True),
        sa.Column('started_at', models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('company_view', sa.String(length=20), nullable=True),
        sa.Column('view_reason', sa.Text(), nullable=True),
        sa.Column('viewed_at', models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('viewed_by_id', sa.Integer(), nullable=True),
        sa.Column('released_at', models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('released_by_id', sa.Integer(), nullable=True),
        sa.Column('release_note', sa.Text(), nullable=True),
        sa.CheckConstraint("company_view IS NULL OR company_view IN ('consent', 'objection')",
                           name=op.f('ck_disclosure_inquiry_company_view')),
        sa.CheckConstraint('(company_view IS NULL) = (viewed_at IS NULL)',
                           name=op.f('ck_disclosure_inquiry_view_has_date')),
        sa.CheckConstraint("company_view IS NULL OR company_view = 'consent' OR length(view_reason) > 0",
                           name=op.f('ck_disclosure_inquiry_objection_has_reason')),
        sa.CheckConstraint('(released_at IS NULL) = (open_key IS NOT NULL)',
                           name=op.f('ck_disclosure_inquiry_open_until_released')),
        sa.ForeignKeyConstraint(['challenge_id'], ['challenge.id'],
                                name=op.f('fk_disclosure_inquiry_challenge_id_challenge'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'],
                                name=op.f('fk_disclosure_inquiry_organisation_id_organisation')),
        sa.ForeignKeyConstraint(['started_by_id'], ['user_account.id'],
                                name=op.f('fk_disclosure_inquiry_started_by_id_user_account')),
        sa.ForeignKeyConstraint(['viewed_by_id'], ['user_account.id'],
                                name=op.f('fk_disclosure_inquiry_viewed_by_id_user_account')),
        sa.ForeignKeyConstraint(['released_by_id'], ['user_account.id'],
                                name=op.f('fk_disclosure_inquiry_released_by_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_disclosure_inquiry')),
        sa.UniqueConstraint('open_key', name='uq_disclosure_inquiry_open'),
    )
    op.create_index(op.f('ix_disclosure_inquiry_challenge_id'), 'disclosure_inquiry', ['challenge_id'], unique=False)
    op.create_index(op.f('ix_disclosure_inquiry_organisation_id'), 'disclosure_inquiry', ['organisation_id'],
                    unique=False)


def downgrade():
    op.drop_table('disclosure_inquiry')
