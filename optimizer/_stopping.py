"""A stop request carried into a solve that blocks (CP-SAT's ``solve``)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def stop_on(stop: threading.Event | None, on_stop: Callable[[], None], *,
            name: str) -> Iterator[None]:
    """While the block runs, a thread of its own (``name``) calls ``on_stop()`` once
    when ``stop`` is set (polled every 0.05 s); the thread is joined when the block
    ends.  ``stop`` ``None``: nothing to watch."""
    if stop is None:
        yield
        return
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            if stop.wait(0.05):
                on_stop()
                return

    watcher = threading.Thread(target=watch, name=name, daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()
