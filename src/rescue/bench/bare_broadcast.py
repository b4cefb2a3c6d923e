"""The baseline for fan-out: a bare `websockets` server broadcasting each van's message.

`/van` sockets send position messages; each is re-sent as it came to every
`/board` socket with `websockets.broadcast` (one frame per message, no
parsing, no storage). Run: `python -m rescue.bench.bare_broadcast PORT`.
"""

from __future__ import annotations

import asyncio
import sys

import orjson
from websockets.asyncio.server import ServerConnection, broadcast, serve

boards: set[ServerConnection] = set()


async def handler(ws: ServerConnection) -> None:
    path = ws.request.path if ws.request is not None else ""
    await ws.send('{"type":"snapshot"}')
    if path.startswith("/board"):
        boards.add(ws)
        try:
            await ws.wait_closed()
        finally:
            boards.discard(ws)
        return
    async for message in ws:
        # The same fields our change frames carry, so clients parse alike.
        report = orjson.loads(message)["reports"][0]
        broadcast(
            boards,
            orjson.dumps(
                {
                    "type": "change",
                    "log_position": 0,
                    "changes": {
                        "position_at": report["recorded_at"],
                        "lat": report["lat"],
                        "lon": report["lon"],
                    },
                }
            ).decode(),
        )


async def main(port: int) -> None:
    async with serve(handler, "127.0.0.1", port, max_size=None):
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
