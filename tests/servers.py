"""Real HTTP servers on loopback ports for tests: run one in a thread, stop it after."""

import threading
from contextlib import contextmanager


@contextmanager
def serving(server):
    """Serve ``server`` (a socketserver, e.g. werkzeug's make_server) in a thread until the block ends."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
