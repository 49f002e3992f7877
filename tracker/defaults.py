"""The collector's limits, as Segment's HTTP Tracking API sets them where it sets one."""

MAX_BATCH_BYTES = 500 * 1024  # bytes in one request body
MAX_MESSAGE_BYTES = 32 * 1024  # bytes in one message, as JSON
MAX_BATCH_MESSAGES = 500  # messages in one batch
MAX_ID = 200  # characters in anonymousId, userId, messageId
MAX_NAME = 200  # characters in an event or page name
MAX_STRING = 2000  # characters in any string inside properties, traits or context
MAX_KEYS = 200  # keys of one object, or items of one list, inside properties, traits or context
MAX_DEPTH = 6  # levels of nesting inside properties, traits or context
MAX_STREAM_LENGTH = 1_000_000  # entries kept per stream shard, trimmed approximately
DEDUP_TTL = 24 * 3600  # seconds a messageId is remembered to drop repeats, as Segment does
RATE_WINDOW = 60  # seconds of one rate-limit window
RATE_LIMIT_IP = 1200  # requests per window from one IP address (a shopper's page sends about 30)
RATE_LIMIT_SITE = 120_000  # messages per window for one site
SITE_CACHE = 5.0  # seconds a web process trusts its copy of a site (a revoked key stops within this)
REDIS_TIMEOUT = 0.15  # seconds the collector waits on Redis before answering 503
STREAM_SHARDS = 4  # event stream shards; sessions spread over them by a hash of their id
INBOX_LENGTH = 50  # messages kept per visitor inbox
INBOX_TTL = 3600  # seconds an idle visitor inbox is kept
VISITOR_TTL = 400 * 24 * 3600  # seconds the mark that a visitor's token was handed out is kept (renewed on use)
VISITOR_TOKEN_CHARS = 32  # hex characters of a visitor token (128 bits)
INBOX_REPLAY = 60  # seconds: a page that (re)connects gets the messages this recent
