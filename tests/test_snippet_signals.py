"""The snippet's signals in real Chromium: rage and dead clicks, form errors (the browser's own, the
aria-invalid kind, data-hr-error and the site's error selector), checkout steps from markup, JS
errors, exit intent, idle and heartbeat."""

import pytest

from tests.test_snippet_pages import PAGES, collector, pages, shopper  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


def click_at(shopper, selector: str, times: int, dx: int = 0) -> None:
    """Click the middle of an element `times` times, moving dx pixels right each time."""
    box = shopper.page.locator(selector).bounding_box()
    x, y = box["x"] + 10, box["y"] + box["height"] / 2
    for i in range(times):
        shopper.page.mouse.click(x + i * dx, y)


def test_three_quick_clicks_in_one_spot_are_a_rage_click(shopper):
    """Three clicks within a second, each within 30 px of the last: one Rage Click naming the element."""
    shopper.open("basic.html")
    click_at(shopper, "#nothing", 4)
    assert shopper.wait_for("Rage Click") == [{"selector": "button#nothing", "text": "Does nothing"}]


def test_quick_clicks_far_apart_are_no_rage_click(shopper):
    """Three quick clicks 40 px apart from each other are not a Rage Click."""
    shopper.open("basic.html")
    shopper.page.evaluate("document.getElementById('out').style.cssText = 'height: 20px; width: 400px'")
    click_at(shopper, "#out", 3, dx=40)
    shopper.settle()
    assert shopper.tracked("Rage Click") == []


def test_a_button_that_changes_nothing_is_a_dead_click(shopper):
    """A click on a button after which nothing changes for 2.5 s is a Dead Click; a button that
    changes the page and a link to another page are not."""
    shopper.open("basic.html")
    shopper.page.click("#works")
    shopper.run(3000)
    shopper.page.click("#nothing")
    shopper.run(3000)
    assert shopper.wait_for("Dead Click") == [{"selector": "button#nothing", "text": "Does nothing"}]
    shopper.page.click("#top")  # href="#": goes nowhere
    assert shopper.wait_for("Dead Click", 2)[1] == {"selector": "a#top", "text": "Back to top"}


def test_a_link_that_leaves_is_no_dead_click(shopper):
    """A link to another page takes its time to leave: it is not dead."""
    shopper.open("basic.html")
    shopper.page.click("#slow", no_wait_after=True)  # answers after a second, with a 204
    shopper.run(3000)
    shopper.settle()
    assert shopper.tracked("Dead Click") == []


def test_the_browsers_own_validation_is_a_form_error_without_the_value(shopper):
    """A submit that the browser refuses (invalid event) is a Form Error with the field's name and
    the message shown, with what the shopper typed masked; no typed value is ever sent."""
    shopper.open("form.html")
    shopper.page.fill("#email", "ada.lovelace.example")
    shopper.page.fill("#postcode", "SW1A 1AA")
    shopper.page.click("#continue")
    (error,) = shopper.wait_for("Form Error")
    assert error["field"] == "email"
    assert error["message"].startswith("Please include an … in the email address.")
    sent = str(shopper.settle())
    assert "ada.lovelace" not in sent and "SW1A" not in sent


def test_aria_invalid_on_a_field_is_a_form_error_with_its_message(shopper):
    """aria-invalid="true" appearing on a field: Form Error with the text its aria-describedby shows."""
    shopper.open("form.html")
    shopper.page.evaluate("""() => {
        document.getElementById('postcode-error').textContent = 'Enter a postcode like SW1A 1AA';
        document.getElementById('postcode').setAttribute('aria-invalid', 'true');
    }""")
    assert shopper.wait_for("Form Error") == [{"field": "postcode", "message": "Enter a postcode like SW1A 1AA"}]


def test_data_hr_error_shown_is_a_form_error_each_time(shopper):
    """An element marked data-hr-error becoming visible: a Form Error, field from the attribute, or
    from the closest field when the attribute is empty; shown again later, another one."""
    shopper.open("form.html")
    show = "id => document.getElementById(id).hidden = false"
    hide = "id => document.getElementById(id).hidden = true"
    shopper.page.evaluate(show, "card-error")
    assert shopper.wait_for("Form Error") == [{"field": "card", "message": "Card declined"}]
    shopper.page.evaluate(hide, "card-error")
    shopper.run(1000)
    shopper.page.evaluate(show, "card-error")
    shopper.page.evaluate(show, "phone-error")
    errors = shopper.wait_for("Form Error", 3)
    assert errors[1:] == [{"field": "card", "message": "Card declined"},
                          {"field": "phone", "message": "That is not a number we can call"}]


def test_the_sites_error_selector_shown_is_a_form_error(shopper):
    """An element matching data-error-selector (.field-error) becoming visible is a Form Error of the
    closest field."""
    shopper.open("form.html")
    shopper.page.evaluate("document.getElementById('zip-error').hidden = false")
    assert shopper.wait_for("Form Error") == [{"field": "zip", "message": "Zip looks wrong"}]


def test_data_hr_step_announces_each_checkout_step_once(shopper):
    """data-hr-step present at load, or added later: Checkout Step Viewed once per step and page."""
    shopper.open("form.html")
    add_step = """name => {
        const section = document.createElement('section');
        section.dataset.hrStep = name;
        document.body.appendChild(section);
    }"""
    shopper.page.evaluate(add_step, "payment")
    shopper.run(1000)
    shopper.page.evaluate(add_step, "payment")
    shopper.page.evaluate(add_step, "shipping")
    shopper.run(1000)
    shopper.settle()
    assert shopper.tracked("Checkout Step Viewed") == [{"step_name": "shipping"}, {"step_name": "payment"}]


def test_js_errors_are_sent_five_a_page_at_most(shopper):
    """An uncaught error is a JS Error with its message, source and line; at most 5 a page."""
    shopper.open("basic.html")
    for _ in range(7):
        shopper.page.click("#boom")
    errors = shopper.wait_for("JS Error", 5)
    shopper.settle()
    assert len(shopper.tracked("JS Error")) == 5
    line = next(n for n, text in enumerate((PAGES / "basic.html").read_text().splitlines(), 1) if 'id="boom"' in text)
    assert errors[0] == {"message": "Uncaught Error: boom", "source": shopper.pages.url + "/basic.html", "line": line}


def test_pointer_leaving_through_the_top_is_an_exit_intent_once(shopper):
    """The pointer leaving the page through the top after a second on the page: one Exit Intent."""
    shopper.open("basic.html")
    leave = """() => document.documentElement.dispatchEvent(
        new MouseEvent('mouseout', {bubbles: true, clientX: 200, clientY: -2, relatedTarget: null}))"""
    shopper.page.evaluate(leave)  # too soon: no exit intent
    shopper.run(2000)
    shopper.page.mouse.move(200, 200)
    shopper.page.mouse.move(200, -5)
    shopper.page.evaluate(leave)
    shopper.settle()
    assert shopper.tracked("Exit Intent") == [{}]


def test_thirty_seconds_without_input_is_idle_once_a_period(shopper):
    """No input for 30 s on a visible page: one Idle; input, then 30 s more: another."""
    shopper.open("basic.html")
    shopper.run(35_000)
    assert shopper.wait_for("Idle") == [{"seconds": 30}]
    shopper.page.mouse.move(100, 100)
    shopper.run(10_000)
    shopper.page.mouse.move(120, 100)
    shopper.run(20_000)
    shopper.settle()
    assert len(shopper.tracked("Idle")) == 1
    shopper.run(10_000)
    assert len(shopper.wait_for("Idle", 2)) == 2


def test_heartbeat_every_fifteen_seconds_visible(shopper):
    """A visible page sends a Heartbeat every 15 s with the seconds it has been visible."""
    shopper.open("basic.html")
    shopper.run(31_000)
    assert shopper.wait_for("Heartbeat", 2)[:2] == [{"seconds": 15}, {"seconds": 30}]
