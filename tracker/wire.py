"""The collector's one hot Redis command, sent on a connection each thread keeps to itself.

Every accepted request is one EVALSHA. Through `redis.Redis` that call costs about twice its
round trip in client CPU (a pool checkout with a non-blocking read to test the connection, the
retry wrapper, metrics hooks, generic argument packing): on a 2-core machine that is the largest
single share of a tracking request. Here each thread holds one redis-py `Connection`, made with the
client's own settings (address, timeouts, health checks), and the command is packed directly.
"""

import hashlib
import os
import threading

import redis
from redis.exceptions import NoScriptError


def pack(*parts: bytes) -> bytes:
    """A RESP command."""
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        out.append(b"$%d\r\n" % len(part))
        out.append(part)
        out.append(b"\r\n")
    return b"".join(out)


def _bytes(value) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, int):
        return b"%d" % value
    if isinstance(value, float):
        return repr(value).encode()  # as redis-py sends a float
    return value.encode()


class Script:
    """A Lua script called as `script(keys=[...], args=[...])`, like redis-py's registered script."""

    def __init__(self, client: redis.Redis, source: str):
        pool = client.connection_pool
        self._make = lambda: pool.connection_class(**pool.connection_kwargs)
        self._source = source.encode()
        self.sha = hashlib.sha1(self._source).hexdigest().encode()
        self._local = threading.local()

    def _connection(self):
        local = self._local
        # A forked process (a gunicorn worker) must not share its parent's socket.
        if getattr(local, "pid", None) != os.getpid():
            local.connection, local.pid = self._make(), os.getpid()
        return local.connection

    def _round_trip(self, command: bytes):
        connection = self._connection()
        was_open = connection._sock is not None
        try:
            connection.send_packed_command((command,))
        except redis.ConnectionError:
            if not was_open:  # Redis is unreachable: fail now, within the connect timeout
                raise
            # A connection Redis closed since its last use (a restart, an idle timeout) fails here,
            # before anything ran: one fresh connection is tried. send_packed_command disconnected.
            connection.send_packed_command((command,))
        return connection.read_response()  # on a failure it disconnects; the next call reconnects

    def __call__(self, keys: list[str], args: list):
        parts = [_bytes(part) for part in (*keys, *args)]
        try:
            return self._round_trip(pack(b"EVALSHA", self.sha, b"%d" % len(keys), *parts))
        except NoScriptError:  # a new or flushed server: load it once, then it stays
            self._round_trip(pack(b"SCRIPT", b"LOAD", self._source))
            return self._round_trip(pack(b"EVALSHA", self.sha, b"%d" % len(keys), *parts))
