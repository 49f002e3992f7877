"""Dispatch's constants."""

OFFER_TIMEOUT = 120  # seconds a proactive task waits to be claimed (from its creation, or its offer) before it expires
CALLBACK_TIMEOUT = 30 * 60  # seconds a callback waits in the queue for an agent with the call skill to be free
TASK_TTL = 30 * 24 * 3600  # seconds a task is kept
TASKS_KEPT = 10_000  # tasks kept in the listing
FEED_LENGTH = 1000  # entries kept in the console's live feed
OUTCOMES = ("converted", "helped", "no_answer", "declined")
MAX_CHATS = 3  # chats an agent holds at once unless told otherwise (1 to 3 is the norm for web chat)
MAX_CHATS_LIMIT = 10  # the most chats an agent may be given
MAX_CALLS = 1  # calls an agent holds at once
HOLD_TTL = TASK_TTL  # seconds an agent's hold on a task lasts at most: never longer than the task itself
ROUTE_BATCH = 100  # waiting tasks one routing pass looks at, most urgent first
SIGN_IN_FAILURES = 5  # failed sign-ins of one agent (or from one address, for tokens) before a lockout
LOCKOUT = 300  # seconds a lockout lasts, counted from the last failure
