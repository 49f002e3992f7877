"""Configuration: defaults, then the environment (HANDRAIL_* and REDIS_URL), or a test mapping."""

import hashlib
import os

from dispatch import defaults as dispatch_defaults
from tracker import defaults as tracker_defaults
from tracker.snippet import default_dir as snippet_dir

DEFAULTS = {
    "ADMIN_TOKEN": None,  # bearer token of /api/ and the console login
    "REDIS_URL": None,
    "STREAM_SHARDS": tracker_defaults.STREAM_SHARDS,
    "DEMO_WRITE_KEY": "",  # the demo shop's write key, set by `handrail run --demo`
    "MAX_CONTENT_LENGTH": tracker_defaults.MAX_BATCH_BYTES,
    "SNIPPET_DIR": None,
    "RATE_LIMIT_IP": tracker_defaults.RATE_LIMIT_IP,  # requests a minute from one IP; 0: no limit
    "RATE_LIMIT_SITE": tracker_defaults.RATE_LIMIT_SITE,  # messages a minute for one site; 0: no limit
    "PHONE_REGION": dispatch_defaults.PHONE_REGION,  # country of phone numbers written without a country code
    "PROXIES": 0,  # load balancers in front whose X-Forwarded-For is trusted for the client's IP
}


def load(app, test_config: dict | None) -> None:
    app.config.from_mapping(DEFAULTS)
    if test_config is None:
        app.config.from_prefixed_env("HANDRAIL")
        app.config["REDIS_URL"] = os.environ.get("REDIS_URL") or app.config["REDIS_URL"]
    else:
        app.config.update(test_config)
    if not app.config["REDIS_URL"]:
        raise RuntimeError("REDIS_URL is not set: give the Redis server to use (handrail run sets it)")
    if not app.config["ADMIN_TOKEN"]:
        raise RuntimeError("HANDRAIL_ADMIN_TOKEN is not set: /api/ and the console need it")
    app.config["SNIPPET_DIR"] = app.config["SNIPPET_DIR"] or snippet_dir()
    # Console sessions are signed with a key derived from the admin token unless one is given:
    # changing the token signs everybody out.
    # Visitor tokens (tracker/visitor_token.py): HANDRAIL_SECRET when given, else derived from the admin token.
    app.config["VISITOR_SECRET"] = app.config.get("SECRET") or hashlib.sha256(
        b"handrail-visitor:" + app.config["ADMIN_TOKEN"].encode()).hexdigest()
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = hashlib.sha256(b"handrail-console:" + app.config["ADMIN_TOKEN"].encode()).hexdigest()
