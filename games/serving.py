"""Let the application close a socket with 1009 ("message too big") on daphne.

RFC 6455 lets a server end a connection with 1009, and the ASGI spec passes any close code
through, but daphne hands the application's code to autobahn's ``sendClose``, which accepts
only 1000 and 3000-4999 from applications and raises for anything else (the consumer then
dies and the client sees 1011). daphne's own size limits already close with 1009; this lets the
games consumer do the same after telling the client why. uvicorn needs nothing.
"""

from __future__ import annotations

from typing import Any

PROTOCOL_CODES = frozenset({1008, 1009})  # policy violation, message too big


def allow_protocol_close_codes() -> None:
    """Patch daphne's WebSocket protocol (once) so the codes above reach the wire."""
    try:
        from daphne.ws_protocol import WebSocketProtocol
    except ImportError:  # served by another ASGI server
        return
    if getattr(WebSocketProtocol.serverClose, "playwave_patched", False):
        return
    original = WebSocketProtocol.serverClose

    def server_close(self: Any, code: int | None = None) -> None:
        if code in PROTOCOL_CODES:
            self.sendCloseFrame(code=code, isReply=False)
            return
        original(self, code)

    server_close.playwave_patched = True  # type: ignore[attr-defined]
    WebSocketProtocol.serverClose = server_close
