"""How often each company's solution profiles were shown in recommendation lists, per day.

One row per (organisation, day), counted up in place, so coordinators can see whether a few
vendors take every slot (公平性). ``shown`` counts every appearance in a list; ``top3`` counts the
appearances at ranks 1–3, the slots that people actually read.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Model
from models.organisation import Organisation


class CompanyExposure(Model):
    __tablename__ = "company_exposure"
    __table_args__ = (
        UniqueConstraint("organisation_id", "day", name="uq_company_exposure_organisation_day"),
        CheckConstraint("shown >= 0 AND top3 >= 0 AND top3 <= shown", name="counts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date, index=True)
    shown: Mapped[int] = mapped_column(Integer, default=0)
    top3: Mapped[int] = mapped_column(Integer, default=0)

    organisation: Mapped[Organisation] = relationship()

    def __repr__(self) -> str:
        return f"<CompanyExposure org={self.organisation_id} {self.day} shown={self.shown}>"
