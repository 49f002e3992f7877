"""A real HTTP receiver of signed requests (an SMS gateway, a webhook, a contact centre) on a loopback
port: it checks each signature as a receiver must, drops a repeat of an Idempotency-Key, and can answer
with given statuses or hold the first request (to kill the sender in the middle of it)."""

import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from dispatch.channels import signing
from tests.servers import serving

SECRET = "test-webhook-secret"


class Receiver:
    def __init__(self, statuses=(), stall_first: bool = False):
        self.statuses = list(statuses)  # answered in turn to valid requests, then 200
        self.stall_first = stall_first
        self.arrived = threading.Event()  # the first request is here
        self.release = threading.Event()  # let a stalled request answer
        self.requests: list[dict] = []  # every request whose signature verified: headers, payload
        self.delivered: dict[str, dict] = {}  # Idempotency-Key -> payload, acted on once
        self.rejected = 0  # requests with a bad or missing signature
        self.lock = threading.Lock()
        self.url = ""

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length", 0)))
        timestamp = handler.headers.get(signing.TIMESTAMP, "")
        if not signing.verify(SECRET, timestamp, body, handler.headers.get(signing.SIGNATURE, "")):
            with self.lock:
                self.rejected += 1
            return self._answer(handler, 401)
        key = handler.headers.get(signing.IDEMPOTENCY_KEY, "")
        with self.lock:
            self.requests.append({"key": key, "payload": json.loads(body), "timestamp": timestamp})
            first = len(self.requests) == 1
            status = self.statuses.pop(0) if self.statuses else 200
            if status < 300:
                self.delivered.setdefault(key, json.loads(body))  # a repeat of the key is dropped
        self.arrived.set()
        if first and self.stall_first:
            self.release.wait(30)  # taken, but the answer never reaches a sender killed meanwhile
        self._answer(handler, status)

    @staticmethod
    def _answer(handler, status: int) -> None:
        try:
            handler.send_response(status)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the sender is gone


@contextmanager
def receiving(statuses=(), stall_first: bool = False):
    receiver = Receiver(statuses, stall_first)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            receiver.handle(self)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with serving(server):
        receiver.url = f"http://127.0.0.1:{server.server_port}/hook"
        try:
            yield receiver
        finally:
            receiver.release.set()
