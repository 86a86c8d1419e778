"""core.fairlock: first come first served, reentrant, bounded waits."""

from __future__ import annotations

import threading

import pytest

from jupyter_astro_ops.core.fairlock import FairLock


def test_waiters_get_the_lock_in_arrival_order() -> None:
    lock = FairLock()
    assert lock.acquire()
    order: list[int] = []
    threads = []
    for i in range(6):
        t = threading.Thread(target=lambda i=i: (lock.acquire(), order.append(i),
                                                  lock.release()))
        t.start()
        threads.append(t)
        while len(lock._waiters) < i + 1:  # each one queued before the next starts
            threading.Event().wait(0.001)
    lock.release()
    for t in threads:
        t.join(5)
    assert order == list(range(6))


def test_reentrant_for_its_owner_and_refused_to_others() -> None:
    lock = FairLock()
    assert lock.acquire() and lock.acquire()
    got: list[bool] = []
    other = threading.Thread(target=lambda: got.append(lock.acquire(timeout=0.05)))
    other.start()
    other.join(5)
    assert got == [False]  # timed out, and left the queue
    assert not lock._waiters
    lock.release()
    lock.release()
    other = threading.Thread(target=lambda: got.append(lock.acquire(timeout=5)))
    other.start()
    other.join(5)
    assert got == [False, True]


def test_release_by_a_thread_that_does_not_hold_it_is_an_error() -> None:
    lock = FairLock()
    with pytest.raises(RuntimeError):
        lock.release()
    lock.acquire()
    errors: list[Exception] = []

    def release() -> None:
        try:
            lock.release()
        except RuntimeError as exc:
            errors.append(exc)

    t = threading.Thread(target=release)
    t.start()
    t.join(5)
    assert len(errors) == 1
    lock.release()
