"""The port several server processes share (rescue.api.shared_port): each gets a listener of its
own, connections spread over them, and a second supervisor cannot join."""

from __future__ import annotations

import pickle
import selectors
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest

from rescue.api.shared_port import PortShare, PortTaken, hold_port

CONNECTIONS = 64
GIVE_UP_S = 10.0


@contextmanager
def held() -> Iterator[PortShare]:
    share = hold_port("127.0.0.1", 0)
    try:
        yield share
    finally:
        share.close()


def _worker_listener(share: PortShare) -> socket.socket:
    """What a worker process gets when the supervisor hands it the share: its own socket."""
    sock: socket.socket = pickle.loads(pickle.dumps(share))
    sock.listen()
    return sock


def test_each_worker_gets_a_socket_of_its_own_on_the_same_port() -> None:
    with held() as share, ExitStack() as stack:
        first = stack.enter_context(_worker_listener(share))
        second = stack.enter_context(_worker_listener(share))
        port = share.getsockname()[1]
        assert first.getsockname() == second.getsockname() == ("127.0.0.1", port)
        assert len({share.fileno(), first.fileno(), second.fileno()}) == 3
        assert first.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1


def test_connections_spread_over_the_workers_listeners() -> None:
    """A burst of connections: a shared socket hands them to whoever accepts first; here the
    kernel hashes each to one listener, so both get a fair share."""
    with held() as share, ExitStack() as stack:
        listeners = [stack.enter_context(_worker_listener(share)) for _ in range(2)]
        port = share.getsockname()[1]
        clients = [
            stack.enter_context(socket.create_connection(("127.0.0.1", port)))
            for _ in range(CONNECTIONS)
        ]
        accepted = {listener.fileno(): 0 for listener in listeners}
        with selectors.DefaultSelector() as selector:
            for listener in listeners:
                listener.setblocking(False)
                selector.register(listener, selectors.EVENT_READ)
            deadline = time.monotonic() + GIVE_UP_S
            while sum(accepted.values()) < len(clients):
                assert time.monotonic() < deadline, f"accepted only {accepted}"
                for key, _ in selector.select(timeout=0.1):
                    listener = key.fileobj
                    assert isinstance(listener, socket.socket)
                    connection, _ = listener.accept()
                    stack.enter_context(connection)
                    accepted[listener.fileno()] += 1
        # Hashed like coin tosses: fewer than 16 of 64 on one side happens about once in 10^5.
        assert min(accepted.values()) >= CONNECTIONS // 4, accepted


def test_a_second_supervisor_on_the_port_is_refused_until_the_first_lets_go() -> None:
    with held() as share:
        port = share.getsockname()[1]
        with pytest.raises(PortTaken, match=f"another rescue serve is serving port {port}"):
            hold_port("127.0.0.1", port)
    again = hold_port("127.0.0.1", port)
    again.close()


def test_a_port_another_program_listens_on_is_refused() -> None:
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        other.bind(("127.0.0.1", 0))
        other.listen()
        with pytest.raises(OSError) as refused:
            hold_port("127.0.0.1", other.getsockname()[1])
        assert not isinstance(refused.value, PortTaken)
