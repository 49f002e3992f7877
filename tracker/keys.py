"""Redis keys the tracker owns. Braces are Redis Cluster hash tags: per-session keys hash by session."""

SITE = "hr:site:{key}"  # hash: id, name, origins (JSON), created_at; one per write key
SITES = "hr:sites"  # hash: site id -> write key
EVENTS = "hr:events:{{s{shard}}}"  # stream shard; every event of one session lands in one shard
INBOX = "hr:inbox:{{{anonymous_id}}}"  # stream of messages for one visitor's open pages
SEEN = "hr:seen:{site}:{message_id}"  # a messageId already stored, kept DEDUP_TTL seconds
RATE_IP = "hr:rate:ip:{ip}"  # requests from one IP address in the current window
RATE_SITE = "hr:rate:site:{site}"  # messages of one site in the current window
VISITOR = "hr:visitor:{site}:{{{anonymous_id}}}"  # set once the visitor's token was handed out (visitor_token)


def site(write_key: str) -> str:
    return SITE.format(key=write_key)


def events(shard: int) -> str:
    return EVENTS.format(shard=shard)


def inbox(anonymous_id: str) -> str:
    return INBOX.format(anonymous_id=anonymous_id)


def visitor(site_id: str, anonymous_id: str) -> str:
    return VISITOR.format(site=site_id, anonymous_id=anonymous_id)


def seen(site_id: str, message_id: str) -> str:
    return SEEN.format(site=site_id, message_id=message_id)


def rate_ip(ip: str) -> str:
    return RATE_IP.format(ip=ip)


def rate_site(site_id: str) -> str:
    return RATE_SITE.format(site=site_id)
