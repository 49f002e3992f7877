"""The scorer's constants."""

SESSION_TIMEOUT = 30 * 60 * 1000  # ms without events that ends a session
SESSION_TTL = 24 * 3600  # seconds a session's state is kept after its last event
TIMELINE_LENGTH = 16  # entries of the timeline an agent sees
RECENT_LENGTH = 32  # recent (event, time) pairs kept for windowed counts
SEEN_LENGTH = 24  # recent messageIds kept (as short hashes) to drop repeats
MAX_CART_ITEMS = 10  # distinct products in a cart
MAX_FIELDS = 5  # form fields whose errors are counted one by one
MAX_PAGES = 12  # distinct pages remembered per session (for bounce and exit rates, page value)
MAX_PATH = 100  # characters of the current page's path kept (for page conditions)
MAX_TEXT = 120  # characters of any shopper-sent text kept in a session
MAX_STATE_BYTES = 2048  # the stored JSON of one session, at most
ADMIT_TOGETHER = 200  # entries (or due sessions) in a batch from which its decisions go to the contact policy together
ADMIT_WAIT = 0.01  # seconds a decision of such a batch may wait for the next ones to go with it
READ_COUNT = 200  # stream entries a shard read per batch while the scorer keeps up
READ_MAX = 12_800  # ... and at most, over all its shards, under a backlog (Scorer.read_count)
BATCH_MAX = 3200  # entries of a read applied and stored together, about (whole sessions): deadlines due wait for
# one such slice at most
READ_BLOCK = 200  # ms one read waits; deadlines are looked at between reads
DEADLINE_EVERY = 100  # ms between two looks for due deadlines (no wait after one that found a shard full)
RULES_POLL = 1.0  # seconds between checks for a new rules version
RECLAIM_IDLE = 60_000  # ms an entry may sit with a dead consumer before another takes it
RECLAIM_EVERY = 30.0  # seconds between looks for such entries
RECHECK = 60.0  # seconds before a shopper the cooldown refused is put to the contact policy again
REPLAY_DAYS = 7  # days applied messages are kept for replaying a draft of the rules; 0: not recorded
REPLAY_MAX_MESSAGES = 400  # messages recorded per session at most: a hostile visitor cannot grow one further
REPLAY_MOMENTS = 100  # moments a replay lists per rule (the earliest)
REPLAY_JOB_TIMEOUT = 3600  # seconds a background replay may run
REPLAY_RESULT_TTL = 7 * 24 * 3600  # seconds a background replay's result is kept
EXAMPLES_KEPT = 20_000  # settled sessions the examples stream holds for the learner, about: up to 1.5 KB each (the
# oldest go first while no learner takes them)
MODEL_POLL = 1.0  # seconds between a scorer's looks for a newer model checkpoint
LINGER = 0.01  # seconds a scorer waits after a read of fewer than LINGER_BELOW entries, for more to gather
LINGER_BELOW = 50  # entries (applied) of a read below which it waits
