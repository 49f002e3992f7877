"""Redis keys the tracker owns. Braces are Redis Cluster hash tags: per-session keys hash by session."""

SITE = "hr:site:{key}"  # hash: id, name, origins (JSON), created_at; one per write key
SITES = "hr:sites"  # hash: site id -> write key
EVENTS = "hr:events:{{s{shard}}}"  # stream shard; every event of one session lands in one shard
INBOX = "hr:inbox:{{{anonymous_id}}}"  # stream of messages for one visitor's open pages


def site(write_key: str) -> str:
    return SITE.format(key=write_key)


def events(shard: int) -> str:
    return EVENTS.format(shard=shard)


def inbox(anonymous_id: str) -> str:
    return INBOX.format(anonymous_id=anonymous_id)
