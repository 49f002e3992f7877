"""Redis keys dispatch owns."""

TASK = "hr:task:{id}"  # JSON of one task
TASKS = "hr:tasks"  # sorted set: task id -> created_at (ms), for listing newest first
TASK_DEADLINES = "hr:task_deadlines"  # sorted set: id of an open or offered task -> when it expires (s)
FEED = "hr:taskfeed"  # stream of task changes, which the console follows live
QUEUE = "handrail"  # the RQ queue name of dispatch jobs
CHAT = "hr:chat:{task}"  # stream of one task's chat messages (who, text, at): its transcript, followed live
TRANSCRIPT = "hr:transcript:{customer}"  # stream of a customer's chat messages over all tasks (task field)
CHAT_RATE = "hr:chat_rate:{who}"  # messages a shopper sent in the current minute, expiring
# A known customer is one shop's user id: two shops may both have a user "42".
CUSTOMER_ORDERS = "hr:customer:{site}:{user}:orders"  # sorted set: JSON of an order (order_id, revenue, at) -> at (s)
CUSTOMER_TASKS = "hr:customer:{site}:{user}:tasks"  # sorted set: id of a task for this customer -> created_at (s)
CONTACT = "hr:contact:{task}"  # the check-and-set of one task's outside contact: "sending <attempt> <at>", then "sent <at>"

# Agents. Every agent key carries the {agents} hash tag: one Lua script changes an agent and the
# indexes free() reads together, atomically, also on a Redis Cluster (agents are few, so one slot).
AGENT = "hr:{{agents}}:agent:{name}"  # hash: skills, max_chats, status, sites, created_at, offered_at, password, token
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
