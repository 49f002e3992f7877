"""Redis keys dispatch owns."""

TASK = "hr:task:{id}"  # JSON of one task
TASKS = "hr:tasks"  # sorted set: task id -> created_at (ms), for listing newest first
FEED = "hr:taskfeed"  # stream of task changes, which the console follows live
QUEUE = "handrail"  # the RQ queue name of dispatch jobs


def task(task_id: str) -> str:
    return TASK.format(id=task_id)
