"""The batched log handler: lines in order, written at the latest after the flush interval, at
once from WARNING up; whole lines of at most PIPE_BUF bytes per write, so server processes
sharing one stderr never mix their lines; nothing lost at exit, nothing doubled by a fork."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator

import pytest

from rescue.log_writer import CHUNK_BYTES, MAX_PENDING_LINES, BatchedStreamHandler, chunks


class Recording(io.StringIO):
    """A stream that keeps each write apart."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)


@pytest.fixture
def stream() -> Recording:
    return Recording()


@pytest.fixture
def logger(stream: Recording) -> Iterator[tuple[logging.Logger, BatchedStreamHandler]]:
    handler = BatchedStreamHandler(stream, interval_s=3600)  # only explicit flushes here
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    log = logging.getLogger("tests.log_writer")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    try:
        yield log, handler
    finally:
        log.removeHandler(handler)
        handler.close()


def test_info_lines_wait_for_a_flush_and_come_out_in_order(
    logger: tuple[logging.Logger, BatchedStreamHandler], stream: Recording
) -> None:
    log, handler = logger
    for n in range(3):
        log.info("line %d", n)
    assert stream.getvalue() == ""
    handler.flush()
    assert stream.getvalue() == "INFO line 0\nINFO line 1\nINFO line 2\n"
    assert len(stream.writes) == 1


def test_a_warning_is_written_at_once_with_everything_before_it(
    logger: tuple[logging.Logger, BatchedStreamHandler], stream: Recording
) -> None:
    log, _ = logger
    log.info("first")
    log.warning("second")
    assert stream.getvalue() == "INFO first\nWARNING second\n"
    log.error("third")
    assert stream.getvalue().endswith("WARNING second\nERROR third\n")


def test_a_backlog_is_written_without_waiting_for_the_interval(
    logger: tuple[logging.Logger, BatchedStreamHandler], stream: Recording
) -> None:
    log, _ = logger
    for n in range(MAX_PENDING_LINES - 1):
        log.info("%d", n)
    assert stream.getvalue() == ""
    log.info("last")
    assert len(stream.getvalue().splitlines()) == MAX_PENDING_LINES


def test_the_flusher_writes_pending_lines_by_itself(stream: Recording) -> None:
    handler = BatchedStreamHandler(stream, interval_s=0.02)
    handler.setFormatter(logging.Formatter("%(message)s"))
    try:
        handler.handle(logging.makeLogRecord({"msg": "on its own", "levelno": logging.INFO}))
        deadline = time.monotonic() + 10
        while stream.getvalue() == "" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert stream.getvalue() == "on its own\n"
    finally:
        handler.close()


class FailingOnce(Recording):
    """A stream whose first write fails with an error no stream is documented to raise."""

    def write(self, text: str) -> int:
        if not self.writes:
            self.writes.append("(refused)")
            raise RuntimeError("the stream refused a write")
        return super().write(text)


def test_the_flusher_outlives_a_stream_that_failed() -> None:
    stream = FailingOnce()
    handler = BatchedStreamHandler(stream, interval_s=0.02)
    handler.setFormatter(logging.Formatter("%(message)s"))
    try:
        handler.handle(logging.makeLogRecord({"msg": "lost", "levelno": logging.INFO}))
        deadline = time.monotonic() + 10
        while not stream.writes and time.monotonic() < deadline:
            time.sleep(0.01)
        handler.handle(logging.makeLogRecord({"msg": "written", "levelno": logging.INFO}))
        while stream.getvalue() == "" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert stream.getvalue() == "written\n"
    finally:
        handler.close()


def test_closing_writes_what_is_pending_and_stops_the_flusher(stream: Recording) -> None:
    handler = BatchedStreamHandler(stream, interval_s=3600)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.handle(logging.makeLogRecord({"msg": "last words", "levelno": logging.INFO}))
    handler.close()
    assert stream.getvalue() == "last words\n"
    assert handler._stopped.is_set()


def test_each_write_holds_whole_lines_of_at_most_pipe_buf_bytes() -> None:
    lines = [f"{n:04d} " + "x" * 295 + "\n" for n in range(40)]  # 300 bytes each
    wide = "路" * 1500 + "\n"  # 1,501 characters, 4,501 bytes: alone in its write
    written = list(chunks([*lines[:20], wide, *lines[20:]], CHUNK_BYTES))
    assert "".join(written) == "".join([*lines[:20], wide, *lines[20:]])
    for chunk in written:
        assert chunk.endswith("\n")
        assert len(chunk.encode()) <= CHUNK_BYTES or chunk == wide
    assert wide in written
    # 13 lines (3,900 bytes), 7 lines, the wide one (never joined to others), 13 lines, 7 lines
    assert [chunk.count("\n") for chunk in written] == [13, 7, 1, 13, 7]
    assert list(chunks([], CHUNK_BYTES)) == []


def _run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=True,
    )


def test_a_process_that_exits_has_written_every_line() -> None:
    done = _run(
        """
        import logging
        from rescue.logs import configure
        configure("INFO", "json")
        for n in range(2000):
            logging.getLogger("tests.exit").info("line %d", n)
        """
    )
    messages = [json.loads(line)["message"] for line in done.stderr.splitlines()]
    assert messages == [f"line {n}" for n in range(2000)]


def test_a_forked_child_does_not_write_the_parents_pending_lines_again() -> None:
    done = _run(
        """
        import io, logging, os, threading, warnings
        from rescue.log_writer import BatchedStreamHandler
        from rescue.logs import configure
        warnings.simplefilter("ignore")  # fork in a process with threads: the point here
        configure("INFO", "text")
        closed = BatchedStreamHandler(io.StringIO())
        closed.close()
        log = logging.getLogger("tests.fork")
        log.info("before the fork")
        child = os.fork()
        if child == 0:
            log.info("in the child")
            flushers = [t for t in threading.enumerate() if t.name == "log-flusher"]
            log.info("flushers in the child: %d", len(flushers))  # the closed one's not restarted
            logging.shutdown()
            os._exit(0)
        os.waitpid(child, 0)
        log.info("in the parent")
        """
    )
    said = [line.split(": ", 1)[1] for line in done.stderr.splitlines()]
    assert sorted(said) == [
        "before the fork",
        "flushers in the child: 1",
        "in the child",
        "in the parent",
    ]


def test_two_processes_on_one_pipe_never_mix_their_lines() -> None:
    # Two writers on one pipe, each logging faster than the reader takes it in: every line
    # that comes out is whole.
    script = """
        import logging, sys
        from rescue.logs import configure
        configure("INFO", "json")
        log = logging.getLogger("tests.pipe")
        for n in range(3000):
            log.info("%s %d %s", sys.argv[1], n, "救援车" * 120)
        """
    read_end, write_end = os.pipe()
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(script), name],
            stderr=write_end,
            stdin=subprocess.DEVNULL,
        )
        for name in ("a", "b")
    ]
    os.close(write_end)
    received = bytearray()
    with open(read_end, "rb", buffering=0) as pipe:
        while chunk := pipe.read(1024):
            received += chunk
            time.sleep(0.0005)  # a slow reader: the pipe fills up
    for writer in writers:
        assert writer.wait(timeout=120) == 0
    seen: dict[str, list[int]] = {"a": [], "b": []}
    for line in received.decode("utf-8").splitlines():
        name, number, _ = json.loads(line)["message"].split(" ", 2)
        seen[name].append(int(number))
    assert seen == {"a": list(range(3000)), "b": list(range(3000))}
