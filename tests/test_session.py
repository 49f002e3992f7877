"""One shopper's live session (scorer/session.py), updated one event at a time."""

from datetime import datetime
from math import log1p
from zoneinfo import ZoneInfo

import pytest

from scorer import defaults, model, session

T0 = 1_800_000_000_000  # ms


def fresh() -> dict:
    return session.new("anon-1", "site-1", T0)


def track(state, event: str, at: int = T0, **properties) -> None:
    session.apply(state, {"type": "track", "anonymousId": "anon-1", "event": event, "properties": properties}, at)


def test_product_added_fills_the_cart_and_its_value():
    """Adding products puts them in the cart with price and quantity, and totals the value."""
    state = fresh()
    track(state, "Product Added", product_id="p1", name="Boots", price=80, quantity=1)
    track(state, "Product Added", product_id="p2", name="Socks", price=4.5, quantity=2)
    assert state["cart"] == {
        "items": [
            {"id": "p1", "name": "Boots", "price": 80.0, "quantity": 1},
            {"id": "p2", "name": "Socks", "price": 4.5, "quantity": 2},
        ],
        "value": 89.0,
        "count": 3,
    }


def test_adding_the_same_product_again_raises_its_quantity():
    """A product added twice is one line with the quantities summed."""
    state = fresh()
    track(state, "Product Added", product_id="p1", price=10)
    track(state, "Product Added", product_id="p1", price=10, quantity=2)
    assert [(i["id"], i["quantity"]) for i in state["cart"]["items"]] == [("p1", 3)]
    assert state["cart"]["value"] == 30.0


def test_product_removed_takes_it_out_and_lowers_the_value():
    """Removing a product drops its line and its share of the value."""
    state = fresh()
    track(state, "Product Added", product_id="p1", price=80)
    track(state, "Product Added", product_id="p2", price=20)
    track(state, "Product Removed", product_id="p1")
    assert [i["id"] for i in state["cart"]["items"]] == ["p2"] and state["cart"]["value"] == 20.0


def test_cart_viewed_with_products_replaces_the_cart():
    """Cart Viewed listing its products makes the cart exactly those products."""
    state = fresh()
    track(state, "Product Added", product_id="old", price=5)
    track(state, "Cart Viewed", products=[{"product_id": "a", "price": 10, "quantity": 3}, "junk"])
    assert [i["id"] for i in state["cart"]["items"]] == ["a"] and state["cart"]["value"] == 30.0


def test_step_changes_and_records_when():
    """Checkout events move the shopper's step, and step_at marks when the step began."""
    state = fresh()
    track(state, "Product Viewed", at=T0 + 1000)
    assert (state["step"], state["step_at"]) == ("browse", T0 + 1000)
    track(state, "Checkout Started", at=T0 + 2000)
    track(state, "Checkout Step Viewed", at=T0 + 3000, step=2, step_name="payment")
    assert (state["step"], state["step_at"]) == ("payment", T0 + 3000)


def test_same_step_again_keeps_its_start_time():
    """Viewing the step the shopper is already on does not restart the dwell clock."""
    state = fresh()
    track(state, "Checkout Step Viewed", at=T0 + 1000, step_name="payment")
    track(state, "Checkout Step Viewed", at=T0 + 9000, step_name="payment")
    assert state["step_at"] == T0 + 1000
    assert session.snapshot(state, T0 + 61_000)["step_seconds"] == 60.0


def test_step_without_a_name_uses_its_number():
    """A Checkout Step Viewed with only a step number becomes 'step N'."""
    state = fresh()
    track(state, "Checkout Step Viewed", step=3)
    assert state["step"] == "step 3"


def test_order_completed_ends_the_session_as_a_purchase():
    """Order Completed moves to the complete step and records the purchase."""
    state = fresh()
    track(state, "Order Completed", total=99)
    assert (state["step"], state["outcome"]) == ("complete", "purchase")
    assert session.timeline(state)[-1]["detail"] == "99.00"


def test_friction_signals_are_counted():
    """Friction events are counted per kind; ordinary events are not signals."""
    state = fresh()
    for event in ("Payment Failed", "Payment Failed", "Rage Click", "Product Viewed"):
        track(state, event)
    assert state["signals"] == {"Payment Failed": 2, "Rage Click": 1}
    assert state["events"] == 4


def test_timeline_keeps_the_last_16_entries():
    """The agent's timeline keeps the 16 most recent events, oldest dropped."""
    state = fresh()
    for i in range(25):
        track(state, "Product Viewed", at=T0 + i * 1000, name=f"item {i}")
    shown = session.timeline(state)
    assert len(shown) == defaults.TIMELINE_LENGTH == 16
    assert shown[0] == {"at": T0 + 9000, "what": "Product Viewed", "detail": "item 9"}
    assert shown[-1]["detail"] == "item 24"


def test_timeline_shows_page_title_and_identify():
    """A page view shows its title and an identify shows as Identified, with the traits kept."""
    state = fresh()
    session.apply(state, {"type": "page", "anonymousId": "anon-1", "context": {"page": {"title": "Checkout"}}}, T0)
    session.apply(state, {"type": "identify", "anonymousId": "anon-1", "userId": "u-9",
                          "traits": {"name": "Ada", "password": "secret"}}, T0)
    assert [(e["what"], e["detail"]) for e in session.timeline(state)] == [("Page", "Checkout"), ("Identified", "")]
    assert state["user_id"] == "u-9" and state["traits"] == {"name": "Ada"}


def test_form_error_keeps_field_and_message_only():
    """A Form Error shows which field and what went wrong on the timeline."""
    state = fresh()
    track(state, "Form Error", field="postcode", message="not a postcode")
    assert session.timeline(state)[-1] == {"at": T0, "what": "Form Error", "detail": "postcode: not a postcode"}


def test_repeated_message_id_is_remembered():
    """remember() accepts a messageId once and refuses it after; messages with no id always pass."""
    state = fresh()
    assert session.remember(state, "m-1") is True
    assert session.remember(state, "m-1") is False
    assert session.remember(state, None) is True and session.remember(state, None) is True


def test_remembered_ids_are_bounded():
    """Only the most recent message ids are kept, so a session's state cannot grow without end."""
    state = fresh()
    for i in range(defaults.SEEN_LENGTH + 10):
        session.remember(state, f"m-{i}")
    assert len(state["seen"]) == defaults.SEEN_LENGTH
    assert session.remember(state, f"m-{defaults.SEEN_LENGTH + 9}") is False


def test_long_strings_from_the_browser_are_capped():
    """Oversized names, ids and details are cut to their caps before they are kept."""
    state = fresh()
    long = "z" * 5000
    track(state, "Product Added", product_id=long, name=long, price=1)
    track(state, "Payment Failed", reason=long)
    track(state, long)
    session.apply(state, {"type": "identify", "userId": long, "traits": {"email": long}}, T0)
    item = state["cart"]["items"][0]
    assert len(item["id"]) == 24 and len(item["name"]) == 40
    assert len(state["timeline"][1][2]) == 60
    assert len(state["timeline"][2][1]) == 40
    assert len(state["user_id"]) == 100 and len(state["traits"]["email"]) == 80


def test_nan_and_absurd_prices_count_as_zero():
    """NaN, infinite, huge or non-numeric prices do not poison the cart value."""
    state = fresh()
    for pid, price in (("a", float("nan")), ("b", float("inf")), ("c", 1e15), ("d", "cheap"), ("e", -5)):
        track(state, "Product Added", product_id=pid, price=price)
    track(state, "Product Added", product_id="f", price="12.5")
    assert [i["price"] for i in state["cart"]["items"]] == [0.0, 0.0, 0.0, 0.0, 0.0, 12.5]
    assert state["cart"]["value"] == 12.5


def test_cart_is_capped_at_10_products():
    """More than 10 distinct products leave the cart at 10 lines."""
    state = fresh()
    for i in range(60):
        track(state, "Product Added", product_id=f"p{i}", price=1)
    assert len(state["cart"]["items"]) == defaults.MAX_CART_ITEMS == 10 and state["cart"]["value"] == 10.0


def test_snapshot_gives_rules_times_relative_to_now():
    """A snapshot shows step and session seconds, cart figures and recent events as of ``now``."""
    state = fresh()
    track(state, "Product Added", at=T0 + 1000, product_id="p", price=30, quantity=2)
    track(state, "Checkout Step Viewed", at=T0 + 5000, step_name="payment")
    snap = session.snapshot(state, T0 + 35_000)
    assert (snap["step"], snap["step_seconds"], snap["session_seconds"]) == ("payment", 30.0, 35.0)
    assert (snap["cart_value"], snap["cart_items"], snap["anonymous_id"]) == (60.0, 2, "anon-1")
    assert snap["recent"] == [["Product Added", T0 + 1000], ["Checkout Step Viewed", T0 + 5000]]


def test_public_view_has_the_documented_fields():
    """The session as the API shows it has the fields the contract names and no internals."""
    state = fresh()
    track(state, "Payment Failed")
    shown = session.public(state)
    assert {"anonymous_id", "user_id", "step", "cart", "events", "signals", "score", "timeline"} <= set(shown)
    assert "seen" not in shown and "recent" not in shown


def test_page_whose_context_page_is_not_an_object_is_still_applied():
    """A page message whose context.page is a string (the collector lets any JSON through) falls back to its name."""
    state = fresh()
    session.apply(state, {"type": "page", "anonymousId": "anon-1", "name": "Home", "context": {"page": "home"}}, T0)
    assert session.timeline(state) == [{"at": T0, "what": "Page", "detail": "Home"}] and state["events"] == 1


def page(state, path: str, at: int, **extra) -> None:
    session.apply(state, {"type": "page", "anonymousId": "anon-1", "context": {"page": {"path": path}}, **extra}, at)


def test_pages_are_counted_by_kind_with_the_time_spent_on_them():
    """Product, informational and administrative pages are counted, with the time until the next page."""
    state = fresh()
    page(state, "/p/boots", T0)
    page(state, "/faq", T0 + 20_000)
    page(state, "/cart", T0 + 25_000)
    page(state, "/whatever", T0 + 26_000, category="Informational")  # the site's own category wins
    assert state["kinds"] == {"product": [1, 20_000], "info": [2, 5000], "admin": [1, 1000]}  # pages, ms
    x = model.features(state, T0 + 30_000)  # the page being read counts for its kind until the next one
    assert (x["log_info_pages"], x["log_info_seconds"], x["log_product_seconds"]) == (log1p(2), log1p(9), log1p(20))
    assert len(state["pages"]) == 4


def test_device_and_local_hour_come_from_the_context():
    """A phone's user agent makes a mobile session; the browser's time zone gives the shopper's hour."""
    state = fresh()
    session.apply(state, {"type": "track", "event": "Product Viewed", "properties": {}, "context": {
        "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148",
        "timezone": "Asia/Tokyo"}}, T0)
    assert state["device"] == "mobile" and session.local_hour(state, T0) == 17  # T0 is 2027-01-15 08:00 UTC


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/St_Johns", "Asia/Kathmandu", "Australia/Lord_Howe",
                                  "Pacific/Chatham", "Australia/Eucla", "America/Santiago"])
def test_the_local_hour_is_the_zones_own_through_a_year_of_its_clock_changes(zone):
    """The hour is worked out once per quarter hour of UTC (session.local_hour): right through offsets of half
    and three quarters of an hour and daylight saving changes of 30 minutes (Lord Howe)."""
    state = fresh()
    state["tz"] = zone
    for minute in range(0, 366 * 24 * 60, 13):  # 13: every minute of a quarter hour comes up
        now = T0 + minute * 60_000
        assert session.local_hour(state, now) == datetime.fromtimestamp(now / 1000, ZoneInfo(zone)).hour, minute


def test_form_errors_are_counted_per_field_and_heartbeats_are_not_events_to_show():
    state = fresh()
    for field in ("postcode", "postcode", "phone"):
        track(state, "Form Error", field=field, message="wrong")
    track(state, "Heartbeat", seconds=15)
    assert state["fields"] == {"postcode": 2, "phone": 1}
    assert [what for _, what, _ in state["timeline"]] == ["Form Error"] * 3 and len(state["recent"]) == 3


def test_a_visitor_back_after_the_session_ended_starts_a_returning_session():
    state = fresh()
    track(state, "Product Added", product_id="p", price=5)
    later = T0 + defaults.SESSION_TIMEOUT + 1
    assert session.ended(state, later)
    again = session.renew(state, later)
    assert again["visits"] == 2 and again["cart"]["items"] == [] and again["anonymous_id"] == "anon-1"
    assert session.snapshot(again, later)["returning"] is True


def test_a_hostile_session_is_stored_in_at_most_2_kb():
    """Every list and string at its cap: the stored JSON still fits, the cart value is kept."""
    state = fresh()
    long = "x" * 5000
    session.apply(state, {"type": "identify", "userId": long,
                          "traits": {name: long for name in ("name", "email", "phone", "segment", "plan")}}, T0)
    for i in range(40):
        track(state, "Product Added", at=T0 + i, product_id=f"{i}{long}", name=long, price=1e6, quantity=999)
        track(state, "Form Error", at=T0 + i, field=f"{i}{long}", message=long)
        track(state, f"{i}{long}", at=T0 + i)
        page(state, f"/{i}/{long}", T0 + i)
        session.remember(state, f"{i}{long}")
    raw = session.dump(state)
    assert len(raw) <= defaults.MAX_STATE_BYTES == 2048
    assert state["cart"]["value"] == 10 * 999 * 1e6 and state["cart"]["count"] == 10 * 999


def test_consent_is_kept_as_the_channels_agreed_to_whatever_shape_the_shop_sends():
    """A mapping, a list, a text or true all become the agreed channels among call, email and sms."""
    for sent, kept in [({"email": True, "sms": False, "call": "yes"}, "call,email"), (["SMS", "fax"], "sms"),
                       ("email, call", "call,email"), (True, "call,email,sms"), (42, "")]:
        state = fresh()
        session.apply(state, {"type": "identify", "anonymousId": "anon-1", "traits": {"consent": sent}}, T0)
        assert state["traits"]["consent"] == kept, sent


def test_snapshot_has_the_current_path_and_time_zone_for_rules():
    """The page being read (its path cut to MAX_PATH, no query) and the shopper's time zone."""
    state = fresh()
    long_path = "/checkout/" + "p" * 300
    session.apply(state, {"type": "page", "anonymousId": "anon-1", "context": {
        "page": {"path": "/checkout/payment"}, "timezone": "Europe/Berlin"}}, T0)
    snap = session.snapshot(state, T0)
    assert (snap["path"], snap["tz"]) == ("/checkout/payment", "Europe/Berlin")
    session.apply(state, {"type": "page", "anonymousId": "anon-1", "context": {"page": {"path": long_path}}}, T0)
    assert session.snapshot(state, T0)["path"] == long_path[:defaults.MAX_PATH]
