"""``stop_on``: a stop request reaches a blocking solve once, and the watcher ends."""

from __future__ import annotations

import threading
import time

from optimizer._stopping import stop_on


def _alive(name: str) -> bool:
    return any(t.name == name for t in threading.enumerate())


def test_a_stop_request_calls_on_stop_once_and_the_watcher_is_joined() -> None:
    stop, calls = threading.Event(), []
    with stop_on(stop, lambda: calls.append(time.perf_counter()), name="test-stop-on"):
        assert _alive("test-stop-on")
        stop.set()
        time.sleep(0.3)
    assert len(calls) == 1
    assert not _alive("test-stop-on")


def test_no_request_no_call_and_no_stop_event_no_thread() -> None:
    stop, calls = threading.Event(), []
    with stop_on(stop, lambda: calls.append(1), name="test-stop-on-idle"):
        time.sleep(0.15)
    assert calls == [] and not _alive("test-stop-on-idle")
    with stop_on(None, lambda: calls.append(1), name="test-stop-on-none"):
        assert not _alive("test-stop-on-none")
    assert calls == []
