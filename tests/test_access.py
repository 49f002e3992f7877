"""Nobody gets in (issue 9). Every route of the app, as its url_map lists it (and the collector's, answered in
front of Flask: tracker.collector.ROUTES), refuses a caller without
credentials unless it is public on purpose (PUBLIC, below); the collector's rate limits and origin
allowlist hold; a visitor token opens one visitor's inbox and chat, no other.

The route list is read from the app itself, so a route added tomorrow is checked without touching this file:
either it refuses strangers or somebody adds it to PUBLIC, with the reason, for review.
"""

import base64
import json
import re

import pytest

from dispatch import keys as dispatch_keys
from handrail.app import create_app
from tests.conftest import ADMIN_TOKEN
from tests.test_agent_login import agent, form_token, sign_in
from tests.test_chat_api import task  # noqa: F401  (a fixture: task t1 of visitor anon-1 on the test site)
from tests.test_collector import assert_refused, post_text, stored, track
from tests.test_inbox import first_data
from tracker import collector, defaults, inbox, sites, visitor_token

# Routes anybody may call, and why. Everything else must refuse a caller without credentials.
PUBLIC = {
    # The shopper's browser and the shop's servers: the site's write key is the credential, checked by the
    # route itself (unknown, revoked or foreign-origin keys: test_collector.py and the tests below).
    "/v1/batch": "collector (write key)",
    "/v1/track": "collector (write key)",
    "/v1/page": "collector (write key)",
    "/v1/identify": "collector (write key)",
    "/v1/<path:_any>": "CORS preflight of the collector: an empty 204",
    "/v1/openapi.json": "the collector's public contract",
    # The visitor token is the credential: it opens one visitor's inbox and chat (tests below).
    "/v1/inbox": "visitor inbox (write key + visitor token)",
    "/visitor/chat": "the shopper's chat messages (write key + visitor token)",
    # The snippet and its widget are loaded by every shop page.
    "/hr.js": "the snippet",
    "/hr-widget.js": "the chat widget",
    # The demo shop is a shop: its shoppers sign in to nothing. It holds no data (the cart is in the browser).
    "/shop/": "demo shop",
    "/shop/product/<sku>": "demo shop",
    "/shop/cart": "demo shop",
    "/shop/checkout/shipping": "demo shop",
    "/shop/checkout/payment": "demo shop",
    "/shop/order/<order_id>": "demo shop (the order id is only echoed back)",
    "/shop/static/<path:filename>": "demo shop's script",
    # Signing in must be reachable before one is signed in; scripts and styles carry no data.
    "/console/login": "the sign-in page",
    "/console/static/<path:filename>": "console script and styles",
    "/rules/static/<path:filename>": "rules editor script and styles",
    "/static/<path:filename>": "Flask's static folder (the app ships none)",
    # Load balancers probe it; it says only whether Redis answers.
    "/healthz": "health check",
    "/": "a redirect to the console, which asks for sign-in",
}

# Plausible values for the URL variables of the routes (by variable name); another name gets EXAMPLE. Task t1,
# agent ann and the test site (its id is added by the fixture `values`) exist: a refusal hides real data.
VALUES = {"anonymous_id": "anon-1", "task_id": "t1", "name": "ann", "code": "HELP-ABCDEFGH", "job_id": "job-1",
          "entry": "ada@example.com", "number": "1", "replay_id": "r-1", "filename": "console.js"}
EXAMPLE = "example"
VARIABLE = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")  # <converter(args):name> or <name>


def routes(app, values: dict) -> list[tuple[str, str, str]]:
    """Every (rule, method, path to call) of the app, with its URL variables filled in from ``values``."""
    found = []
    for rule in app.url_map.iter_rules():
        path = VARIABLE.sub(lambda m: "1" if m.group(1) == "int" else values.get(m.group(2), EXAMPLE), rule.rule)
        found.extend((rule.rule, method, path) for method in sorted(rule.methods))
    return found


def guarded(app, values: dict) -> list[tuple[str, str, str]]:
    return [route for route in routes(app, values) if route[0] not in PUBLIC]


@pytest.fixture
def values(redis, site, task):
    """VALUES, with the objects they name made: the test site, its task t1 (visitor anon-1), agent ann."""
    agent(redis, "ann")
    return {**VALUES, "site_id": site["id"]}


def stranger(app):
    """A browser with a console session that signed nobody in: it holds the session's form token, so that a
    form's anti-forgery check cannot be what refuses it (the sign-in must be)."""
    client = app.test_client()
    return client, form_token(client)


def call(client, method: str, path: str, csrf: str, **headers):
    # A form body with the token for every method: what the console's own forms would send.
    data = None if method in ("GET", "HEAD", "OPTIONS") else {"csrf": csrf}
    answer = client.open(path, method=method, data=data, headers=headers, buffered=False)
    answer.close()  # an event stream that was let through is not read
    return answer


def to_sign_in(answer) -> bool:
    return answer.status_code in (302, 303) and answer.headers["Location"].endswith("/console/login")


def refusal(path: str, method: str, answer) -> str | None:
    """What is wrong with ``answer`` as a refusal of a caller without credentials, or None if it refuses.
    /api/: 401 with the JSON error and WWW-Authenticate. Console pages: 401, or (pages that a person opens in a
    browser) a redirect to the sign-in page, showing nothing; to OPTIONS, at most the list of methods."""
    if path.startswith("/api/"):
        if answer.status_code != 401 or "WWW-Authenticate" not in answer.headers:
            return f"{answer.status_code}, not 401 with WWW-Authenticate"
        if method != "HEAD" and answer.json["success"] is not False:
            return f"401 without the JSON error: {answer.data[:100]!r}"
        return None
    if answer.status_code == 401 or to_sign_in(answer):
        return None
    if method == "OPTIONS" and answer.status_code == 200 and not answer.data and "Allow" in answer.headers:
        return None  # Flask's automatic answer, made before the view runs: which methods exist, nothing more
    return f"{answer.status_code} (Location: {answer.headers.get('Location')})"


def test_every_route_that_is_not_public_refuses_a_caller_without_credentials(app, values):
    """Each route and method outside PUBLIC: /api/ answers 401, console pages 401 or a redirect to sign in."""
    client, csrf = stranger(app)
    holes = [f"{method} {path}: {why}" for rule, method, path in guarded(app, values)
             if (why := refusal(path, method, call(client, method, path, csrf)))]
    assert not holes, "answered a caller without credentials:\n" + "\n".join(holes)


def test_a_wrong_token_opens_no_api_route(app, values):
    """A wrong bearer token, the admin token as HTTP Basic, without its scheme's space, or in the query: 401 on
    every /api/ route."""
    client, csrf = stranger(app)
    tries = {"wrong bearer": {"Authorization": "Bearer not-the-token"},
             "basic": {"Authorization": "Basic " + base64.b64encode(f"{ADMIN_TOKEN}:".encode()).decode()},
             "no space": {"Authorization": f"Bearer{ADMIN_TOKEN}"}}
    holes = []
    for rule, method, path in guarded(app, values):
        if not path.startswith("/api/"):
            continue
        for name, headers in tries.items():
            if why := refusal(path, method, call(client, method, path, csrf, **headers)):
                holes.append(f"{method} {path} ({name}): {why}")
        in_query = call(client, method, f"{path}?token={ADMIN_TOKEN}&access_token={ADMIN_TOKEN}", csrf)
        if why := refusal(path, method, in_query):
            holes.append(f"{method} {path} (token in the query): {why}")
    assert not holes, "\n".join(holes)


def test_the_admin_gets_through_where_a_stranger_is_refused(app, values, admin):
    """The same calls with the admin's credentials are not refused: the values put in the URLs reach the routes,
    and it is the missing sign-in that the stranger was refused for."""
    bearer, console = app.test_client(), app.test_client()
    assert sign_in(console, token=ADMIN_TOKEN).status_code == 302
    csrf = form_token(console, "/console/")
    refused = []
    for rule, method, path in guarded(app, values):
        if rule == "/console/logout":
            continue  # signing out ends at the sign-in page for everybody: that is what it is for
        api = path.startswith("/api/")
        answer = call(bearer, method, path, csrf, **admin) if api else call(console, method, path, csrf)
        if answer.status_code in (401, 403) or to_sign_in(answer):
            refused.append(f"{method} {path}: {answer.status_code}")
    assert not refused, "the admin was refused:\n" + "\n".join(refused)


def test_the_allowlist_names_only_routes_that_exist(app):
    """A route removed or renamed must leave PUBLIC too: a stale entry could let its successor through unseen."""
    rules = {rule.rule for rule in app.url_map.iter_rules()} | set(collector.ROUTES)
    assert sorted(set(PUBLIC) - rules) == []


def test_public_routes_answer_a_stranger_without_a_server_error(app, values):
    """Without any credentials the public routes answer (a 4xx at worst, saying what is missing), never a 5xx."""
    client, csrf = stranger(app)
    broken = [f"{method} {path}: {answer.status_code}" for rule, method, path in routes(app, values)
              if rule in PUBLIC and (answer := call(client, method, path, csrf)).status_code >= 500]
    assert not broken, "\n".join(broken)


# Rate limits. Already in test_collector.py: the per-IP limit (429, Retry-After, nothing stored) and the per-site
# limit counting messages. Here: what the site's refusal looks like, that it is the site's alone, and that the
# per-IP limit is not dodged by a made-up X-Forwarded-For.

def other_site(redis) -> sites.Site:
    return sites.create(redis, "Other shop", ["http://other.test"])


def test_a_site_over_its_rate_gets_a_json_429_with_retry_after_and_other_sites_go_on(app, client, redis, site):
    """Past its messages a minute, a site's key is told 429 with a JSON error naming the site limit and Retry-After
    within the window; another site's key still gets through, and nothing of the refused request is stored."""
    app.config["RATE_LIMIT_SITE"] = 3
    first = post_text(client, "/v1/batch", {"writeKey": site["write_key"],
                                            "batch": [track(messageId=f"m-{i}") for i in range(3)]})
    over = post_text(client, "/v1/track", {"writeKey": site["write_key"], **track(messageId="m-4")})
    assert first.status_code == 200
    assert_refused(over, 429, "site")
    assert over.json["code"] == "rate_limited"
    assert 1 <= int(over.headers["Retry-After"]) <= defaults.RATE_WINDOW
    theirs = other_site(redis)
    other = post_text(client, "/v1/track", {"writeKey": theirs["write_key"], **track(messageId="o-1")})
    assert other.status_code == 200
    assert sorted(m["messageId"] for m in stored(redis)) == ["m-0", "m-1", "m-2", "o-1"]


def test_a_made_up_forwarded_for_does_not_dodge_the_ip_limit(app, client, redis, site):
    """With no proxy configured, X-Forwarded-For is the client's own words: each request naming another address
    still counts against the one it came from."""
    app.config["RATE_LIMIT_IP"] = 2
    answers = [post_text(client, "/v1/track", {"writeKey": site["write_key"], **track(messageId=f"m-{i}")},
                         headers={"X-Forwarded-For": f"198.51.100.{i}"}) for i in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert len(stored(redis)) == 2


def test_behind_a_proxy_each_client_has_its_own_limit_and_cannot_forge_another(redis_server, redis, site):
    """With HANDRAIL_PROXIES=1 the address the proxy saw counts: what a client put before it changes nothing, and
    another client behind the same proxy is not limited by the first."""
    proxied = create_app({"REDIS_URL": redis_server.url, "ADMIN_TOKEN": ADMIN_TOKEN, "TESTING": True, "PROXIES": 1,
                          "RATE_LIMIT_IP": 2})
    client = proxied.test_client()

    def send(message_id: str, forwarded: str):
        return post_text(client, "/v1/track", {"writeKey": site["write_key"], **track(messageId=message_id)},
                         headers={"X-Forwarded-For": forwarded})

    try:
        mine = [send(f"m-{i}", f"10.0.0.{i}, 203.0.113.7") for i in range(3)]
        theirs = send("t-1", "203.0.113.8")
    finally:
        proxied.extensions["redis"].close()
        proxied.extensions["redis_streaming"].close()
    assert [a.status_code for a in mine] == [200, 200, 429] and theirs.status_code == 200
    assert "ip" in mine[-1].json["error"]


# Origins. Already in test_collector.py: /v1/batch from a page of another origin is refused (403, nothing
# stored), and a site without origins takes any page. Here: every collector route, look-alike origins, the
# visitor token not handed to a foreign page, and the chat and inbox refusing foreign pages too.

FOREIGN = ["http://evil.test", "http://shop.test.evil.test", "http://shop.test:8080", "https://shop.test", "null"]


def test_every_collector_route_refuses_pages_of_other_and_look_alike_origins(client, redis, site):
    """A page of another origin, or one that only looks like the site's (another port, scheme or a longer host),
    or a sandboxed page (Origin: null), sends nothing through any collector route."""
    answers = []
    for origin in FOREIGN:
        for path, body in (("/v1/track", track()), ("/v1/page", {"anonymousId": "anon-1"}),
                           ("/v1/identify", {"anonymousId": "anon-1", "traits": {"plan": "gold"}}),
                           ("/v1/batch", {"batch": [{"type": "page", "anonymousId": "anon-1"}]})):
            answer = post_text(client, path, {"writeKey": site["write_key"], **body}, headers={"Origin": origin})
            assert_refused(answer, 403, "may not send")
            answers.append(answer)
    assert stored(redis) == []
    assert not any("token" in answer.json for answer in answers)  # no visitor token for a foreign page
    accepted = post_text(client, "/v1/page", {"writeKey": site["write_key"], "anonymousId": "anon-1"},
                         headers={"Origin": "http://SHOP.test/"})  # the site's own origin, however written
    assert accepted.status_code == 200 and len(stored(redis)) == 1


def signed(app, site: dict, anonymous_id: str) -> str:
    """The visitor token the collector hands the browser of ``anonymous_id`` on ``site``."""
    return visitor_token.sign(app.config["VISITOR_SECRET"], site["id"], anonymous_id)


def listen(client, site: dict, anonymous_id: str, token: str, **headers):
    return client.get(f"/v1/inbox?writeKey={site['write_key']}&anonymousId={anonymous_id}&token={token}",
                      headers=headers, buffered=False)


def shopper_says(client, site: dict, anonymous_id: str, token: str, text: str = "hello", **headers):
    body = {"writeKey": site["write_key"], "anonymousId": anonymous_id, "token": token, "task_id": "t1", "text": text}
    return client.post("/visitor/chat", data=json.dumps(body), content_type="text/plain", headers=headers)


def test_a_foreign_page_holding_a_visitors_token_can_neither_listen_nor_chat(app, client, redis, site, task):
    """The visitor's own token, from a page of another origin: the inbox and the chat refuse it (403, no CORS
    header for the inbox), nothing is read and nothing is kept; from the shop's page the same token works."""
    inbox.post(redis, "anon-1", {"type": "invite", "text": "private"})
    token = signed(app, site, "anon-1")
    for origin in FOREIGN:
        heard = listen(client, site, "anon-1", token, Origin=origin)
        assert_refused(heard, 403, "may not listen")
        assert "Access-Control-Allow-Origin" not in heard.headers and b"private" not in heard.get_data()
        assert_refused(shopper_says(client, site, "anon-1", token, Origin=origin), 403, "may not chat")
    assert redis.exists(dispatch_keys.chat("t1")) == 0
    assert first_data(listen(client, site, "anon-1", token, Origin="http://shop.test"))[1]["text"] == "private"
    assert shopper_says(client, site, "anon-1", token, Origin="http://shop.test").status_code == 200


# The visitor token. Already in test_inbox.py and test_chat_api.py: a missing token (401) or a made-up one (403)
# reads nothing and writes nothing, and a visitor cannot write into another visitor's task. Here: a real token of
# one visitor opens no other visitor's inbox or chat, a token of the same id on another site neither, and a token
# made under a previous secret or for a revoked key is refused.

def test_one_visitors_token_opens_no_other_visitors_inbox_or_chat(app, client, redis, site, task):
    """anon-2's own token, presented as anon-1's: 403 on the inbox and the chat, nothing read, nothing kept."""
    inbox.post(redis, "anon-1", {"type": "invite", "text": "private"})
    theirs = signed(app, site, "anon-2")
    heard = listen(client, site, "anon-1", theirs)
    assert_refused(heard, 403, "not this visitor's token")
    assert b"private" not in heard.get_data()
    assert_refused(shopper_says(client, site, "anon-1", theirs), 403, "not this visitor's token")
    assert redis.exists(dispatch_keys.chat("t1")) == 0


def test_a_visitor_of_another_site_with_the_same_id_reads_nothing_of_this_one(app, client, redis, site, task):
    """Whoever knows a shopper's anonymousId can be the first to use it on another site of the same instance, and
    gets that site's token for it: it still reads none of this site's messages for the shopper, and writes into
    none of its chats."""
    inbox.post(redis, "anon-1", {"type": "invite", "text": "private"}, site=site["id"])
    theirs = other_site(redis)
    first_view = post_text(client, "/v1/batch", {"writeKey": theirs["write_key"],
                                                 "batch": [{"type": "page", "anonymousId": "anon-1"}]},
                           headers={"Origin": "http://other.test"})
    token = first_view.json["token"]
    inbox.post(redis, "anon-1", {"type": "invite", "text": "theirs"}, site=theirs["id"])
    assert first_data(listen(client, theirs, "anon-1", token))[1]["text"] == "theirs"
    assert_refused(listen(client, site, "anon-1", token), 403, "not this visitor's token")
    chat = shopper_says(client, theirs, "anon-1", token, Origin="http://other.test")
    assert_refused(chat, 404, "no chat")
    assert redis.exists(dispatch_keys.chat("t1")) == 0


def test_a_token_made_under_a_previous_secret_or_for_a_revoked_key_is_refused(app, client, redis, site, task, admin):
    """Visitor tokens do not expire on their own (they are an HMAC of the site and the id): changing HANDRAIL_SECRET
    ends every one of them, and revoking the write key ends its visitors' inbox and chat."""
    before = signed(app, site, "anon-1")
    app.config["VISITOR_SECRET"] = "a new secret"  # as after a restart with another HANDRAIL_SECRET
    assert_refused(listen(client, site, "anon-1", before), 403, "not this visitor's token")
    assert_refused(shopper_says(client, site, "anon-1", before), 403, "not this visitor's token")
    current = signed(app, site, "anon-1")
    assert client.delete(f"/api/sites/{site['id']}", headers=admin).status_code == 200
    assert_refused(listen(client, site, "anon-1", current), 401, "unknown write key")
    assert_refused(shopper_says(client, site, "anon-1", current), 401, "unknown write key")
    assert redis.exists(dispatch_keys.chat("t1")) == 0
