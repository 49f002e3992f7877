"""Where a task reaches its shopper outside the page: the customer's phone (with a `tel:` link) or email,
from the identify traits in the task's context (rules.policy made sure they are there)."""

import re

PHONE_CHANNELS = ("call", "callback", "sms")

_NOT_DIALLED = re.compile(r"[^0-9+]")


def tel(phone: str) -> str | None:
    """`tel:+4930123456` from a phone number as a shopper typed it; None when no digits are left."""
    digits = _NOT_DIALLED.sub("", phone)
    digits = digits[:1] + digits[1:].replace("+", "")
    return f"tel:{digits}" if any(c.isdigit() for c in digits) else None


def address(decision: dict) -> dict | None:
    """{"phone", "tel"} for a call, callback or text; {"email"} for an email; None for other channels."""
    customer = (decision.get("context") or {}).get("customer") or {}
    if decision["channel"] in PHONE_CHANNELS:
        phone = str(customer.get("phone") or "")[:40]
        return {"phone": phone, "tel": tel(phone)} if phone else None
    if decision["channel"] == "email":
        email = str(customer.get("email") or "")[:254]
        return {"email": email} if email else None
    return None
