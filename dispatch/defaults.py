"""Dispatch's constants."""

OFFER_TIMEOUT = 120  # seconds a proactive task waits to be claimed before it expires
TASK_TTL = 30 * 24 * 3600  # seconds a task is kept
TASKS_KEPT = 10_000  # tasks kept in the listing
FEED_LENGTH = 1000  # entries kept in the console's live feed
OUTCOMES = ("converted", "helped", "no_answer", "declined")
