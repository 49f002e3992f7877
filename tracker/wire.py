"""Hot Redis commands, sent on a connection each thread keeps to itself: the collector's one EVALSHA a
request, the scorer's stream reads, session reads and batch writes.

Through `redis.Redis` a call costs about twice its round trip in client CPU (a pool checkout with a
non-blocking read to test the connection, the retry wrapper, metrics hooks, generic argument packing,
reply callbacks): on a 2-core machine that is the largest single share of a tracking request. Here each
thread holds one redis-py `Connection`, made with the client's own settings (address, timeouts, health
checks, protocol), and the command is packed directly; the reply is the parser's, without callbacks.
"""

import hashlib
import os
import threading

import hiredis
import redis
from redis.exceptions import NoScriptError


def pack(*parts) -> bytes:
    """A RESP command of bytes, str (UTF-8), int and float (its repr, as redis-py sends one) parts: packed in C
    by hiredis (a scorer batch's write has thousands of parts), a part of another type (a bool) as _bytes has it."""
    try:
        return hiredis.pack_command(parts)
    except TypeError:
        return hiredis.pack_command(tuple(_bytes(part) for part in parts))


def _bytes(value) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, int):  # a bool
        return b"%d" % value
    if isinstance(value, float):
        return repr(value).encode()  # as redis-py sends a float
    return value.encode()


class Line:
    """Commands on a connection of this thread's own: `line.call(b"MGET", key, ...)` answers the reply."""

    def __init__(self, client: redis.Redis):
        pool = client.connection_pool
        self._make = lambda: pool.connection_class(**pool.connection_kwargs)
        self._local = threading.local()

    def call(self, *parts):
        return self._round_trip(pack(*parts))

    def _connection(self):
        local = self._local
        # A forked process (a gunicorn worker) must not share its parent's socket.
        if getattr(local, "pid", None) != os.getpid():
            local.connection, local.pid = self._make(), os.getpid()
        return local.connection

    def _send(self, command: bytes):
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
        return connection  # read_response disconnects on a failure; the next call reconnects

    def _round_trip(self, command: bytes):
        return self._send(command).read_response()


class Script(Line):
    """A Lua script called as `script(keys=[...], args=[...])`, like redis-py's registered script."""

    def __init__(self, client: redis.Redis, source: str):
        super().__init__(client)
        self._source = source.encode()
        self.sha = hashlib.sha1(self._source).hexdigest().encode()

    def _command(self, keys: list[str], args: list) -> bytes:
        return pack(b"EVALSHA", self.sha, len(keys), *keys, *args)

    def __call__(self, keys: list[str], args: list):
        command = self._command(keys, args)
        try:
            return self._round_trip(command)
        except NoScriptError:  # a new or flushed server: load it once, then it stays
            self._round_trip(pack(b"SCRIPT", b"LOAD", self._source))
            return self._round_trip(command)

    def many(self, calls: list[tuple[list, list]]) -> list:
        """The answers of ``[(keys, args), ...]``, all sent in one round trip, run one after the other.
        Every answer is read before an error is raised, so that the connection stays in step."""
        commands = [self._command(keys, args) for keys, args in calls]
        answers, missing, failed = self._pipelined(commands)
        if missing:  # a new or flushed server: those calls did not run; once loaded, the script stays
            self._round_trip(pack(b"SCRIPT", b"LOAD", self._source))
            again, still, failed_again = self._pipelined([commands[n] for n in missing])
            for n, answer in zip(missing, again):
                answers[n] = answer
            failed = failed or failed_again or (NoScriptError("the script was flushed again") if still else None)
        if failed is not None:
            raise failed
        return answers

    def _pipelined(self, commands: list[bytes]) -> tuple[list, list[int], Exception | None]:
        """(answers, the indexes of the calls the server had no script for, the first other error)."""
        answers, missing, failed = [], [], None
        if not commands:
            return answers, missing, failed
        connection = self._send(b"".join(commands))
        for n in range(len(commands)):
            try:
                answers.append(connection.read_response())
            except NoScriptError:
                answers.append(None)
                missing.append(n)
            except redis.ResponseError as error:
                answers.append(None)
                failed = failed or error
        return answers, missing, failed
