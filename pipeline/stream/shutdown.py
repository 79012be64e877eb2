"""Stopping a running job on SIGTERM or SIGINT without losing or repeating work.

A supervisor (systemd, Kubernetes, a shell's Ctrl-C) sends SIGTERM or SIGINT and expects the job
to be gone within seconds. Python's default would end it mid-bundle: rows stored whose offsets
were never committed, read again by the next start. Instead the first signal asks the readers in
this process to stop reading (:func:`requested`); each ends its partition at the next poll, the
messages already read go through to the store, their offsets are committed, and the pipeline
ends as it does with ``--until-idle``. A second signal stops the job at once, as before.

Only runners whose workers run in this process (the local runner, Prism) see the request; a
Flink job keeps running until it is cancelled, so there the first signal stops this process.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

log = logging.getLogger(__name__)

SIGNALS = (signal.SIGTERM, signal.SIGINT)

_requested = threading.Event()


def requested() -> bool:
    """Whether a stop signal has arrived: readers end their partitions instead of polling."""
    return _requested.is_set()


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """While the block runs: the first SIGTERM or SIGINT requests a stop, a second one raises
    :class:`KeyboardInterrupt` in the main thread. The handlers before are restored after."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set in the main thread; nothing to catch elsewhere
        return
    previous = {signum: signal.getsignal(signum) for signum in SIGNALS}

    def at_once(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    def gracefully(signum: int, frame: FrameType | None) -> None:
        log.warning("%s: stopping; the messages already read are stored and their offsets "
                    "committed first (send it again to stop at once)", signal.Signals(signum).name)
        _requested.set()
        for again in SIGNALS:
            signal.signal(again, at_once)

    _requested.clear()
    for signum in SIGNALS:
        signal.signal(signum, gracefully)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _requested.clear()
