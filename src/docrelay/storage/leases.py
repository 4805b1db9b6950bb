"""Leased rows that let exactly one process at a time run a periodic job.

Each job has a row in ``periodic_leases``. A process takes the lease with one
conditional UPDATE (free, expired, or already its own), so two processes on any
number of machines cannot both hold it: the database decides. A holder that
dies simply lets its lease expire.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from docrelay import clock
from docrelay.storage.db import Database
from docrelay.storage.models import PeriodicLease


def try_acquire(database: Database, name: str, holder: str, ttl: dt.timedelta) -> bool:
    """Take or renew the lease ``name`` for ``holder``; return whether ``holder`` now has it."""
    now = clock.now()
    with database.transaction() as session:
        if session.get(PeriodicLease, name) is None:
            try:
                with session.begin_nested():
                    session.add(PeriodicLease(name=name, holder=None, lease_until=None))
            except IntegrityError:
                pass  # another process created the row at the same moment
        result = session.execute(
            update(PeriodicLease)
            .where(
                PeriodicLease.name == name,
                or_(
                    PeriodicLease.holder.is_(None),
                    PeriodicLease.holder == holder,
                    PeriodicLease.lease_until < now,
                ),
            )
            .values(holder=holder, lease_until=now + ttl)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]


def mark_run(database: Database, name: str, holder: str) -> None:
    with database.transaction() as session:
        session.execute(
            update(PeriodicLease)
            .where(PeriodicLease.name == name, PeriodicLease.holder == holder)
            .values(last_run_at=clock.now())
        )


def release(database: Database, name: str, holder: str) -> None:
    with database.transaction() as session:
        session.execute(
            update(PeriodicLease)
            .where(PeriodicLease.name == name, PeriodicLease.holder == holder)
            .values(holder=None, lease_until=None)
        )


def last_run(database: Database, name: str) -> dt.datetime | None:
    with database.session() as session:
        return session.scalar(select(PeriodicLease.last_run_at).where(PeriodicLease.name == name))
