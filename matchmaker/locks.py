"""Named locks across every process that serves one database.

Work that must not run twice at once — the daily notification run, digests, SMTP delivery, the
start-up embedding sweep — takes a named lock first. On PostgreSQL it is a session advisory lock
(`pg_try_advisory_lock`) held on a connection of its own; on SQLite, whose processes share one
host, an `flock` on a file beside the database. Both are released by the operating system or the
server when the holder dies, so a crashed process never leaves a lock behind.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import current_app
from sqlalchemy import text

from models import db


def _advisory_key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (PostgreSQL advisory locks take a bigint)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


def _lock_file(name: str) -> Path:
    database = db.engine.url.database
    if database and database != ":memory:":
        folder = Path(database).resolve().parent / "locks"
    else:
        folder = Path(current_app.instance_path) / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / (re.sub(r"[^A-Za-z0-9_.-]", "_", name) + ".lock")


@contextmanager
def named_lock(name: str, *, wait: float = 0.0, poll: float = 0.2) -> Iterator[bool]:
    """Hold the lock ``name`` for the ``with`` block if it can be had.

    Args:
        name: What is being protected, e.g. ``"notifications"``.
        wait: Seconds to keep trying while another process holds it (0: try once).
        poll: Seconds between tries.

    Yields:
        True when this process holds the lock; False when another one held it throughout.
    """
    deadline = time.monotonic() + wait
    if db.engine.dialect.name == "postgresql":
        key = _advisory_key(name)
        with db.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            held = bool(conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}))
            while not held and time.monotonic() < deadline:
                time.sleep(poll)
                held = bool(conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}))
            try:
                yield held
            finally:
                if held:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
        return
    fd = os.open(_lock_file(name), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        held = _try_flock(fd)
        while not held and time.monotonic() < deadline:
            time.sleep(poll)
            held = _try_flock(fd)
        try:
            yield held
        finally:
            if held:
                fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
