"""A suggested first line for the agent, from the task alone: the shopper's last friction, else their
step, else the rule's own message. The agent edits it as she likes; it only saves her the first words.

>>> first_line({"context": {"step": "payment", "cart": {"items": [], "count": 2},
...             "timeline": [{"what": "Payment Failed", "detail": "card declined"}]}})
"I see the card payment didn't go through — shall I help you finish your order of 2 items?"
"""

# The friction the timeline can show (scorer.session.FRICTION) -> the line, {order} filled in.
FRICTION = {
    "Payment Failed": "I see the card payment didn't go through — shall I help you finish {order}?",
    "Coupon Denied": "I see the coupon code wasn't accepted — shall I look at it with you, so you can finish {order}?",
    "Form Error": "I see the {field} field is giving you trouble — can I help you with it?",
    "Rage Click": "It looks like something on the page isn't responding — can I help you with {order}?",
    "Dead Click": "It looks like something on the page isn't responding — can I help you with {order}?",
    "JS Error": "It looks like the page ran into a problem — can I help you finish {order}?",
    "Exit Intent": "Any questions about {order} I can answer before you go?",
    "Idle": "Any questions about {order} I can answer?",
}
STEPS = {
    "payment": "Can I help you complete the payment for {order}?",
    "cart": "Any questions about {order} before you check out?",
    "browse": "Can I help you find what you're looking for?",
}
CHECKOUT = "Can I help you finish checking out {order}?"  # any other checkout step (shipping, address, ...)
GENERIC = "Can I help you with anything?"


def order(cart: dict | None) -> str:
    """'your order of 2 items', 'your order of Boots', or 'your order' for an empty cart."""
    items = (cart or {}).get("items") or []
    count = (cart or {}).get("count") or sum(int(item.get("quantity") or 1) for item in items)
    if count == 1 and len(items) == 1 and items[0].get("name"):
        return f"your order of {items[0]['name']}"
    return f"your order of {count} items" if count > 1 else "your order"


def last_friction(timeline: list[dict]) -> dict | None:
    return next((entry for entry in reversed(timeline or []) if entry.get("what") in FRICTION), None)


def _body(task: dict) -> str:
    context = task.get("context") or {}
    cart = order(context.get("cart"))
    friction = last_friction(context.get("timeline"))
    if friction:
        field = (friction.get("detail") or "").partition(":")[0].strip() or "form"
        return FRICTION[friction["what"]].format(order=cart, field=field)
    step = context.get("step")
    if step in STEPS:
        return STEPS[step].format(order=cart)
    if step and step != "complete":
        return CHECKOUT.format(order=cart)
    return task.get("message") or GENERIC


def first_line(task: dict) -> str:
    """The line, greeting the shopper by their first name when the shop told it."""
    customer = (task.get("context") or {}).get("customer") or {}
    name = str(customer.get("first_name") or customer.get("name") or "").split(" ")[0]
    return f"Hi {name}! {_body(task)}" if name else _body(task)


# What to offer a known customer who calls in (dispatch.customers.profile), most pressing first.
OFFERS = {
    "Payment Failed": "Offer to take the payment for {order} over the phone, or another way to pay.",
    "Coupon Denied": "Check the coupon they tried and honour it if it is valid, to finish {order}.",
    "Form Error": "Help them past the {field} field to finish {order}.",
}
OPEN_CART = "Offer to finish {order} with them now."
REGULAR = "Thank them for their {count} orders and ask what they need today."
WELCOME = "Ask how you can help."


def offer(profile: dict) -> str:
    """The suggested offer of a customer lookup: help with the open cart's trouble, else the open cart,
    else a regular's thanks."""
    cart = profile.get("open_cart")
    if cart:
        trouble = last_friction(profile.get("trouble"))
        if trouble and trouble["what"] in OFFERS:
            field = (trouble.get("detail") or "").partition(":")[0].strip() or "form"
            return OFFERS[trouble["what"]].format(order=order(cart), field=field)
        return OPEN_CART.format(order=order(cart))
    count = len(profile.get("orders") or [])
    return REGULAR.format(count=count) if count > 1 else WELCOME
