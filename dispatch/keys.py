"""Redis keys dispatch owns."""

TASK = "hr:task:{id}"  # JSON of one task
TASKS = "hr:tasks"  # sorted set: task id -> created_at (ms), for listing newest first
TASK_DEADLINES = "hr:task_deadlines"  # sorted set: id of an open or offered task -> when it expires (s)
FEED = "hr:taskfeed"  # stream of task changes, which the console follows live
QUEUE = "handrail"  # the RQ queue name of dispatch jobs
# The scorer's decisions: a shopper is waiting on each, so a dispatch worker takes them before QUEUE's jobs
# (outcomes, customer profiles, expiries), which the scorer queues in bursts.
DECISIONS = "handrail-decisions"
QUEUES = (DECISIONS, QUEUE)  # what a dispatch worker listens to, in the order it takes jobs
CHAT = "hr:chat:{task}"  # stream of one task's chat messages (who, text, at): its transcript, followed live
TRANSCRIPT = "hr:transcript:{customer}"  # stream of a customer's chat messages over all tasks (task field)
CHAT_RATE = "hr:chat_rate:{who}"  # messages a shopper sent in the current minute, expiring
# A known customer is one shop's user id: two shops may both have a user "42".
CUSTOMER_ORDERS = "hr:customer:{site}:{user}:orders"  # sorted set: JSON of an order (order_id, revenue, at) -> at (s)
CUSTOMER_TASKS = "hr:customer:{site}:{user}:tasks"  # sorted set: id of a task for this customer -> created_at (s)
CUSTOMER = "hr:customer:{site}:{user}:profile"  # hash: identify traits, consent, last session's cart and trouble
CUSTOMER_INDEX = "hr:customers:{site}:{kind}"  # hash: canonical email or phone (dispatch.contacts) -> user id
CUSTOMER_CARTS = "hr:customers:{site}:carts"  # sorted set: user id of a customer with an open cart -> when left (s)
CUSTOMER_ORDERED = "hr:customers:{site}:ordered"  # sorted set: user id -> their last order (s)
CUSTOMER_PRODUCTS = "hr:customer:{site}:{user}:products"  # hash: product id -> JSON of its reorders (dispatch.replenishment)
PRODUCT_GAPS = "hr:replenish:{site}:gaps"  # hash: "<product>:sum" / "<product>:n" -> reorder gaps of every customer (s)
REPLENISH_DUE = "hr:replenish:{site}:due"  # sorted set: "<user>\x1f<product>" -> when a reorder is due (s)
COUPON = "hr:coupon:{code}"  # hash: a coupon Handrail issued: task, site, user, percent, expiry, redemption
OUTREACH_DONE = "hr:outreach:done"  # sorted set: id of an outreach decision already acted on -> when (s)
CONTACT = "hr:contact:{task}"  # the check-and-set of one task's outside contact: "sending <attempt> <at>", then "sent <at>"
# Reports: hourly counters (reports.hours) that dispatch keeps as tasks and agents change, "<what>|<rule>|<channel>"
# (created, offered, claimed, expired, converted: each once per task; claim_seconds: seconds from creation to claim;
# redeemed: the task's coupon, by the hour of its first use, dispatch.coupons)
# and shift_seconds (agent-seconds on shift in the hour, added when an agent's stretch on shift ends); offered,
# claimed and expired also summed over rules and channels, for the load by hour of day. Day sums too (reports.hours).
REPORT = "hr:dispatch:report:{hour}"

# Agents. Every agent key carries the {agents} hash tag: one Lua script changes an agent and the
# indexes free() reads together, atomically, also on a Redis Cluster (agents are few, so one slot).
AGENT = "hr:{{agents}}:agent:{name}"  # hash: skills, max_chats, status, sites, created_at, offered_at, password, token,
# shift_since (when her current stretch on shift began; absent while offline)
AGENT_HOLDS = "hr:{{agents}}:holds:{name}:{channel}"  # sorted set: id of a task the agent holds or is offered -> at (s)
AGENT_NAMES = "hr:{agents}:names"  # set: every registered agent's name
AGENT_SKILL = "hr:{{agents}}:skill:{skill}"  # set: names of the agents with this skill
AGENT_ROOM = "hr:{{agents}}:room:{channel}"  # set: available agents with room for one more task there
AGENTS_ON_SHIFT = "hr:{agents}:on_shift"  # set: agents whose status is not offline
AGENT_TOKENS = "hr:{agents}:tokens"  # hash: SHA-256 (hex) of a personal token -> the agent's name
SIGN_IN_FAILURES = "hr:signin:failures:{who}"  # counter of failed sign-ins (agent:NAME, ip:ADDRESS), expiring

# Routing: in the agents' slot, so that one script picks an agent and reserves its room together.
WAITING = "hr:{agents}:waiting"  # sorted set: id of a task waiting for an agent -> rank (priority, then age)
WANTED = "hr:{agents}:wanted"  # hash: task id -> JSON of what it needs (channel, skills, site, deadline, rank)
OFFERS = "hr:{agents}:offers"  # hash: id of an offered, unclaimed task -> the agent it is offered to


def customer_orders(site: str | None, user: str) -> str:
    return CUSTOMER_ORDERS.format(site=site or "", user=user)


def customer(site: str | None, user: str) -> str:
    return CUSTOMER.format(site=site or "", user=user)


def customer_index(site: str | None, kind: str) -> str:
    return CUSTOMER_INDEX.format(site=site or "", kind=kind)


def customer_carts(site: str | None) -> str:
    return CUSTOMER_CARTS.format(site=site or "")


def customer_ordered(site: str | None) -> str:
    return CUSTOMER_ORDERED.format(site=site or "")


def customer_products(site: str | None, user: str) -> str:
    return CUSTOMER_PRODUCTS.format(site=site or "", user=user)


def product_gaps(site: str | None) -> str:
    return PRODUCT_GAPS.format(site=site or "")


def replenish_due(site: str | None) -> str:
    return REPLENISH_DUE.format(site=site or "")


def coupon(code: str) -> str:
    return COUPON.format(code=code)


def customer_tasks(site: str | None, user: str) -> str:
    return CUSTOMER_TASKS.format(site=site or "", user=user)


def contact(task_id: str) -> str:
    return CONTACT.format(task=task_id)


def chat(task_id: str) -> str:
    return CHAT.format(task=task_id)


def transcript(customer: str) -> str:
    return TRANSCRIPT.format(customer=customer)


def chat_rate(who: str) -> str:
    return CHAT_RATE.format(who=who)


def task(task_id: str) -> str:
    return TASK.format(id=task_id)


def agent(name: str) -> str:
    return AGENT.format(name=name)


def agent_holds(name: str, channel: str) -> str:
    return AGENT_HOLDS.format(name=name, channel=channel)


def agent_skill(skill: str) -> str:
    return AGENT_SKILL.format(skill=skill)


def agent_room(channel: str) -> str:
    return AGENT_ROOM.format(channel=channel)


def sign_in_failures(who: str) -> str:
    return SIGN_IN_FAILURES.format(who=who)
