"""The signature of a webhook delivery, and how a receiver checks it.

`X-Flagramp-Signature: sha256=<hex>` is the HMAC-SHA256, under the webhook's
secret, of `<timestamp>.<body>`, where `<timestamp>` is the
`X-Flagramp-Timestamp` header (Unix seconds). Signing the timestamp with the
body lets a receiver refuse an old delivery replayed by someone who saw it:
reject a timestamp older than a few minutes, and dedupe by
`X-Flagramp-Delivery`, which stays the same on every retry.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Flagramp-Signature"
TIMESTAMP_HEADER = "X-Flagramp-Timestamp"
DELIVERY_HEADER = "X-Flagramp-Delivery"
KIND_HEADER = "X-Flagramp-Kind"
#: How old a delivery's timestamp `is_valid_signature` accepts by default.
TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for `body` sent at `timestamp`."""
    signed = str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def is_valid_signature(
    secret: str,
    header: str,
    timestamp: str,
    body: bytes,
    *,
    now: float,
    tolerance: float = TOLERANCE_SECONDS,
) -> bool:
    """Whether `header` signs `body` at `timestamp` under `secret`, and the
    timestamp is within `tolerance` seconds of `now` (compared in constant time)."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs(now - sent) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, sent, body), header)
