"""Organisations: municipalities and companies. Every non-staff user belongs to one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Model, TimestampMixin
from models.codes import OrgKind

if TYPE_CHECKING:
    from models.user import User


class Organisation(TimestampMixin, Model):
    __tablename__ = "organisation"
    __table_args__ = (
        CheckConstraint("kind IN ('municipality', 'company')", name="kind"),
        CheckConstraint("kind = 'company' OR lg_code IS NOT NULL", name="municipality_has_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    prefecture: Mapped[str] = mapped_column(String(10))
    lg_code: Mapped[str | None] = mapped_column(String(6), unique=True)
    population: Mapped[int | None] = mapped_column(Integer)
    corporate_number: Mapped[str | None] = mapped_column(String(13))
    size: Mapped[str | None] = mapped_column(String(20))

    users: Mapped[list[User]] = relationship(back_populates="organisation")

    @property
    def is_municipality(self) -> bool:
        return self.kind == OrgKind.MUNICIPALITY.value

    @property
    def is_company(self) -> bool:
        return self.kind == OrgKind.COMPANY.value

    def __repr__(self) -> str:
        return f"<Organisation {self.id} {self.name}>"
