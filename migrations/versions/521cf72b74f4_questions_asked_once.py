"""questions asked once: question.body_digest, unique per challenge and company

Existing questions get the digest of their text; where a company had asked the same text twice,
only the first keeps it (the others stay as they are, outside the rule).

Revision ID: 521cf72b74f4
Revises: ed4c486d1e27
Create Date: 2026-12-06 03:18:07.378876

"""
import hashlib

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '521cf72b74f4'
down_revision = 'ed4c486d1e27'
branch_labels = None
depends_on = None


def _digest(body: str) -> str:
    return hashlib.sha256(" ".join(body.split()).encode()).hexdigest()


def upgrade():
    with op.batch_alter_table('question', schema=None) as batch_op:
        batch_op.add_column(sa.Column('body_digest', sa.String(length=64), nullable=True))
    connection = op.get_bind()
    question = sa.table('question', sa.column('id', sa.Integer), sa.column('challenge_id', sa.Integer),
                        sa.column('organisation_id', sa.Integer), sa.column('body', sa.Text),
                        sa.column('body_digest', sa.String))
    seen = set()
    rows = connection.execute(sa.select(question.c.id, question.c.challenge_id, question.c.organisation_id,
                                        question.c.body).order_by(question.c.id))
    for row in rows.all():
        key = (row.challenge_id, row.organisation_id, _digest(row.body))
        if key in seen:
            continue
        seen.add(key)
        connection.execute(question.update().where(question.c.id == row.id).values(body_digest=key[2]))
    with op.batch_alter_table('question', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_question_asked_once', ['challenge_id', 'organisation_id', 'body_digest'])


def downgrade():
    with op.batch_alter_table('question', schema=None) as batch_op:
        batch_op.drop_constraint('uq_question_asked_once', type_='unique')
        batch_op.drop_column('body_digest')
