"""The SQLAlchemy handle, the naming convention and shared column helpers."""

from __future__ import annotations

import sqlite3
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, MetaData, event, func, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)

# The model base class: Flask-SQLAlchemy's db.Model at run time (it adds the query property and
# binds), the plain declarative base for the type checker, which cannot see through db.Model.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model


def utcnow() -> datetime:
    return datetime.now(UTC)


def count_and_latest(model: Any, changed: Any, *where: Any) -> list[Any]:
    """Scalar subqueries of the number of rows of ``model`` (matching ``where``) and their latest
    ``changed`` value: together they change whenever such a row is added, changed or removed, which
    is how the fitted index and the page cache tell in one round trip whether their data moved."""
    return [select(func.count(model.id)).where(*where).scalar_subquery(),
            select(func.max(changed)).where(*where).scalar_subquery()]


class UTCDateTime(TypeDecorator[datetime]):
    """An instant, stored in UTC and read back time-zone aware on every backend.

    SQLite keeps no offset: without this, 10:00 JST would be stored as "10:00" and read back as
    10:00 UTC. Aware values are converted to UTC; naive ones are taken to be UTC already.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None or value.tzinfo is None:
            return value
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow
    )


# pysqlite opens its transaction lazily at the first write, so a released SAVEPOINT would commit
# for real and foreign keys are off by default. SQLAlchemy's documented recipe: let SQLAlchemy
# emit BEGIN itself, and switch foreign keys on. Write-ahead logging lets the web requests read
# while the background job runner writes vectors.
@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA foreign_keys=ON")
        dbapi_connection.execute("PRAGMA busy_timeout=10000")
        dbapi_connection.execute("PRAGMA journal_mode=WAL")


# A unit of work that will write (a form post) takes SQLite's write lock when its transaction begins
# (BEGIN IMMEDIATE): two such requests then run one after the other, and the second sees what the
# first saved. A deferred transaction that read first could only fail when it came to write
# ("database is locked"), since another writer had changed what it read. Readers are never held up.
sqlite_writes_ahead: ContextVar[bool] = ContextVar("sqlite_writes_ahead", default=False)


@event.listens_for(Engine, "begin")
def _sqlite_begin(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE" if sqlite_writes_ahead.get() else "BEGIN")
