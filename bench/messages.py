"""The load's messages: one Segment `track` message, as the snippet sends a product view.

One printf-style format serves both generators: Python's `%` operator here and Lua's
`string.format` in `load.lua` (wrk). Its two `%s` are the anonymousId and the messageId; every
message of a run carries a fresh messageId (the collector drops repeated ones for a day).
"""

import json

SENT_AT = "2026-11-23T10:00:01.000Z"
SESSIONS = 500  # anonymousIds per generator thread: several events per session, spread over the shards

_ANON, _ID = "@@anon@@", "@@id@@"
_MESSAGE = {
    "type": "track",
    "event": "Product Viewed",
    "anonymousId": _ANON,
    "messageId": _ID,
    "timestamp": "2026-11-23T10:00:00.000Z",
    "properties": {"product_id": "sku-1042", "name": "Trail running shoe", "price": 89.9, "currency": "EUR"},
    "context": {
        "page": {"url": "https://shop.example/p/sku-1042", "path": "/p/sku-1042", "title": "Trail running shoe"},
        "userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0",
        "timezone": "Europe/Berlin",
        "library": {"name": "handrail-bench", "version": "1"},
    },
}
MESSAGE_FORMAT = (
    json.dumps(_MESSAGE, separators=(",", ":")).replace("%", "%%").replace(_ANON, "%s").replace(_ID, "%s")
)


def message(anonymous_id: str, message_id: str) -> str:
    return MESSAGE_FORMAT % (anonymous_id, message_id)


def body(run: str, thread: int, counter: int, per_request: int) -> bytes:
    """The request body number `counter` of a generator thread: one message, or a batch of them."""
    def one(n: int) -> str:
        return message(f"anon-{run}-{thread}-{n % SESSIONS}", f"{run}-{thread}-{n}")

    if per_request == 1:
        return one(counter).encode()
    first = counter * per_request
    batch = ",".join(one(n) for n in range(first, first + per_request))
    return f'{{"sentAt":"{SENT_AT}","batch":[{batch}]}}'.encode()
