"""Redis keys the scorer owns. Braces are Redis Cluster hash tags."""

SESSION = "hr:sess:{{{session}}}"  # JSON of one session's state (see scorer.session)
DEADLINES = "hr:deadlines:{{s{shard}}}"  # sorted set: session key -> ms when it must be looked at again
GROUP = "scorer"  # consumer group on every event stream shard


def session(session_key: str) -> str:
    return SESSION.format(session=session_key)


def deadlines(shard: int) -> str:
    return DEADLINES.format(shard=shard)
