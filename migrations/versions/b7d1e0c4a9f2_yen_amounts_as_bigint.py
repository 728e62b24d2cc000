"""yen amounts as 64-bit integers: a 30億円 budget does not fit PostgreSQL's integer (2,147,483,647)

Revision ID: b7d1e0c4a9f2
Revises: ab07a3f77294
Create Date: 2026-12-07 03:50:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b7d1e0c4a9f2'
down_revision = 'ab07a3f77294'
branch_labels = None
depends_on = None

AMOUNTS = {
    "challenge": ("budget_min", "budget_max"),
    "match": ("adoption_amount",),
    "pilot": ("budget_request_amount",),
    "contract_limit": ("works", "purchase", "lease_in", "sale", "lease_out", "other"),
    "proposal": ("cost_estimate",),
    "solution": ("price_min", "price_max"),
}


def _retype(old: type[sa.types.TypeEngine], new: type[sa.types.TypeEngine]) -> None:
    for table, columns in AMOUNTS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(column, existing_type=old(), type_=new())


def upgrade():
    _retype(sa.Integer, sa.BigInteger)


def downgrade():
    _retype(sa.BigInteger, sa.Integer)
