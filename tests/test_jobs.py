"""The RQ job (dispatch/jobs.py): a decision becomes one task and one chat invitation, however often it runs."""

import json

import rq
from rq.serializers import JSONSerializer

from dispatch import keys, tasks
from tests.test_tasks import decision
from tracker import keys as tracker_keys


def run(redis, job_decision: dict) -> rq.job.Job:
    """Enqueue the job as the scorer does (job id = decision id), running it at once in this process."""
    queue = rq.Queue(keys.QUEUE, connection=redis, is_async=False, serializer=JSONSerializer)
    return queue.enqueue("dispatch.jobs.handle_decision", job_decision, job_id=job_decision["id"])


def invites(redis, anonymous_id: str) -> list[dict]:
    return [json.loads(fields[b"m"]) for _, fields in redis.xrange(tracker_keys.inbox(anonymous_id))]


def test_job_creates_the_task_and_invites_the_shopper(redis):
    """Running the job makes the open task and posts its chat invitation to the shopper's inbox."""
    job = run(redis, decision("d-1", "anon-1"))
    assert job.is_finished and job.return_value() == "d-1"
    task = tasks.get(redis, "d-1")
    assert task["status"] == "open" and task["invited_at"] is not None
    assert invites(redis, "anon-1") == [{"type": "invite", "text": "Trouble paying?", "task_id": "d-1"}]


def test_running_the_job_twice_makes_one_task_and_one_invite(redis):
    """A job that runs again for the same decision neither duplicates the task nor re-invites."""
    run(redis, decision("d-1", "anon-1"))
    run(redis, decision("d-1", "anon-1"))
    assert [t["id"] for t in tasks.listing(redis)] == ["d-1"]
    assert len(invites(redis, "anon-1")) == 1


def test_invitation_goes_only_to_that_shopper(redis):
    """Another shopper's inbox stays empty."""
    run(redis, decision("d-1", "anon-1"))
    assert invites(redis, "anon-2") == []


def test_a_run_killed_between_recording_and_posting_the_invitation_never_invites_twice(redis):
    """The invitation is recorded before it is posted: a run that died after recording it (the task says
    invited, nothing was posted) is followed by a run that posts nothing, at most once being the rule for a
    contact. Also when two runs race, only the one that recorded it posts."""
    tasks.create(redis, decision("d-1", "anon-1"))
    assert tasks.mark_invited(redis, "d-1") is True  # the killed run got this far
    run(redis, decision("d-1", "anon-1"))
    assert invites(redis, "anon-1") == []
    assert tasks.mark_invited(redis, "d-1") is False
