"""What a shopper types into a shop's fields never reaches Handrail (issue 9), in real Chromium on the real stack
(`handrail run --demo`: gunicorn, scorer, RQ workers, the embedded Redis, the simulated shoppers).

A shopper goes through the demo shop's checkout typing a name, an email, a password, an address and a card
number, makes the snippet send what it sends about fields (a form error the browser words with the typed text,
a rage click into the card field), and pays. Once the scorer has applied the whole session, every key of every
database in Redis is read, whatever its type, and none of the typed values is anywhere.

Identify traits do carry an email when the shop calls identify with one (tests/test_snippet_*.py): that is the
shop's choice, so the shop here calls no identify. This test is about what the shopper types.
"""

import urllib.error
import uuid
import zlib
from urllib.parse import quote, quote_plus

import pytest
import redis as redis_lib

from handrail.embedded_redis import url_for
from tests.test_run import _wait_for
from tests.test_shop_browser import service  # noqa: F401  (a fixture: `handrail run --demo`, module-wide)

pytestmark = pytest.mark.browser

NAME = "Zebulon Quietfield"
EMAIL = "nobody-secret@example.com"
PASSWORD = "Tr0ub4dor&3-horse"
ADDRESS = "17 Unlisted Mews"
CARD = "4111 1111 1111 1111"  # pays in the demo shop (any 16 digits but the declined test card do)
TYPED = [NAME, EMAIL, EMAIL.split("@")[0], PASSWORD, ADDRESS, CARD, CARD.replace(" ", ""), CARD.replace(" ", "-")]
SETTLE = 30.0  # seconds the scorer gets to apply the shopper's events (the simulated shoppers share it)


def forms(value: str) -> set[str]:
    """The ways a value could be written down: as typed, URL-encoded (a query string, a form body), lower case."""
    return {form.lower() for form in (value, quote(value), quote_plus(value), quote(value, safe=""))}


def _texts(raw: bytes) -> list[str]:
    """A stored value as text; and unpacked too when it is zlib or gzip data (RQ keeps a job's data so)."""
    texts = [raw.decode("utf-8", "replace")]
    try:
        texts.append(zlib.decompress(raw, 47).decode("utf-8", "replace"))  # 47: zlib or gzip, either header
    except zlib.error:
        pass
    return texts


def _values(connection, key: bytes, kind: str) -> list[bytes]:
    if kind == "string":
        return [connection.get(key) or b""]
    if kind == "hash":
        return [part for pair in connection.hgetall(key).items() for part in pair]
    if kind == "list":
        return connection.lrange(key, 0, -1)
    if kind == "set":
        return list(connection.smembers(key))
    if kind == "zset":
        return [member for member, _ in connection.zrange(key, 0, -1, withscores=True)]
    if kind == "stream":
        return [part for entry_id, fields in connection.xrange(key) for pair in fields.items() for part in pair]
    if kind == "none":
        return []  # expired while the scan went on
    raise AssertionError(f"{key!r} is a {kind}: teach this scan to read it")


def everything(url: str) -> list[tuple[str, str, str]]:
    """Every key of every database of the Redis at ``url``: (key, type, its name and values as lower-case text)."""
    found = []
    with redis_lib.Redis.from_url(url) as server:
        databases = [int(name[2:]) for name in server.info("keyspace")]
    for db in databases:
        with redis_lib.Redis.from_url(url, db=db) as connection:
            for key in connection.scan_iter(count=1000):
                kind = connection.type(key).decode()
                texts = _texts(key) + [text for raw in _values(connection, key, kind) for text in _texts(raw)]
                found.append((key.decode("utf-8", "replace"), kind, "\n".join(texts).lower()))
    return found


def session_of(service, anonymous_id: str) -> dict | None:
    try:
        return service.api(f"/api/sessions/{anonymous_id}")
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise


def check_out_typing_everything(page, url: str) -> None:
    """The espresso machine into the cart; shipping with a name, an email (first typed half, which the browser's
    own validation complains about, quoting it), a password, an address; payment with a card typed in two
    goes (the first too short), a triple click into the card field, then paid."""
    page.goto(url + "/shop/")
    page.click("#add-espresso-machine")
    page.click("#cart-link")
    page.click("#checkout")
    # The demo shop asks for no password; shops that open an account at checkout do. To the snippet it is a
    # field like the others.
    page.evaluate("""() => {
        const label = Object.assign(document.createElement('label'), {htmlFor: 'password', textContent: 'Password'});
        const input = Object.assign(document.createElement('input'), {id: 'password', type: 'password'});
        document.querySelector('#address').after(label, input);
    }""")
    page.locator("#name").press_sequentially(NAME)
    email = page.locator("#email")
    email.press_sequentially(EMAIL.split("@")[0])
    # As a shop that checks fields with the browser's own validation does: an `invalid` event, whose message
    # Chromium words with the text typed so far ("'nobody-secret' is missing an '@'").
    email.evaluate("field => field.reportValidity()")
    email.press_sequentially("@" + EMAIL.split("@")[1])
    page.locator("#password").press_sequentially(PASSWORD)
    page.click("#shipping-continue")  # no address yet: the shop says so
    page.wait_for_selector("#shipping-error:not([hidden])")
    page.locator("#address").press_sequentially(ADDRESS)
    page.click("#shipping-continue")
    page.wait_for_url("**/checkout/payment")
    card = page.locator("#card-number")
    card.press_sequentially(CARD[:9])
    page.click("#pay")
    page.wait_for_selector("#payment-error:not([hidden])")
    card.press_sequentially(CARD[9:])
    card.click(click_count=3)  # selecting what was typed, as shoppers do: three clicks, a rage click to the snippet
    page.locator("#card-expiry").press_sequentially("09 / 31")
    page.locator("#card-cvc").press_sequentially("737")
    page.click("#pay")
    page.wait_for_url("**/shop/order/*")


def test_nothing_a_shopper_types_is_kept_anywhere_in_redis(service, browser):
    """After a checkout typed in full, with a form error and a rage click on the way, no key name or value in
    Redis holds the name, email, password, address or card number (with spaces, without, with dashes), as typed
    or URL-encoded, in any case."""
    anonymous_id = "privacy-" + uuid.uuid4().hex[:12]
    context = browser.new_context()
    context.add_init_script(f"localStorage.setItem('hr_aid', '{anonymous_id}')")
    page = context.new_page()
    check_out_typing_everything(page, service.url)

    def applied():
        """The scorer applied the shopper's session: the order completed, the form error and the rage click."""
        session = session_of(service, anonymous_id)
        return session if session and session["step"] == "complete" and session["signals"].get("Form Error") \
            and session["signals"].get("Rage Click") else None

    _wait_for(applied, SETTLE)
    context.close()

    stored = everything(url_for(service.data_dir))
    # The scan reads what is there: the shopper's own id is in an event stream and in the session the scorer keeps.
    holding_id = {kind for key, kind, text in stored if anonymous_id in text}
    assert {"stream", "string"} <= holding_id, holding_id
    found = [f"{value!r} in {key} ({kind})" for value in TYPED for form in forms(value)
             for key, kind, text in stored if form in text]
    assert found == []
