"""Dispatch's constants."""

OFFER_TIMEOUT = 120  # seconds a proactive task waits to be claimed (from its creation, or its offer) before it expires
CALLBACK_TIMEOUT = 30 * 60  # seconds a callback waits in the queue for an agent with the call skill to be free
TASK_TTL = 30 * 24 * 3600  # seconds a task is kept
TASKS_KEPT = 10_000  # tasks kept in the listing
CUSTOMER_ORDERS_KEPT = 50  # a known customer's latest orders kept for the screen pop
CUSTOMER_TASKS_KEPT = 50  # a known customer's latest tasks indexed for the screen pop
POP_PAST = 10  # past orders and past tasks the screen pop shows, newest first
POP_TRANSCRIPT = 20  # messages of each past task's chat the screen pop shows, the latest
FEED_LENGTH = 1000  # entries kept in the console's live feed
OUTCOMES = ("converted", "helped", "no_answer", "declined")
MAX_CHATS = 3  # chats an agent holds at once unless told otherwise (1 to 3 is the norm for web chat)
MAX_CHATS_LIMIT = 10  # the most chats an agent may be given
MAX_CALLS = 1  # calls an agent holds at once
HOLD_TTL = TASK_TTL  # seconds an agent's hold on a task lasts at most: never longer than the task itself
ROUTE_BATCH = 100  # waiting tasks one routing pass looks at, most urgent first
SIGN_IN_FAILURES = 5  # failed sign-ins of one agent (or from one address, for tokens) before a lockout
LOCKOUT = 300  # seconds a lockout lasts, counted from the last failure
CHAT_MAX_TEXT = 1000  # characters in one chat message
CHAT_KEPT = 500  # messages kept in one task's chat
TRANSCRIPT_KEPT = 2000  # messages kept in one customer's transcript, over all their tasks
CHAT_RATE = 20  # messages a shopper may send a minute
DELIVERY_RETRY_INTERVALS = (10, 60, 300, 900)  # seconds before each retry of an email, text, webhook or call request
SEND_TIMEOUT = 20  # seconds one SMTP or HTTP exchange with the outside may take
COUPON_PREFIX = "HELP-"  # the start of the coupon code an email carries
SMTP_FROM = "Handrail <handrail@localhost>"  # the sender of contact emails unless HANDRAIL_SMTP_FROM says otherwise
SIGNATURE_MAX_AGE = 300  # seconds a receiver accepts a signed request's timestamp either way
