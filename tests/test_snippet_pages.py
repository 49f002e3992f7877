"""The browser snippet in real Chromium: page views (also of single-page apps), back and forth, the
stub queue, double inclusion; and the harness the other test_snippet_* modules share.

The harness runs the real collector over HTTP and serves the small pages of tests/fixtures/snippet
from a second server, another origin, so the snippet posts cross-origin as on a shop. What arrived is
read back from the Redis event streams. Each page gets Playwright's clock, which flows as usual but
can be run forward, so batching (2 s) and the timers of the signals do not make the tests wait.
"""

import json
import threading
import time
import urllib.request
import uuid
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from handrail.app import create_app
from tests.servers import serving
from tracker import sites, sse, stream

pytestmark = pytest.mark.browser

PAGES = Path(__file__).parent / "fixtures" / "snippet"
DIST = Path(__file__).resolve().parent.parent / "js-snippet" / "dist"
WAIT = 6.0  # seconds of real time a test waits for messages to arrive
SLOW = 1.0  # seconds /slow takes to answer (204: the page stays)


def _requests_in_flight() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if "process_request_thread" in t.name]


@pytest.fixture(scope="module")
def collector(redis_server):
    """The real app over real HTTP, on a port of its own; its URL."""
    app = create_app({"REDIS_URL": redis_server.url, "ADMIN_TOKEN": "t", "TESTING": True})
    with pytest.MonkeyPatch.context() as patch:
        # The inbox notices a closed page at its next keep-alive: sooner, so that no stream is left
        # reading from Redis when the tests are over.
        patch.setattr(sse, "BLOCK", 300)
        with serving(make_server("127.0.0.1", 0, app, threaded=True)) as server:
            yield f"http://127.0.0.1:{server.server_port}"
        deadline = time.monotonic() + 3
        while _requests_in_flight() and time.monotonic() < deadline:
            time.sleep(0.05)


class _PageHandler(SimpleHTTPRequestHandler):
    """Serves the fixture pages with {{collector}} and {{key}} filled in."""

    def do_GET(self):
        path = self.path.split("?")[0].lstrip("/") or "basic.html"
        if path == "slow":  # a link that takes its time, then leaves the shopper where they were
            time.sleep(SLOW)
            self.send_response(204)
            self.end_headers()
            return
        page = PAGES / path
        if "/" in path or not page.is_file():
            self.send_error(404)
            return
        body = page.read_text().replace("{{collector}}", self.server.collector)
        body = body.replace("{{key}}", self.server.write_key).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def pages(collector):
    """The shop's origin: the fixture pages, served by a second server."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_PageHandler, directory=str(PAGES)))
    server.daemon_threads = True
    server.collector, server.write_key = collector, ""
    server.url = f"http://127.0.0.1:{server.server_port}"
    with serving(server):
        yield server


class Shopper:
    """One browser tab on the fixture site, and what the collector stored from it."""

    def __init__(self, page, pages, collector, redis):
        self.page, self.pages, self.collector, self.redis = page, pages, collector, redis
        self.warnings, self.errors, self.requests = [], [], []
        page.on("console", lambda m: m.type == "warning" and self.warnings.append(m.text))
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("request", lambda r: r.url.startswith(collector) and self.requests.append(r))

    def open(self, name: str) -> None:
        self.page.goto(f"{self.pages.url}/{name}")
        self.page.wait_for_function("window.handrail && window.handrail.v")

    def follow(self, link: str, name: str) -> None:
        """Click a link to another fixture page and wait for the snippet there."""
        self.page.click(link)
        self.page.wait_for_url(f"**/{name}")
        self.page.wait_for_function("window.handrail && window.handrail.v")

    def call(self, *args) -> None:
        """handrail(...args) in the page, as the site's own script would call it."""
        self.page.evaluate("args => handrail(...args)", list(args))

    def run(self, ms: int) -> None:
        """Move the page's clock forward, firing its timers."""
        self.page.clock.run_for(ms)

    def messages(self) -> list[dict]:
        found = []
        for key in stream.all_keys(4):
            found += [json.loads(fields[b"m"]) for _, fields in self.redis.xrange(key)]
        return sorted(found, key=lambda m: m.get("originalTimestamp") or m["timestamp"])

    def tracked(self, event: str) -> list[dict]:
        return [m["properties"] for m in self.messages() if m.get("event") == event]

    def wait(self, predicate, what: str, clock: bool = True) -> list[dict]:
        """Run the clock a second at a time (unless clock is False) until predicate(messages)
        holds; the messages."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            found = self.messages()
            if predicate(found):
                return found
            if clock:
                self.run(1000)
            time.sleep(0.05)
        raise AssertionError(f"waited {WAIT} s for {what}; arrived: {[m.get('event') or m['type'] for m in found]}")

    def wait_for(self, event: str, count: int = 1) -> list[dict]:
        """The properties of `event` once at least `count` have arrived."""
        self.wait(lambda found: sum(m.get("event") == event for m in found) >= count, f"{count} {event}")
        return self.tracked(event)

    def settle(self) -> list[dict]:
        """Everything the page has sent so far: a marker event is tracked last and waited for."""
        marker = uuid.uuid4().hex
        self.call("track", "Marker", {"marker": marker})
        return self.wait(lambda found: any(m["properties"].get("marker") == marker for m in found
                                           if m.get("event") == "Marker"), "the marker")


@pytest.fixture
def shopper(browser, pages, collector, redis):
    """A new tab (its own storage) on the fixture site, which is registered with its origin."""
    pages.write_key = sites.create(redis, "Fixture", [pages.url])["write_key"]
    context = browser.new_context()
    context.clock.install()
    tab = Shopper(context.new_page(), pages, collector, redis)
    yield tab
    context.close()


def test_snippet_and_widget_are_served_as_built(collector):
    """/hr.js and /hr-widget.js are the built files, as JavaScript any origin may load."""
    for path, built in (("/hr.js", "hr.min.js"), ("/hr-widget.js", "widget.min.js")):
        with urllib.request.urlopen(collector + path) as response:
            assert response.headers["Content-Type"].startswith("text/javascript")
            assert response.headers["Access-Control-Allow-Origin"] == "*"
            assert response.read() == (DIST / built).read_bytes()


def test_page_view_arrives_cross_origin_with_its_context(shopper):
    """Opening a page sends a page view from the shop's origin, then what the page queued before the
    snippet loaded; each message has an anonymousId, a messageId and the page's context."""
    shopper.open("basic.html")
    found = shopper.wait_for("Queued Before Load")
    page, queued = shopper.messages()[:2]
    assert page["type"] == "page"
    assert page["properties"]["path"] == "/basic.html"
    assert page["properties"]["title"] == "Basic page"
    assert page["properties"]["url"] == shopper.pages.url + "/basic.html"
    assert page["context"]["page"]["url"] == page["properties"]["url"]
    assert "Chrome" in page["context"]["userAgent"]  # from the request's header
    assert page["context"]["timezone"] == shopper.page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone")
    assert found == [{"from": "stub"}] and queued["event"] == "Queued Before Load"
    assert page["anonymousId"] == queued["anonymousId"] == shopper.page.evaluate("localStorage.hr_aid")
    assert page["messageId"] != queued["messageId"]
    assert not shopper.errors


def test_history_changes_of_a_single_page_app_are_page_views(shopper):
    """pushState, replaceState and the back button each make a page view of the new path, with the
    previous page as referrer; a replaceState that keeps the URL does not."""
    shopper.open("spa.html")
    shopper.page.evaluate("history.pushState({}, '', '/spa/cart')")
    shopper.page.evaluate("history.replaceState({}, '', '/spa/checkout')")
    shopper.page.evaluate("history.replaceState({step: 2}, '', '/spa/checkout')")
    shopper.page.evaluate("history.back()")
    shopper.page.wait_for_function("location.pathname == '/spa.html'")
    found = shopper.wait(lambda found: sum(m["type"] == "page" for m in found) >= 4, "4 page views")
    views = [m["properties"] for m in found if m["type"] == "page"]
    assert [v["path"] for v in views] == ["/spa.html", "/spa/cart", "/spa/checkout", "/spa.html"]
    assert views[1]["referrer"] == shopper.pages.url + "/spa.html"
    assert views[2]["referrer"] == shopper.pages.url + "/spa/cart"


def test_going_back_and_forth_between_two_pages_is_noticed(shopper):
    """A → B → A → B across page loads sends one Back And Forth from A to B."""
    for name in ("basic.html", "form.html", "basic.html", "form.html"):
        shopper.open(name)
    assert shopper.wait_for("Back And Forth") == [{"from": "/basic.html", "to": "/form.html"}]
    shopper.open("basic.html")
    assert len(shopper.settle()) and len(shopper.tracked("Back And Forth")) == 1


def test_included_twice_it_runs_once(shopper):
    """Two script tags: one snippet runs, one page view is sent."""
    shopper.open("twice.html")
    found = shopper.settle()
    assert [m["type"] for m in found].count("page") == 1
    assert not shopper.errors


def test_without_storage_it_still_sends_and_never_throws(shopper):
    """Where localStorage and sessionStorage throw (a sandboxed frame), the page view still goes out
    and nothing is thrown into the page."""
    shopper.page.add_init_script("""
        for (const name of ['localStorage', 'sessionStorage'])
            Object.defineProperty(window, name, {get() { throw new DOMException('denied', 'SecurityError'); }});
    """)
    shopper.open("basic.html")
    found = shopper.settle()
    assert found[0]["type"] == "page" and found[0]["anonymousId"]
    assert not shopper.errors
