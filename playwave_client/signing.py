"""Launcher request signing (HMAC-SHA256): the one definition, used by the server to verify.

The server imports this module (`sessions/signing.py`), so client and server cannot drift apart.
"""

from __future__ import annotations

import hashlib
import hmac


def canonical(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    """The signed string: METHOD, PATH, TIMESTAMP, NONCE and the body's SHA-256, one a line."""
    digest = hashlib.sha256(body).hexdigest()
    return f"{method.upper()}\n{path}\n{timestamp}\n{nonce}\n{digest}".encode()


def sign(secret: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    """The hex `X-PW-Signature` of one request."""
    message = canonical(method, path, timestamp, nonce, body)
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
