"""Putting a send on the dispatch queue: one job per task and kind, with RQ retries and backoff.

The job id is the task id with the kind before it, so a decision job that runs again finds the send
queued (or done, or in the dead letters) instead of queueing a second one.
"""

from rq import Queue, Retry
from rq.job import Job
from rq.serializers import JSONSerializer

from dispatch import keys

DELIVER_JOB = "dispatch.jobs.deliver"  # email, sms, webhook
CALL_JOB = "dispatch.jobs.place_call"  # asks the contact centre to place a claimed call


def enqueue(redis, function: str, task: dict, intervals: tuple[int, ...]) -> Job | None:
    """Queue ``function(task id)`` unless its job exists; None when it does."""
    kind = "call" if function == CALL_JOB else "deliver"
    job_id = f"{kind}-{task['id']}"
    if Job.exists(job_id, connection=redis):
        return None
    queue = Queue(keys.QUEUE, connection=redis, serializer=JSONSerializer)
    retry = Retry(max=len(intervals), interval=list(intervals)) if intervals else None
    return queue.enqueue(function, task["id"], job_id=job_id, retry=retry,
                         meta={"task_id": task["id"], "channel": task["channel"]},
                         description=f"{task['channel']} of task {task['id']}")
