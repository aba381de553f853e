"""The worker's view of its lease while the database is unreachable: it must give the run up before the lease
expires in the database, which counts from the last renewal only."""

from __future__ import annotations

import uuid

from django.db import OperationalError

from runs.engine import worker


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def lease_check(monkeypatch, settings, calls: list[str]) -> tuple[worker._LeaseCheck, Clock]:
    settings.BG_JOB_HEARTBEAT = 4
    clock = Clock()
    monkeypatch.setattr(worker.time, "monotonic", clock)
    monkeypatch.setattr(worker, "close_old_connections", lambda: None)

    def answer(kind: str):
        def call(lease):
            calls.append(kind)
            if calls.count("fail"):
                raise OperationalError("the network is cut")
            return True, None

        return call

    monkeypatch.setattr(worker.leases, "lease_renew", answer("renew"))
    monkeypatch.setattr(worker.leases, "lease_cancel_action", answer("read"))
    return worker._LeaseCheck(worker.Lease(run_id=uuid.uuid4(), thread_id=uuid.uuid4(), token=uuid.uuid4())), clock


def test_cancel_reads_do_not_count_as_renewals_once_the_database_is_gone(monkeypatch, settings):
    calls: list[str] = []
    check, clock = lease_check(monkeypatch, settings, calls)
    clock.now += 1.0  # a renewal (every heartbeat / 4)
    assert check.check() == (True, None)
    clock.now += 0.5  # a cancel read between renewals: the lease is still ours, its expiry unchanged
    assert check.check() == (True, None)
    assert calls == ["renew", "read"]
    calls.append("fail")  # from now on every call fails
    clock.now += 1.8  # 2.3 s after the renewal: within three quarters of the lease
    assert check.check()[0] is True
    clock.now += 0.8  # 3.1 s after the renewal (2.6 s after the read): the lease may be gone
    assert check.check()[0] is False
