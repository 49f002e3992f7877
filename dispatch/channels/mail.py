"""Email over SMTP: plain text and HTML, with the cart and the task's coupon code."""

import html
import re
import time
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from dispatch import defaults
from dispatch.channels.errors import Permanent, Retryable
from dispatch.channels.settings import Smtp

_ID_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def message_id(task_id: str) -> str:
    """The task id is the Message-ID: a resent email is the same message to the receiving side."""
    return f"<{_ID_UNSAFE.sub('-', task_id)}@handrail>"


def _lines(cart: dict) -> list[str]:
    return [f"{item.get('quantity', 1)} x {item.get('name', '')} ({float(item.get('price') or 0):.2f})"
            for item in cart.get("items") or []]


def compose(task: dict, sender: str, coupon: str, text: str = "") -> EmailMessage:
    """The email of a task (``text``: its message, filled in). Everything from the shopper's browser goes into
    the HTML escaped. An outreach's coupon says what it is worth and until when."""
    to = task["contact"]["email"]
    if "@" not in to or any(c in to for c in "\r\n<>,"):
        raise Permanent(f"task {task['id']}: the shopper's email {to!r} is not one address")
    cart = (task.get("context") or {}).get("cart") or {}
    text = text or "You left something in your cart."
    offer = task.get("coupon_offer")
    if offer and task.get("coupon_expires_at"):
        until = time.strftime("%d %B %Y", time.gmtime(task["coupon_expires_at"]))
        coupon = f"{coupon} ({offer['percent']:g} % off, valid until {until}, once)"
    lines = _lines(cart)
    value = f"{float(cart.get('value') or 0):.2f}"
    message = EmailMessage()
    message["From"], message["To"] = sender, to
    message["Subject"] = "Your cart is waiting for you"
    message["Message-ID"] = message_id(task["id"])
    message["Date"] = formatdate(localtime=False)
    message.set_content("\n".join([text, "", "Your cart:", *(f"  {line}" for line in lines), f"  Total: {value}",
                                   "", f"Your coupon code: {coupon}", ""]))
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    message.add_alternative(
        f"<p>{html.escape(text)}</p><h3>Your cart</h3><ul>{items}</ul><p>Total: {html.escape(value)}</p>"
        f"<p>Your coupon code: <strong>{html.escape(coupon)}</strong></p>", subtype="html")
    return message


def send(smtp: Smtp, message: EmailMessage) -> None:
    """Hand the message to the SMTP server. Retryable on network errors and 4xx; Permanent on 5xx."""
    try:
        if smtp.ssl:
            server = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=defaults.SEND_TIMEOUT,
                                      context=ssl.create_default_context())
        else:
            server = smtplib.SMTP(smtp.host, smtp.port, timeout=defaults.SEND_TIMEOUT)
        with server:
            if smtp.starttls:
                server.starttls(context=ssl.create_default_context())
            if smtp.user:
                server.login(smtp.user, smtp.password or "")
            server.send_message(message)
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        cls = Permanent if all(code >= 500 for code in codes) else Retryable
        raise cls(f"SMTP {smtp.host}:{smtp.port} refused {', '.join(error.recipients)}: {codes}") from None
    except smtplib.SMTPResponseException as error:
        cls = Permanent if error.smtp_code >= 500 else Retryable
        reason = error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes) else error.smtp_error
        raise cls(f"SMTP {smtp.host}:{smtp.port} answered {error.smtp_code}: {reason}") from None
    except (smtplib.SMTPException, OSError) as error:  # refused, dropped, timed out, TLS failed
        raise Retryable(f"SMTP {smtp.host}:{smtp.port}: {error}") from None
