"""The snippet on hostile pages, in real Chromium against the real collector: a 50,000-node DOM that
keeps changing, thousands of clicks a second, localStorage that throws, a broken JSON.stringify.
Whatever the page does, the snippet throws nothing into it and sends no more than its cap of 120
messages a minute (PER_MINUTE in js-snippet/src/hr.js)."""

import json

import pytest

from tests.test_snippet_delivery import pause, track_many
from tests.test_snippet_pages import collector, pages, shopper  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser

PER_MINUTE = 120  # the snippet's cap, PER_MINUTE in js-snippet/src/hr.js

# Registered before any script of the page, the snippet included: whatever reaches the page's own
# error handlers ends up in window.thrown.
WATCH = """
    window.thrown = [];
    addEventListener('error', (e) => thrown.push('error: ' + e.message));
    addEventListener('unhandledrejection', (e) => thrown.push('rejection: ' + e.reason));
"""


def hostile(shopper, script: str = "") -> None:
    shopper.page.add_init_script(WATCH + script)


def thrown(shopper) -> list[str]:
    """What reached the page: its error handlers and Playwright's page errors."""
    return shopper.page.evaluate("window.thrown") + shopper.errors


def sent(shopper) -> list[dict]:
    """Every message of every batch the page posted, as posted (a retried one counts again)."""
    messages = []
    for request in shopper.requests:
        if request.url.endswith("/v1/batch") and request.post_data:
            try:
                messages += json.loads(request.post_data)["batch"]
            except (ValueError, KeyError, TypeError):  # a body a broken JSON.stringify made
                continue
    return messages


def statuses(shopper) -> list:
    """What became of each batch the page posted: its status, or why it failed."""
    return [(r.response().status if r.response() else r.failure, len(json.loads(r.post_data or "{}").get("batch", [])))
            for r in shopper.requests if r.url.endswith("/v1/batch")]


def test_a_page_of_50000_changing_nodes(shopper):
    """50,000 elements, some changed every 50 ms: the snippet still finds the step and the error among
    them, once each, and throws nothing."""
    hostile(shopper)
    shopper.open("basic.html")
    shopper.page.evaluate("""() => {
        const root = document.createElement('main');
        for (let s = 0; s < 500; s++) {
            const section = root.appendChild(document.createElement('section'));
            for (let n = 0; n < 99; n++) {
                const cell = section.appendChild(document.createElement(n % 10 ? 'span' : 'button'));
                cell.className = 'cell c' + n;
                cell.textContent = 'item ' + s + '.' + n;
            }
        }
        // One step and one error message, deep inside: the snippet must find them.
        root.children[250].children[40].setAttribute('data-hr-step', 'payment');
        const error = root.children[499].children[98];
        error.setAttribute('data-hr-error', 'card');
        error.hidden = true;
        error.textContent = 'Card declined';
        document.body.appendChild(root);
        let tick = 0;
        window.churn = setInterval(() => {
            tick++;
            for (let s = 0; s < 500; s += 7) root.children[s].children[tick % 99].dataset.tick = tick;
            error.hidden = tick < 20;
        }, 50);
    }""")
    assert shopper.page.evaluate("document.getElementsByTagName('*').length") > 50_000
    shopper.wait_for("Form Error")
    shopper.run(3000)
    shopper.page.evaluate("clearInterval(window.churn)")
    shopper.settle()
    assert shopper.tracked("Checkout Step Viewed") == [{"step_name": "payment"}]
    assert shopper.tracked("Form Error") == [{"field": "card", "message": "Card declined"}]
    assert len(sent(shopper)) <= PER_MINUTE
    assert thrown(shopper) == []


def test_thousands_of_script_clicks_a_second_are_not_the_shoppers(shopper):
    """A page script that clicks its buttons and links ten thousand times, fifty per timer tick (as
    fast as the page's timers go: thousands a second): no rage or dead clicks are made up from them,
    nothing is thrown, and what the snippet sends stays under its cap."""
    hostile(shopper)
    shopper.open("basic.html")
    clicks = shopper.page.evaluate("""() => new Promise((done) => {
        const targets = [...document.querySelectorAll('button:not(#boom), a#top')];
        let clicks = 0;
        const burst = () => {
            for (let n = 0; n < 50; n++) {
                const target = targets[clicks++ % targets.length];
                const click = {bubbles: true, cancelable: true, clientX: 10, clientY: 10};
                target.dispatchEvent(new MouseEvent('click', click));
            }
            if (clicks < 10000) setTimeout(burst, 0); else done(clicks);
        };
        burst();
    })""")
    assert clicks == 10_000
    shopper.run(3000)  # a dead click would be noticed 2.5 s after the last
    shopper.settle()
    assert shopper.tracked("Rage Click") == [] and shopper.tracked("Dead Click") == []
    assert len(sent(shopper)) <= PER_MINUTE
    assert thrown(shopper) == []


def test_a_storm_of_real_clicks_is_capped_at_120_messages_a_minute(shopper):
    """Hundreds of real clicks a second, three at a time on alternating spots (a rage click every
    three), and the page's script tracking thousands of events: at most 120 messages leave in the
    minute, with one warning; the next minute the snippet sends again. The page's clock stands
    still meanwhile, so that all of it falls in one minute however slow the machine."""
    hostile(shopper)
    shopper.open("basic.html")
    pause(shopper)

    def rage(clicks: int) -> None:
        for n in range(clicks):
            shopper.page.mouse.click(100 + (n // 3 % 2) * 100, 300)

    rage(150)
    track_many(shopper, "Storm", 5000)
    rage(750)
    shopper.run(10_000)
    # A batch that failed on the way is sent again later (the collector drops the repeat): wait for all.
    # Only this page's: a page of the test before may still deliver as it closes.
    aid = shopper.page.evaluate("localStorage.hr_aid")

    def ours(found: list[dict]) -> list[dict]:
        return [m for m in found if m["anonymousId"] == aid]

    shopper.wait(lambda found: len(ours(found)) >= PER_MINUTE, f"{PER_MINUTE} messages")
    assert len(shopper.tracked("Rage Click")) >= 1 and len(shopper.tracked("Storm")) >= 1
    assert len({m["messageId"] for m in sent(shopper)}) == PER_MINUTE, statuses(shopper)
    assert len(ours(shopper.messages())) == PER_MINUTE
    assert [w for w in shopper.warnings if "handrail" in w] == ["[handrail] too many messages: dropped"]
    shopper.run(61_000)
    shopper.settle()  # the marker arrives: sending goes on in the next minute
    assert len({m["messageId"] for m in sent(shopper)}) <= 2 * PER_MINUTE
    assert thrown(shopper) == []


def test_localstorage_that_throws_on_access(shopper):
    """localStorage whose every access throws (a getter that throws, as some privacy settings make
    it): events still arrive, the tab keeps one anonymousId from page to page (sessionStorage
    instead), and nothing is thrown into the page."""
    hostile(shopper, """
        Object.defineProperty(window, 'localStorage', {get() { throw new DOMException('denied', 'SecurityError'); }});
    """)
    shopper.open("basic.html")
    shopper.call("track", "Product Viewed", {"sku": "A1"})
    shopper.follow("#to-form", "form.html")
    found = shopper.settle()
    assert shopper.tracked("Product Viewed") == [{"sku": "A1"}]
    assert [m["properties"]["path"] for m in found if m["type"] == "page"] == ["/basic.html", "/form.html"]
    assert len({m["anonymousId"] for m in found}) == 1
    assert thrown(shopper) == []


BROKEN = {
    "returns-undefined": "JSON.stringify = () => undefined;",
    "throws": "JSON.stringify = () => { throw new TypeError('stringify is broken here'); };",
}


@pytest.mark.parametrize("broken", BROKEN.values(), ids=BROKEN.keys())
def test_a_json_stringify_broken_before_the_snippet_loads(shopper, broken):
    """The page breaks JSON.stringify before the snippet loads: the snippet cannot write a batch, so
    it posts none (no empty batch for the collector to refuse, no storm of retries), throws nothing
    into the page, and the page's own script keeps working."""
    hostile(shopper, broken)
    shopper.open("basic.html")
    shopper.call("track", "While Broken")
    shopper.page.click("#works")
    shopper.run(10_000)
    assert shopper.page.text_content("#out") == "Done"
    assert [r.url for r in shopper.requests if r.url.endswith("/v1/batch")] == []
    assert not [w for w in shopper.warnings if "refused" in w]
    assert thrown(shopper) == []


@pytest.mark.parametrize("broken", BROKEN.values(), ids=BROKEN.keys())
def test_a_json_stringify_broken_after_the_snippet_loaded(shopper, broken):
    """A script that breaks JSON.stringify after the snippet loaded changes nothing for it: events go
    on arriving, and nothing is thrown into the page."""
    hostile(shopper)
    shopper.open("basic.html")
    shopper.page.evaluate(f"() => {{ {broken} }}")
    shopper.call("track", "After Break")
    shopper.settle()
    assert shopper.tracked("After Break") == [{}]
    assert thrown(shopper) == []
