"""A draft's replay, whole: the live rules over the recorded sessions (scorer.replay) and the outreach rules
over the customers (dispatch.outreach). Here, where both stages may be imported; the rules page's background
job and `handrail rules replay` both come through it."""

import time

from rq import get_current_job

from dispatch import outreach
from rules.document import compile_text
from scorer import replay_api

JOB = "handrail.replays.work"  # the job the rules page queues (handrail.app sets it for scorer.replay_api)


def add_outreach(connection, draft, result: dict, since_ms: int) -> dict:
    """``result`` with, when the draft has outreach rules, how many customers each would have reached."""
    if draft.outreach:
        result["outreach"] = outreach.replay(connection, draft, since_ms / 1000, time.time())
    return result


def work(text: str, since: int, shards: int, agents: int | None) -> dict:
    """The rules page's replay (an RQ job on the replay queue): scorer.replay_api.work, then the outreach."""
    return add_outreach(get_current_job().connection, compile_text(text),
                        replay_api.work(text, since, shards, agents), since)
