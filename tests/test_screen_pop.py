"""The screen pop (GET /api/tasks/<id>, dispatch/customers.py): the customer, past orders and past tasks
with their chats, and the suggested first line, beside the task's reason and context."""

from dispatch import agents, chat, customers, tasks
from tests.test_agent_login import PASSWORD, agent, sign_in
from tests.test_tasks import decision
from tracker import sites

CART = {"items": [{"id": "boots", "name": "Boots", "price": 60.0, "quantity": 2}], "value": 120.0, "count": 2}
TIMELINE = [{"at": 1000, "what": "Checkout Step Viewed", "detail": "payment"},
            {"at": 2000, "what": "Payment Failed", "detail": "card declined"}]


def customer_decision(decision_id: str, user_id: str | None = "u-42", site: str = "site-1") -> dict:
    made = decision(decision_id, "anon-1")
    made.update(user_id=user_id, site=site)
    made["context"] = {"cart": CART, "step": "payment", "timeline": TIMELINE,
                       "customer": {"first_name": "Ann", "vip": True, "user_id": user_id, "returning": True,
                                    "segments": ["member", "vip"]}}
    return made


def test_the_pop_shows_the_task_with_its_customer_and_a_first_line(client, redis, admin):
    """The task's own reason, score and context come with the customer's traits and segments and a line
    that names the failed payment and the two items."""
    tasks.create(redis, customer_decision("t-now"))
    answer = client.get("/api/tasks/t-now", headers=admin)
    assert answer.status_code == 200
    found = answer.get_json()
    assert found["reason"]["rule"] == "stuck-at-payment" and found["reason"]["why"].startswith("chat: vip")
    assert found["reason"]["evidence"] == ["step is payment", "Payment Failed 2 times in 5m"]
    assert found["score"] == 0.7 and found["context"]["cart"] == CART and found["context"]["step"] == "payment"
    pop = found["pop"]
    assert pop["customer"] == {"anonymous_id": "anon-1", "user_id": "u-42", "returning": True,
                               "segments": ["member", "vip"], "traits": {"first_name": "Ann", "vip": True}}
    assert pop["suggested_line"] == ("Hi Ann! I see the card payment didn't go through — shall I help you "
                                     "finish your order of 2 items?")


def test_a_returning_customers_past_orders_and_tasks_with_their_chats(client, redis, admin):
    """Earlier tasks of the same user, newest first with their outcome, rule and chat, and their orders;
    the task being popped is not among its own past."""
    tasks.create(redis, customer_decision("t-old"))
    tasks.claim(redis, "t-old", agents.ADMIN)
    chat.add(redis, tasks.get(redis, "t-old"), chat.SHOPPER, "my card keeps failing")
    chat.add(redis, tasks.get(redis, "t-old"), chat.AGENT, "let me help", name="ann")
    tasks.close(redis, "t-old", "converted")
    customers.record_order(redis, "site-1", "u-42", {"order_id": "A-1", "revenue": 120.0, "at": 1700000000.0})
    customers.record_order(redis, "site-1", "u-42", {"order_id": "A-2", "revenue": 35.5, "at": 1700000100.0})
    tasks.create(redis, customer_decision("t-now"))

    pop = client.get("/api/tasks/t-now", headers=admin).get_json()["pop"]
    assert [(o["order_id"], o["revenue"]) for o in pop["orders"]] == [("A-2", 35.5), ("A-1", 120.0)]
    (past,) = pop["past_tasks"]
    assert (past["id"], past["outcome"], past["rule"], past["status"]) == ("t-old", "converted", "stuck-at-payment",
                                                                           "closed")
    assert [(m["who"], m["text"]) for m in past["transcript"]] == [("shopper", "my card keeps failing"),
                                                                   ("agent", "let me help")]


def test_another_shops_customer_of_the_same_user_id_is_someone_else(client, redis, admin):
    """User "u-42" of another site: neither the first shop's orders nor its tasks show."""
    tasks.create(redis, customer_decision("t-old"))
    customers.record_order(redis, "site-1", "u-42", {"order_id": "A-1", "revenue": 120.0, "at": 1700000000.0})
    tasks.create(redis, customer_decision("t-other", site="site-2"))
    pop = client.get("/api/tasks/t-other", headers=admin).get_json()["pop"]
    assert pop["orders"] == [] and pop["past_tasks"] == []


def test_an_anonymous_shopper_has_no_history_and_their_segments_come_from_traits(client, redis, admin):
    """No user id: no orders or tasks looked up; a task from before the scorer sent segments gets them."""
    made = decision("t-anon", "anon-9")
    made["context"]["customer"] = {"vip": "yes", "user_id": None}
    tasks.create(redis, made)
    pop = client.get("/api/tasks/t-anon", headers=admin).get_json()["pop"]
    assert pop["customer"]["user_id"] is None and pop["customer"]["segments"] == ["new", "vip"]
    assert pop["orders"] == [] and pop["past_tasks"] == []
    assert pop["suggested_line"] == "Can I help you complete the payment for your order?"  # no friction seen


def test_an_agent_sees_no_pop_of_another_sites_task(client, redis):
    """Ann works for one shop only: the other shop's task answers 404, as if it did not exist; hers answers."""
    hers, other = sites.create(redis, "Hers", []), sites.create(redis, "Other", [])
    agent(redis, sites=[hers["id"]])
    tasks.create(redis, customer_decision("t-2", site=other["id"]))
    tasks.create(redis, customer_decision("t-1", site=hers["id"]))
    sign_in(client, name="ann", password=PASSWORD)
    refused = client.get("/api/tasks/t-2")
    assert refused.status_code == 404 and refused.get_json()["error"] == "No such task: t-2"
    assert client.get("/api/tasks/t-1").get_json()["pop"]["customer"]["user_id"] == "u-42"
    assert client.get("/api/tasks/nope").status_code == 404
