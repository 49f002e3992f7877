"""POST /api/rules/replay and GET /api/rules/replay/<id>: a draft of the rules replayed over the
recorded sessions (scorer.replay), in the background.

A replay is an RQ job on its own queue (keys.REPLAY_QUEUE), served by its own worker process
(`handrail run` starts it; the Procfile's `replay`): a replay of a week of sessions never waits in
front of a dispatch job, and it runs at a lower CPU priority (replay.NICE) than the scorer and
dispatch. Its status, progress and result are the RQ job's own (status, meta, return value).
"""

import os
import time
import uuid

from flask import Blueprint, abort, current_app, jsonify, request
from rq import Queue, get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.serializers import JSONSerializer

from rules import durations
from rules.api import MAX_DOCUMENT
from rules.document import RulesError, compile_text
from scorer import defaults, keys, replay

bp = Blueprint("replay_api", __name__)

JOB = "scorer.replay_api.work"
DEFAULT_SINCE = "24h"
MAX_ID = 64  # characters of a replay id
PROGRESS_EVERY = 0.5  # seconds between progress writes
STATUS = {"queued": "queued", "deferred": "queued", "scheduled": "queued", "started": "running",
          "finished": "finished", "failed": "failed", "stopped": "failed", "canceled": "failed"}


def queue(redis) -> Queue:
    return Queue(keys.REPLAY_QUEUE, connection=redis, serializer=JSONSerializer)


def _bad(message: str):
    return jsonify(error=message), 400


@bp.post("/api/rules/replay")
def start():
    body = request.get_json(force=True, silent=True)  # JSON whatever the Content-Type says
    if not isinstance(body, dict):
        return _bad('body: a JSON object like {"yaml": "<the draft rules>", "since": "24h"}')
    text = body.get("yaml")
    if not isinstance(text, str) or not text.strip():
        return _bad("yaml: the draft rules document, as text")
    if len(text.encode()) > MAX_DOCUMENT:
        return jsonify(error=f"yaml: {len(text.encode())} bytes, the limit is {MAX_DOCUMENT}"), 413
    since = body.get("since", DEFAULT_SINCE)
    seconds = durations.parse(since) if isinstance(since, str) else None
    if not seconds:
        return _bad(f"since: a duration like 30m, 24h or 7d, got {since!r}"[:200])
    agents = body.get("agents")
    if agents is not None and (isinstance(agents, bool) or not isinstance(agents, int) or agents < 0):
        return _bad(f"agents: a whole number of agents on shift, 0 or more, got {agents!r}"[:200])
    try:
        compile_text(text)
    except RulesError as error:
        return jsonify(error="the draft has errors: nothing was replayed", errors=error.lines("rules.yaml")), 422
    redis = current_app.extensions["redis"]
    if agents is None and "agents_on_shift" in current_app.extensions:  # handrail.app passes dispatch's count
        agents = current_app.extensions["agents_on_shift"](redis)
    since_ms = int(time.time() * 1000) - int(seconds * 1000)
    shards = current_app.config["STREAM_SHARDS"]
    job = queue(redis).enqueue_call(
        current_app.config.get("REPLAY_JOB", JOB), args=(text, since_ms, shards, agents), job_id=uuid.uuid4().hex,
        timeout=defaults.REPLAY_JOB_TIMEOUT,
        result_ttl=defaults.REPLAY_RESULT_TTL, failure_ttl=defaults.REPLAY_RESULT_TTL,
        meta={"progress": {"done": 0, "total": replay.count(redis, since_ms, shards)}})
    url = f"/api/rules/replay/{job.id}"
    return jsonify(id=job.id, status="queued", url=url), 202, {"Location": url}


@bp.get("/api/rules/replay/<replay_id>")
def show(replay_id: str):
    job = None
    if len(replay_id) <= MAX_ID:
        try:
            job = Job.fetch(replay_id, connection=current_app.extensions["redis"], serializer=JSONSerializer)
        except NoSuchJobError:
            pass
    if job is None or job.origin != keys.REPLAY_QUEUE:  # a dispatch job is no replay
        abort(404, f"No replay {replay_id[:MAX_ID]!r}: it never was, or its result has expired.")
    status = STATUS.get(job.get_status(refresh=False), "queued")
    return jsonify(id=job.id, status=status, progress=job.meta.get("progress"),
                   result=job.return_value() if status == "finished" else None,
                   error=_failure(job) if status == "failed" else None)


def _failure(job: Job) -> str:
    """The last line of what went wrong (the exception, not its traceback)."""
    found = job.latest_result()
    text = (found.exc_string if found and found.exc_string else "").strip()
    return text.splitlines()[-1][:500] if text else f"the replay was {job.get_status(refresh=False)}"


def work(text: str, since: int, shards: int, agents: int | None) -> dict:
    """The background replay (an RQ job on keys.REPLAY_QUEUE): the result of scorer.replay.run."""
    job = get_current_job()
    os.nice(replay.NICE)  # this work horse only: it was forked for this job
    written = [0.0]

    def progress(done: int, total: int) -> None:
        if done == total or time.monotonic() - written[0] >= PROGRESS_EVERY:
            written[0] = time.monotonic()
            job.meta["progress"] = {"done": done, "total": total}
            job.save_meta()

    return replay.run(job.connection, compile_text(text), since, shards, agents, progress)
