"""The suggested first line (dispatch/suggest.py): from the last friction, else the step, else the rule's message."""

import doctest

from dispatch import suggest


def task(step=None, timeline=(), items=(), message="", **customer) -> dict:
    cart = {"items": list(items), "count": sum(item["quantity"] for item in items)}
    return {"message": message, "context": {"step": step, "cart": cart, "timeline": list(timeline),
                                            "customer": customer}}


BOOTS = {"name": "Boots", "price": 120.0, "quantity": 1}
SOCKS = {"name": "Socks", "price": 5.0, "quantity": 2}


def test_a_failed_payment_is_named_with_the_items_in_the_cart():
    """Two failed card payments on a cart of three items: the line offers to finish the order of 3 items."""
    line = suggest.first_line(task("payment", [{"what": "Payment Failed", "detail": "card declined"}] * 2,
                                   [BOOTS, SOCKS]))
    assert line == "I see the card payment didn't go through — shall I help you finish your order of 3 items?"


def test_the_last_friction_wins_and_a_form_error_names_its_field():
    """A form error after a failed payment: the line is about the field the shopper is stuck on."""
    line = suggest.first_line(task("shipping", [{"what": "Payment Failed", "detail": ""},
                                                {"what": "Page", "detail": "Shipping"},
                                                {"what": "Form Error", "detail": "postcode: is invalid"}], [BOOTS]))
    assert line == "I see the postcode field is giving you trouble — can I help you with it?"


def test_without_friction_the_step_speaks_and_one_item_is_named():
    """No friction at payment with one pair of boots: an offer to help pay for the boots."""
    assert suggest.first_line(task("payment", [{"what": "Page", "detail": "Pay"}], [BOOTS])) == \
        "Can I help you complete the payment for your order of Boots?"
    assert suggest.first_line(task("address", items=[SOCKS])) == \
        "Can I help you finish checking out your order of 2 items?"


def test_without_step_or_friction_the_rules_message_is_used():
    """Nothing to go on: the rule's own message, else a plain offer of help."""
    assert suggest.first_line(task(message="Trouble paying? We can help.")) == "Trouble paying? We can help."
    assert suggest.first_line(task()) == "Can I help you with anything?"


def test_the_shopper_is_greeted_by_first_name():
    """A first name from the identify traits opens the line."""
    line = suggest.first_line(task("cart", items=[BOOTS], first_name="Ann"))
    assert line == "Hi Ann! Any questions about your order of Boots before you check out?"


def test_the_module_example_runs():
    """The docstring's example is right."""
    assert doctest.testmod(suggest).failed == 0
