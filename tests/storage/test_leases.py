from __future__ import annotations

import datetime as dt

from docrelay import clock
from docrelay.runtime import Runtime
from docrelay.storage import leases


def test_only_one_holder_at_a_time(runtime: Runtime) -> None:
    ttl = dt.timedelta(seconds=30)
    assert leases.try_acquire(runtime.database, "expiry", "worker-a", ttl)
    assert not leases.try_acquire(runtime.database, "expiry", "worker-b", ttl)
    assert leases.try_acquire(runtime.database, "expiry", "worker-a", ttl), "the holder renews"


def test_expired_lease_passes_to_another_holder(runtime: Runtime) -> None:
    frozen = clock.FrozenClock(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    clock.set_clock(frozen)
    ttl = dt.timedelta(seconds=30)
    assert leases.try_acquire(runtime.database, "prune", "worker-a", ttl)
    frozen.advance(seconds=31)
    assert leases.try_acquire(runtime.database, "prune", "worker-b", ttl)
    assert not leases.try_acquire(runtime.database, "prune", "worker-a", ttl)


def test_release_frees_the_lease(runtime: Runtime) -> None:
    ttl = dt.timedelta(seconds=30)
    assert leases.try_acquire(runtime.database, "reconcile", "worker-a", ttl)
    leases.mark_run(runtime.database, "reconcile", "worker-a")
    assert leases.last_run(runtime.database, "reconcile") is not None
    leases.release(runtime.database, "reconcile", "worker-a")
    assert leases.try_acquire(runtime.database, "reconcile", "worker-b", ttl)
