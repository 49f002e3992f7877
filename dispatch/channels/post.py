"""A signed JSON POST to an outside service (SMS gateway, webhook, contact centre)."""

import json
import urllib.error
import urllib.request

from dispatch import defaults
from dispatch.channels import signing
from dispatch.channels.errors import Permanent, Retryable

RETRY_STATUSES = (408, 425, 429)  # 4xx that mean "later", not "never"


def post(url: str, secret: str, payload: dict, idempotency_key: str) -> int:
    """POST ``payload``; answers the status. Retryable on network errors, timeouts, 5xx and RETRY_STATUSES;
    Permanent on any other 4xx."""
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers=signing.headers(secret, body, idempotency_key))
    try:
        with urllib.request.urlopen(request, timeout=defaults.SEND_TIMEOUT) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        with error:
            detail = error.read(200).decode(errors="replace")
        message = f"{url} answered {error.code}: {detail}".strip()
        if error.code >= 500 or error.code in RETRY_STATUSES:
            raise Retryable(message) from None
        raise Permanent(message) from None
    except (urllib.error.URLError, OSError) as error:  # refused, unreachable, reset, timed out
        reason = getattr(error, "reason", error)
        raise Retryable(f"{url}: {reason}") from None
