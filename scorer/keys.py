"""Redis keys the scorer owns. Braces are Redis Cluster hash tags."""

SESSION = "hr:sess:{{{session}}}"  # JSON of one session's state (see scorer.session)
DEADLINES = "hr:deadlines:{{s{shard}}}"  # sorted set: session key -> ms when it must be looked at again
SNAPSHOTS = "hr:snaps:{{{session}}}"  # list: a live session's snapshots awaiting its outcome (scorer.learning)
ALIAS = "hr:alias:{{{user}}}"  # string: the anonymousId a userId was last identified with (scorer.consumer)
PAGES = "hr:pages:{{{site}}}"  # hash: "<v|e|b|x|r>:<page id>" -> count or revenue (scorer.pages)
GROUP = "scorer"  # consumer group on every event stream shard
OWNER = "hr:owner:{{s{shard}}}"  # string: the scorer that reads this stream shard, expiring unless renewed
SCORERS = "hr:scorers"  # sorted set: scorer name -> ms it last renewed its shards (scorer.ownership)
# Model checkpoints (scorer.checkpoint): one hash tag, so one Lua script may write them all.
MODEL_VERSION = "hr:model:{model}:version"  # counter: the last checkpoint version handed out
MODEL_KEPT = "hr:model:{model}:kept"  # sorted set: kept checkpoint versions, scored by version
MODEL_META = "hr:model:{model}:meta"  # hash: version -> JSON metadata and HMAC of that checkpoint
MODEL_PICKLE = "hr:model:{model}:pickle"  # hash: version -> the pickled model
# The learner (scorer.learner): the one process that trains the model, from the examples scorers hand it.
EXAMPLES = "hr:model:{model}:examples"  # stream: a settled session's label and snapshots (scorer.writer adds)
LEARNERS = "learner"  # consumer group on EXAMPLES, and the one consumer name its lease holder reads as
LEASE = "hr:model:{model}:lease"  # string: the name of the learner that may train, expiring unless renewed
# Recorded sessions, kept for replaying a draft of the rules (scorer.recording, scorer.replay).
RECORDING = "hr:rec:{{{session}}}:{started}"  # list: one session instance's header, then [at, score, message]s
RECORDED = "hr:recorded:{{s{shard}}}"  # sorted set: "<started_at>:<session key>" -> ms of its last recorded message
REPLAY_QUEUE = "handrail-replay"  # the RQ queue of replay jobs (scorer.replay_api): its own worker, never dispatch's
# hash per epoch hour, and per day (reports.hours): the funnel, friction and model counters of sessions ending
# then (scorer.funnel)
REPORT = "hr:scorer:report:{hour}"


def session(session_key: str) -> str:
    return SESSION.format(session=session_key)


def deadlines(shard: int) -> str:
    return DEADLINES.format(shard=shard)


def snapshots(session_key: str) -> str:
    return SNAPSHOTS.format(session=session_key)


def owner(shard: int) -> str:
    return OWNER.format(shard=shard)


def alias(user_id: str) -> str:
    return ALIAS.format(user=user_id)


def pages(site: str) -> str:
    return PAGES.format(site=site)


def recording(session_key: str, started_at: int) -> str:
    return RECORDING.format(session=session_key, started=started_at)


def recorded(shard: int) -> str:
    return RECORDED.format(shard=shard)
