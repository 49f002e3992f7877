"""Signed requests: `X-Handrail-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">` with the
timestamp in `X-Handrail-Timestamp`, so a receiver can tell the request came from us and is recent."""

import hashlib
import hmac
import time

from dispatch import defaults

TIMESTAMP = "X-Handrail-Timestamp"
SIGNATURE = "X-Handrail-Signature"
IDEMPOTENCY_KEY = "Idempotency-Key"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def headers(secret: str, body: bytes, idempotency_key: str, now: float | None = None) -> dict[str, str]:
    timestamp = str(int(time.time() if now is None else now))
    return {"Content-Type": "application/json", TIMESTAMP: timestamp,
            SIGNATURE: signature(secret, timestamp, body), IDEMPOTENCY_KEY: idempotency_key}


def verify(secret: str, timestamp: str, body: bytes, sent: str, now: float | None = None,
           max_age: float = defaults.SIGNATURE_MAX_AGE) -> bool:
    """What a receiver checks: the signature matches and the timestamp is recent (a replay is not)."""
    try:
        age = abs((time.time() if now is None else now) - int(timestamp))
    except ValueError:
        return False
    return age <= max_age and hmac.compare_digest(signature(secret, timestamp, body).encode(), sent.encode())
