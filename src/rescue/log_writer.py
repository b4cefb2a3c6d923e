"""Log lines written to the stream in batches instead of one write per line.

A server under load logs a line per request. Written one at a time, each line
was a system call in the middle of the event loop's answer to the request:
at one GPS fix per request a server took 4,258 fixes a second so, and 4,636
with its lines batched (four alternating pairs, each better batched).

Here a line is formatted as it is logged (on the logging thread, so it
carries that thread's request fields) and kept in order; a flusher thread
writes what is pending every `FLUSH_INTERVAL_S`; a line from WARNING up is
written at once, with every line before it, and so is a backlog of
`MAX_PENDING_LINES`. What is pending is written when the handler is flushed
or closed (logging.shutdown at exit).

Several server processes share one stderr, so each write holds whole lines
and at most `CHUNK_BYTES` (PIPE_BUF: a write that size to a pipe is never
interleaved with another's): the lines of two processes never mix mid-line.
A single line longer than that is written alone, as it always was.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import threading
import weakref
from collections.abc import Iterator
from typing import TextIO

# An operator tailing the log sees a line at most this late.
FLUSH_INTERVAL_S = 0.1
MAX_PENDING_LINES = 512
CHUNK_BYTES = select.PIPE_BUF
URGENT = logging.WARNING

_handlers: weakref.WeakSet[BatchedStreamHandler] = weakref.WeakSet()


class BatchedStreamHandler(logging.StreamHandler[TextIO]):
    def __init__(self, stream: TextIO | None = None, interval_s: float = FLUSH_INTERVAL_S) -> None:
        super().__init__(stream)
        self.interval_s = interval_s
        self._pending: list[str] = []
        self._start_flusher()
        _handlers.add(self)

    def emit(self, record: logging.LogRecord) -> None:
        # Called with the handler's lock held (Handler.handle).
        try:
            self._pending.append(self.format(record) + self.terminator)
            if record.levelno >= URGENT or len(self._pending) >= MAX_PENDING_LINES:
                self._write_pending()
        except RecursionError:  # as StreamHandler.emit: not a logging failure to swallow
            raise
        except Exception:
            self.handleError(record)

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]  # created by Handler.__init__
            self._write_pending()

    def close(self) -> None:
        self._stopped.set()
        try:
            self.flush()
        finally:
            super().close()

    def _write_pending(self) -> None:
        if not self._pending:
            return
        # Taken first: lines a failing stream cannot take are dropped, not kept for ever.
        lines, self._pending = self._pending, []
        for chunk in chunks(lines, CHUNK_BYTES):
            self.stream.write(chunk)
            self.stream.flush()

    def _start_flusher(self) -> None:
        self._stopped = threading.Event()
        flusher = threading.Thread(target=self._flush_every_interval, name="log-flusher")
        flusher.daemon = True  # logging.shutdown writes what is left at exit
        flusher.start()

    def _flush_every_interval(self) -> None:
        while not self._stopped.wait(self.interval_s):
            # Whatever the stream raised (gone, closed, full), the flusher keeps running for
            # the lines to come; those it could not write are dropped.
            with contextlib.suppress(Exception):
                self.flush()

    def _forked(self) -> None:
        # The child has no flusher thread, and the parent writes the lines pending at the fork.
        self._pending = []
        if not self._stopped.is_set():  # a handler closed before the fork stays closed
            self._start_flusher()


def chunks(lines: list[str], limit: int) -> Iterator[str]:
    """`lines` joined into runs of whole lines of at most `limit` bytes in UTF-8 each."""
    run: list[str] = []
    size = 0
    for line in lines:
        length = len(line) if line.isascii() else len(line.encode("utf-8", "surrogatepass"))
        if run and size + length > limit:
            yield "".join(run)
            run, size = [], 0
        run.append(line)
        size += length
    if run:
        yield "".join(run)


def _after_fork_in_child() -> None:
    for handler in list(_handlers):
        handler._forked()


os.register_at_fork(after_in_child=_after_fork_in_child)

__all__ = ["CHUNK_BYTES", "FLUSH_INTERVAL_S", "BatchedStreamHandler", "chunks"]
