"""Email addresses and phone numbers in one canonical form, so that a customer is found however the
number was typed: `+44 20 7946 0958`, `020 7946 0958` and `0044 (20) 7946-0958` are one number.

Phone numbers go through libphonenumber (the `phonenumbers` port): national formats, trunk prefixes and
international call prefixes differ by country, and its metadata is kept up to date by Google. A number
written without its country code is read as one of ``region`` (the shop's country)."""

import phonenumbers

MAX_INPUT = 64  # characters of a typed number or address looked at


_WHY = {
    phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
    phonenumbers.NumberParseException.TOO_SHORT_NSN: "too short",
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    phonenumbers.NumberParseException.TOO_LONG: "too long",
}


class BadContact(ValueError):
    """What was given is not a phone number or an email address; the message says why."""


def phone(raw: str, region: str) -> str:
    """E.164 (`+442079460958`), or BadContact."""
    text = str(raw)[:MAX_INPUT]
    try:
        number = phonenumbers.parse(text, region.upper())
    except phonenumbers.NumberParseException as error:
        why = _WHY.get(error.error_type, "not a number")
        raise BadContact(f"{text!r} is not a phone number ({why})") from None
    if not phonenumbers.is_possible_number(number):
        raise BadContact(f"{text!r} is not a possible phone number for its country")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def email(raw: str) -> str:
    """The address lower-cased and trimmed, or BadContact. Only the shape is checked: a mail server says the rest."""
    text = str(raw)[:MAX_INPUT * 4].strip().lower()
    local, at, domain = text.rpartition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in text):
        raise BadContact(f"{text[:MAX_INPUT]!r} is not an email address")
    return text


def phone_or_none(raw, region: str) -> str | None:
    """For traits a shop sent: the canonical number, or None when it is not one (it is then not indexed)."""
    try:
        return phone(raw, region) if raw else None
    except BadContact:
        return None


def email_or_none(raw) -> str | None:
    try:
        return email(raw) if raw else None
    except BadContact:
        return None
