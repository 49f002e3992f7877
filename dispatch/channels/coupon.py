"""The coupon code an email carries: the same for every run of one task's job, so a retried send says the
same thing, and keyed with a secret, so that nobody can work out a code from a task id."""

import base64
import hashlib
import hmac

LETTERS = 10  # base32 characters after the prefix: 50 bits


def code(prefix: str, secret: str, task_id: str) -> str:
    digest = hmac.new(secret.encode(), b"coupon:" + task_id.encode(), hashlib.sha256).digest()
    return prefix + base64.b32encode(digest).decode()[:LETTERS]
