"""A municipality's own 少額随意契約 limits (地方自治法施行令第167条の2第1項第1号).

The cabinet order (別表第五) sets the ceiling per kind of contract; each municipality fixes its own
amounts by 規則 at or below it. A column holds the municipality's amount in yen where it differs
from the ceiling; ``NULL`` means "the ceiling of 別表第五" (see ``matchmaker.services.procurement``).
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, CheckConstraint, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Model, TimestampMixin
from models.organisation import Organisation

# 契約の種類 of 別表第五, in its order (the last is 前各号に掲げるもの以外のもの: 業務委託 etc.).
CONTRACT_KINDS: dict[str, Any] = {
    "works": _l("工事又は製造の請負"),
    "purchase": _l("財産の買入れ"),
    "lease_in": _l("物件の借入れ"),
    "sale": _l("財産の売払い"),
    "lease_out": _l("物件の貸付け"),
    "other": _l("前各号以外（業務委託など）"),
}


class ContractLimit(TimestampMixin, Model):
    __tablename__ = "contract_limit"
    __table_args__ = tuple(
        CheckConstraint(f"{kind} IS NULL OR {kind} >= 0", name=f"{kind}_amount") for kind in CONTRACT_KINDS
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), unique=True)
    works: Mapped[int | None] = mapped_column(BigInteger)
    purchase: Mapped[int | None] = mapped_column(BigInteger)
    lease_in: Mapped[int | None] = mapped_column(BigInteger)
    sale: Mapped[int | None] = mapped_column(BigInteger)
    lease_out: Mapped[int | None] = mapped_column(BigInteger)
    other: Mapped[int | None] = mapped_column(BigInteger)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    organisation: Mapped[Organisation] = relationship()

    def overrides(self) -> dict[str, int]:
        """The amounts this municipality's 規則 sets (yen), by contract kind."""
        return {kind: value for kind in CONTRACT_KINDS if (value := getattr(self, kind)) is not None}

    def __repr__(self) -> str:
        return f"<ContractLimit org={self.organisation_id} {self.overrides()}>"
