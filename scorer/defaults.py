"""The scorer's constants."""

SESSION_TIMEOUT = 30 * 60 * 1000  # ms without events that ends a session
SESSION_TTL = 24 * 3600  # seconds a session's state is kept after its last event
TIMELINE_LENGTH = 20  # entries of the timeline an agent sees
RECENT_LENGTH = 40  # recent (event, time) pairs kept for windowed counts
SEEN_LENGTH = 40  # recent messageIds kept to drop repeats
MAX_CART_ITEMS = 50  # distinct products in a cart
MAX_TEXT = 120  # characters of any shopper-sent text kept in a session
READ_COUNT = 200  # stream entries read per batch
READ_BLOCK = 200  # ms one read waits; deadlines are looked at between reads
RULES_POLL = 1.0  # seconds between checks for a new rules version
RECLAIM_IDLE = 60_000  # ms an entry may sit with a dead consumer before another takes it
RECLAIM_EVERY = 30.0  # seconds between looks for such entries
