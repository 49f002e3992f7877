"""Known customers (dispatch/customers.py) and GET /api/customers/lookup: a real scorer tells the RQ queue what
it saw (identify, orders, the end of a visit) as `handrail scorer` does, a real RQ worker keeps the profile, and
the lookup finds the customer by the number that rings, in any common format."""

import pytest

from dispatch import customers, tasks
from scorer.consumer import now_ms
from tests.test_credit import scorer_with
from tests.channel_jobs import work
from tests.conftest import ADMIN_TOKEN
from tests.test_consumer import SHARDS, STUCK_AT_PAYMENT, drain, event, to_payment
from tracker import stream

HALF_HOUR_AGO = 31 * 60 * 1000  # ms: a session whose last event is this old has ended
ANN = {"first_name": "Ann", "email": "Ann@Example.com", "phone": "+44 20 7946 0958", "vip": True}


@pytest.fixture
def scorer(redis):
    return scorer_with(redis, STUCK_AT_PAYMENT)


def signed_in(traits: dict, user: str = "u-42", shopper: str = "anon-1", at: int | None = None) -> dict:
    return {"type": "identify", "anonymousId": shopper, "userId": user, "traits": traits,
            "messageId": f"m-id-{shopper}-{at}", "receivedAt": at or now_ms()}


def visit(redis, scorer, site: str, messages: list[dict]) -> None:
    stream.append(redis, site, messages, SHARDS)
    drain(scorer)
    work(redis)


def lookup(client, **query):
    return client.get("/api/customers/lookup", query_string=query, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})


@pytest.mark.parametrize("typed", ["+44 20 7946 0958", "020 7946 0958", "+442079460958", "(020) 7946-0958"])
def test_a_signed_in_customer_is_found_by_phone_in_any_common_format(client, redis, scorer, site, typed):
    visit(redis, scorer, site["id"], [signed_in(ANN)])
    answer = lookup(client, phone=typed)
    assert answer.status_code == 200
    (found,) = answer.get_json()["customers"]
    assert (found["user_id"], found["site"]) == ("u-42", site["id"])
    assert found["traits"]["first_name"] == "Ann" and found["traits"]["phone"] == "+442079460958"
    assert "vip" in found["segments"]


def test_found_by_email_and_user_id_too(client, redis, scorer, site):
    visit(redis, scorer, site["id"], [signed_in(ANN)])
    assert lookup(client, email="ann@example.COM").get_json()["customers"][0]["user_id"] == "u-42"
    assert lookup(client, user_id="u-42").get_json()["customers"][0]["traits"]["email"] == "ann@example.com"


def test_the_live_cart_and_its_trouble_are_shown_with_an_offer(client, redis, scorer, site):
    """Signed in, at payment, the card declined: the agent taking her call sees the cart and the trouble."""
    visit(redis, scorer, site["id"], [signed_in(ANN)] + to_payment() +
          [event("Payment Failed", {"reason": "card_declined"})])
    (found,) = lookup(client, phone="020 7946 0958").get_json()["customers"]
    assert found["live"] is True and found["step"] == "payment"
    assert found["open_cart"]["value"] == 120 and found["open_cart"]["items"][0]["name"] == "Boots"
    assert [entry["what"] for entry in found["trouble"]] == ["Payment Failed"]
    assert found["suggested_offer"] == "Offer to take the payment for your order of Boots over the phone, " \
                                       "or another way to pay."


def test_a_cart_left_yesterday_is_the_open_cart_until_an_order(client, redis, scorer, site):
    """The visit ended with the boots in the cart: the profile keeps the cart; once she orders, it is gone and
    the order is listed."""
    old = now_ms() - HALF_HOUR_AGO
    visit(redis, scorer, site["id"], [signed_in(ANN, at=old)] + to_payment(at=old))
    scorer.run_deadlines()
    work(redis)
    (found,) = lookup(client, phone="020 7946 0958").get_json()["customers"]
    assert found["live"] is False and found["open_cart"]["items"][0]["name"] == "Boots"
    assert found["suggested_offer"] == "Offer to finish your order of Boots with them now."

    visit(redis, scorer, site["id"], [signed_in(ANN, shopper="anon-2"),
                                      event("Order Completed", {"order_id": "A-1", "revenue": 120}, shopper="anon-2")])
    (found,) = lookup(client, phone="020 7946 0958").get_json()["customers"]
    assert found["open_cart"] is None and [o["order_id"] for o in found["orders"]] == ["A-1"]


def test_a_changed_number_no_longer_finds_the_customer_by_the_old_one(client, redis, scorer, site):
    visit(redis, scorer, site["id"], [signed_in(ANN)])
    visit(redis, scorer, site["id"], [signed_in(dict(ANN, phone="07700 900123"), shopper="anon-2")])
    assert lookup(client, phone="020 7946 0958").status_code == 404
    assert lookup(client, phone="+44 7700 900123").get_json()["customers"][0]["user_id"] == "u-42"


def test_an_unknown_number_is_a_404_and_a_malformed_one_a_400_saying_why(client, redis, site):
    answer = lookup(client, phone="020 7946 0000")
    assert answer.status_code == 404 and "No customer with phone" in answer.get_json()["error"]
    answer = lookup(client, phone="call me")
    assert answer.status_code == 400 and answer.get_json()["error"] == "phone: 'call me' is not a phone number (not a number)"
    for query in ({}, {"phone": "020 7946 0958", "email": "a@b.co"}):
        answer = lookup(client, **query)
        assert answer.status_code == 400 and "exactly one of phone, email or user_id" in answer.get_json()["error"]


def test_without_credentials_the_lookup_is_refused(client):
    assert client.get("/api/customers/lookup?phone=020%207946%200958").status_code == 401


def test_past_tasks_with_their_chat_are_in_the_profile(client, redis, scorer, site):
    """Stuck at payment once: the task made then is among her past tasks when she calls."""
    visit(redis, scorer, site["id"], [signed_in(ANN)] + to_payment() + [event("Payment Failed"), event("Payment Failed")])
    (task,) = tasks.listing(redis)
    (found,) = lookup(client, user_id="u-42").get_json()["customers"]
    assert [past["id"] for past in found["past_tasks"]] == [task["id"]]


def test_another_shops_customer_of_the_same_number_is_its_own(redis, site):
    """Two shops, one number: each shop's customer is found for that shop only."""
    from tracker import sites

    other = sites.create(redis, "Other shop", ["http://other.test"])
    customers.remember(redis, site["id"], "u-1", {"phone": "020 7946 0958"}, "a", 1.0)
    customers.remember(redis, other["id"], "u-9", {"phone": "+44 20 7946 0958"}, "b", 2.0)
    assert customers.find(redis, [site["id"]], "phone", "02079460958") == [(site["id"], "u-1")]
    assert sorted(customers.find(redis, [site["id"], other["id"]], "phone", "02079460958")) == sorted(
        [(site["id"], "u-1"), (other["id"], "u-9")])


def test_an_agent_of_one_shop_finds_only_that_shops_customers(client, redis):
    """Ann serves Boots: a Hats customer with the same number is not shown to her."""
    from tests.test_agent_login import PASSWORD, agent, sign_in
    from tracker import sites

    boots, hats = sites.create(redis, "Boots", []), sites.create(redis, "Hats", [])
    customers.remember(redis, boots["id"], "u-1", {"phone": "020 7946 0958", "first_name": "Ann"}, "a", 1.0)
    customers.remember(redis, hats["id"], "u-9", {"phone": "020 7946 0958", "first_name": "Bea"}, "b", 2.0)
    agent(redis, sites=[boots["id"]])
    sign_in(client, name="ann", password=PASSWORD)
    answer = client.get("/api/customers/lookup?phone=02079460958")
    assert [found["traits"]["first_name"] for found in answer.get_json()["customers"]] == ["Ann"]
    customers.remember(redis, boots["id"], "u-1", {"phone": "07700 900123"}, "a", 3.0)
    assert client.get("/api/customers/lookup?phone=02079460958").status_code == 404
