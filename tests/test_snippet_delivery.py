"""How the snippet delivers, in real Chromium against the real collector: batches, retries with
backoff, what it drops, what it keeps for the next page, its own rate cap, and sendBeacon when the
page goes away. Failures are made with Playwright's routing of the collector's URL."""

import json
from datetime import datetime

import pytest

from tests.test_snippet_pages import collector, pages, shopper  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


def pause(shopper) -> None:
    """Stop the page's clock where it is: from now on its timers fire only when the test runs it."""
    shopper.page.clock.pause_at(shopper.page.evaluate("Date.now()") / 1000 + 0.5)


def track_many(shopper, event: str, count: int) -> None:
    shopper.page.evaluate("([event, count]) => { for (let n = 1; n <= count; n++) handrail('track', event, {n}) }",
                          [event, count])


def fail_first(shopper, failures: list, seen: list) -> None:
    """Answer the collector's first batches with `failures` (a status, or None to break the
    connection), then let the batches through; record every attempt's body in `seen`."""
    def answer(route):
        seen.append(json.loads(route.request.post_data))
        if len(seen) > len(failures):
            route.continue_()
        elif failures[len(seen) - 1] is None:
            route.abort()
        else:
            route.fulfill(status=failures[len(seen) - 1], body="{}",
                          headers={"Access-Control-Allow-Origin": shopper.pages.url})
    shopper.page.route(shopper.collector + "/v1/batch", answer)


def numbers(shopper, event: str) -> list[int]:
    return [p["n"] for p in shopper.tracked(event)]


def test_a_full_batch_goes_at_once_each_message_with_its_own_id(shopper):
    """Twenty waiting messages are sent without waiting for the clock; fewer wait for it."""
    shopper.open("basic.html")
    shopper.settle()
    pause(shopper)
    track_many(shopper, "Item", 19)
    shopper.page.wait_for_timeout(1000)
    assert shopper.tracked("Item") == []
    track_many(shopper, "Last", 1)
    found = shopper.wait(lambda found: any(m.get("event") == "Last" for m in found), "the full batch", clock=False)
    assert numbers(shopper, "Item") == list(range(1, 20))
    assert len({m["messageId"] for m in found}) == len(found)


@pytest.mark.parametrize("failures", [[503, 503], [None], [429]], ids=["503", "network", "429"])
def test_failed_batches_are_retried_with_growing_waits(shopper, failures):
    """A 5xx, a 429 or a broken connection: the batch is sent again, later each time, and stored once."""
    seen = []
    fail_first(shopper, failures, seen)
    shopper.open("basic.html")
    shopper.call("track", "Product Viewed", {"n": 1})
    shopper.wait_for("Product Viewed")
    shopper.settle()
    assert numbers(shopper, "Product Viewed") == [1]
    attempts = [datetime.fromisoformat(body["sentAt"]) for body in seen]
    gaps = [(b - a).total_seconds() for a, b in zip(attempts, attempts[1:])]
    assert len(seen) >= len(failures) + 1
    assert all(gap >= 2 ** (n + 2) for n, gap in enumerate(gaps[:len(failures)])), gaps  # 4 s, then 8 s


def test_a_refused_batch_is_dropped_with_one_warning(shopper):
    """A 4xx other than 429 will not get better: the batch is dropped, one console warning in all,
    and the next messages go through."""
    seen = []
    fail_first(shopper, [400, 400], seen)
    shopper.open("basic.html")
    shopper.wait(lambda found: len(seen) >= 1, "the first batch")
    shopper.call("track", "Refused Too")
    shopper.wait(lambda found: len(seen) >= 2, "the second batch")
    shopper.call("track", "Accepted")
    shopper.wait_for("Accepted")
    assert [m.get("event") for m in shopper.settle()] == ["Accepted", "Marker"]
    assert [w for w in shopper.warnings if "handrail" in w] == ["[handrail] batch refused: 400"]


def test_undelivered_messages_follow_the_shopper_to_the_next_page(shopper):
    """The collector cannot be reached: the messages are kept in sessionStorage and the next page
    sends them."""
    shopper.page.route(shopper.collector + "/v1/batch", lambda route: route.abort())
    shopper.open("basic.html")
    track_many(shopper, "Offline", 3)
    shopper.run(2000)  # a first attempt fails
    shopper.follow("#to-form", "form.html")
    shopper.page.unroute_all()
    shopper.wait_for("Offline", 3)
    found = shopper.settle()
    assert numbers(shopper, "Offline") == [1, 2, 3]
    assert [m["properties"]["path"] for m in found if m["type"] == "page"] == ["/basic.html", "/form.html"]


def test_at_most_a_hundred_undelivered_messages_are_kept(shopper):
    """Of more than 100 undelivered messages, the newest 100 go on to the next page."""
    shopper.page.route(shopper.collector + "/v1/batch", lambda route: route.abort())
    shopper.open("basic.html")
    track_many(shopper, "Offline", 110)
    shopper.run(2000)
    shopper.follow("#to-form", "form.html")
    shopper.page.unroute_all()
    shopper.wait_for("Offline", 100)
    shopper.settle()
    assert numbers(shopper, "Offline") == list(range(11, 111))


def test_more_than_120_messages_a_minute_are_dropped_with_one_warning(shopper):
    """The snippet sends 120 messages a minute at most; beyond, it drops them and warns once. The
    next minute it sends again."""
    shopper.open("basic.html")  # a page view and the queued event: 2 of the 120
    track_many(shopper, "Burst", 130)
    shopper.wait_for("Burst", 118)
    shopper.run(61_000)
    shopper.call("track", "Next Minute")
    shopper.settle()
    assert numbers(shopper, "Burst") == list(range(1, 119))
    assert shopper.tracked("Next Minute") == [{}]
    assert [w for w in shopper.warnings if "handrail" in w] == ["[handrail] too many messages: dropped"]


def test_what_waits_when_the_page_goes_away_leaves_by_beacon(shopper):
    """Leaving the page flushes what is waiting with sendBeacon: it arrives while the clocks of both
    pages stand still, and the next page has nothing of it to send."""
    shopper.open("basic.html")
    shopper.settle()
    pause(shopper)
    shopper.call("track", "Last Words")
    shopper.follow("#to-form", "form.html")
    shopper.wait(lambda found: any(m.get("event") == "Last Words" for m in found), "the beacon", clock=False)
    assert shopper.page.evaluate("JSON.parse(sessionStorage.hr).q") == []
    fetched = [r.post_data for r in shopper.requests if r.url.endswith("/v1/batch")]
    assert not any("Last Words" in body for body in fetched)
