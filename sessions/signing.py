"""The server's side of launcher signing: the client's `sign`, and a constant-time comparison.

The signed string is defined once, in the installable client (`playwave_client.signing`); the
server verifies by recomputing it, so the two cannot drift apart.
"""

from __future__ import annotations

import hmac

from playwave_client.signing import canonical, sign

__all__ = ["canonical", "sign", "signature_matches"]


def signature_matches(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode())
