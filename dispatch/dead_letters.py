"""Dead letters: dispatch jobs that failed for good (retries spent, or refused outright), kept by RQ's
failed job registry until somebody retries them. Each names its task and channel and the last error."""

import time

from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer

from dispatch import keys, tasks

LIMIT = 100  # dead letters listed at most, newest first


class NoSuchDeadLetter(KeyError):
    pass


def _registries(redis) -> list[FailedJobRegistry]:
    """Each dispatch queue keeps its own failed jobs (a decision's, a channel's)."""
    return [FailedJobRegistry(name, connection=redis, serializer=JSONSerializer) for name in keys.QUEUES]


def _error(job: Job) -> str:
    """The last line of the last failure's traceback: the exception and its message."""
    result = job.latest_result()
    text = (result.exc_string if result else None) or job.exc_info or ""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "unknown error"


def _subject(job: Job) -> tuple[str | None, str | None]:
    """(task id, channel): from what the channel jobs carry, else from a decision job's decision."""
    if "task_id" in job.meta:
        return job.meta["task_id"], job.meta.get("channel")
    decision = job.args[0] if job.args and isinstance(job.args[0], dict) else {}
    return decision.get("id"), decision.get("channel")


def describe(job: Job) -> dict:
    task_id, channel = _subject(job)
    return {"id": job.id, "task_id": task_id, "channel": channel, "function": job.func_name,
            "error": _error(job), "failed_at": job.ended_at.timestamp() if job.ended_at else None}


def listing(redis, limit: int = LIMIT) -> list[dict]:
    ids = [job_id for registry in _registries(redis) for job_id in registry.get_job_ids(0, limit - 1, desc=True)]
    found = [describe(job) for job in Job.fetch_many(ids, connection=redis, serializer=JSONSerializer) if job]
    return sorted(found, key=lambda letter: letter["failed_at"] or 0, reverse=True)[:limit]


def retry(redis, job_id: str) -> dict:
    """Put a dead letter back on the queue for one more attempt; its task says sending again."""
    for registry in _registries(redis):
        try:
            job = registry.requeue(job_id[:200])
            break
        except (NoSuchJobError, InvalidJobOperation):
            continue
    else:
        raise NoSuchDeadLetter(job_id)
    task_id, _ = _subject(job)

    def sending(task):
        if task["status"] == tasks.FAILED:
            task.update(status=tasks.SENDING, failed_at=None, retried_at=time.time())

    if task_id:
        try:
            tasks.update(redis, task_id, sending)
        except tasks.NoSuchTask:
            pass  # the task is gone (kept TASK_TTL); the job says so itself when it runs
    return {"id": job.id, "task_id": task_id, "status": job.get_status()}
