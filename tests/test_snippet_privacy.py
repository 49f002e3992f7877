"""The snippet's privacy in real Chromium: personal query parameters never leave the page, Do Not
Track and Global Privacy Control are honoured where the site asks, consent stops and resumes
sending, and no cookie is ever set."""

import pytest

from tests.test_snippet_pages import collector, pages, shopper  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser

GPC = "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})"
DNT = "Object.defineProperty(Navigator.prototype, 'doNotTrack', {get: () => '1'})"


def test_personal_query_parameters_are_stripped_from_every_url(shopper):
    """email, token, name... are dropped from the page URL and the referrer; other parameters stay."""
    shopper.open("basic.html?email=ada%40example.com&utm_source=news&token=s3cret&q=shoes&contact=ada@example.com")
    shopper.follow("#to-form", "form.html")
    found = shopper.wait(lambda found: sum(m["type"] == "page" for m in found) >= 2, "two page views")
    first, second = [m for m in found if m["type"] == "page"]
    assert first["properties"]["url"] == shopper.pages.url + "/basic.html?utm_source=news&q=shoes"
    assert second["properties"]["referrer"] == first["properties"]["url"]
    assert all(m["context"]["page"]["url"] == m["properties"]["url"] for m in (first, second))
    sent = str(shopper.settle())
    assert "s3cret" not in sent and "ada" not in sent


def test_a_site_that_respects_do_not_track_sends_nothing_under_gpc(shopper):
    """With data-respect-dnt and Global Privacy Control on, not one request goes to the collector
    besides loading the script: no events, no inbox; handrail() calls do nothing and throw nothing."""
    shopper.page.add_init_script(GPC)
    shopper.open("respect-dnt.html")
    shopper.call("track", "Product Viewed", {"sku": "A"})
    shopper.page.click("#nothing")
    shopper.run(5000)
    shopper.page.wait_for_timeout(300)
    assert [r.url.split("?")[0] for r in shopper.requests] == [shopper.collector + "/hr.js"]
    assert shopper.messages() == [] and not shopper.errors and not shopper.warnings


def test_a_site_that_respects_do_not_track_sends_nothing_under_dnt(shopper):
    """The same for the Do Not Track setting."""
    shopper.page.add_init_script(DNT)
    shopper.open("respect-dnt.html")
    shopper.run(5000)
    shopper.page.wait_for_timeout(300)
    assert [r.url.split("?")[0] for r in shopper.requests] == [shopper.collector + "/hr.js"]


def test_gpc_alone_does_not_stop_a_site_that_did_not_ask(shopper):
    """Without data-respect-dnt the site has not asked for it: events are sent."""
    shopper.page.add_init_script(GPC)
    shopper.open("basic.html")
    assert shopper.settle()[0]["type"] == "page"


def test_consent_withdrawn_stops_sending_across_pages_until_given_again(shopper):
    """handrail('consent', false): nothing more is sent, on this page or the next; consent true:
    sending resumes, with a page view."""
    shopper.open("basic.html")
    shopper.settle()
    shopper.call("consent", False)
    shopper.call("track", "While Withdrawn")
    shopper.follow("#to-form", "form.html")
    shopper.call("track", "While Withdrawn")
    shopper.run(3000)
    shopper.call("consent", True)
    shopper.call("track", "After Consent")
    found = shopper.settle()
    assert shopper.tracked("While Withdrawn") == []
    assert [m.get("event") or m["properties"]["path"] for m in found] == [
        "/basic.html", "Queued Before Load", "Marker",
        "/form.html", "Checkout Step Viewed", "After Consent", "Marker"]


def test_no_cookie_is_set_and_ids_live_in_local_storage(shopper):
    """The anonymous id is kept in localStorage, never in a cookie."""
    shopper.open("basic.html")
    shopper.call("identify", "user-7", {"plan": "gold"})
    found = shopper.settle()
    assert shopper.page.context.cookies() == [] and shopper.page.evaluate("document.cookie") == ""
    stored = shopper.page.evaluate("[localStorage.hr_aid, localStorage.hr_uid]")
    assert stored == [found[0]["anonymousId"], "user-7"]
    identify = next(m for m in found if m["type"] == "identify")
    assert identify["userId"] == "user-7" and identify["traits"] == {"plan": "gold"}


def test_cookieless_keeps_ids_for_the_tab_only(shopper):
    """data-cookieless: the ids live in sessionStorage; nothing of ours in localStorage."""
    shopper.open("cookieless.html")
    found = shopper.settle()
    assert shopper.page.evaluate("sessionStorage.hr_aid") == found[0]["anonymousId"]
    assert shopper.page.evaluate("Object.keys(localStorage)") == []
    assert shopper.page.context.cookies() == []
