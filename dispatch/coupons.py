"""Coupons Handrail issues with an outreach email or text: a unique code, for one use, until it expires.

The code is the task's (dispatch.channels.coupon: keyed with a secret, the same for every run of one
task's job), so a retried send issues nothing new. It is redeemed when an Order Completed or a Coupon
Entered event carries it (the scorer tells dispatch), or when the shop's checkout calls the API: once,
by one shopper; the same shopper entering it and then ordering is one use. An order that redeems it is
credited to the outreach task that sent it; the first redemption is counted for the reports under the
task's rule and channel (``redeemed|<rule>|<channel>`` of dispatch.keys.REPORT).
"""

import time

from dispatch import defaults, keys, tasks
from reports import hours

UNKNOWN, EXPIRED, USED, OK = "unknown", "expired", "used", "ok"

# KEYS: the coupon. ARGV: who redeems (a shopper or user id), now (s), order id or "".
# Answers 'new' (redeemed now), OK (the same shopper again, adding an order id it lacked), USED, EXPIRED or UNKNOWN.
_REDEEM = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 'unknown' end
local by, expires = unpack(redis.call('HMGET', KEYS[1], 'redeemed_by', 'expires_at'))
if by and by ~= ARGV[1] then return 'used' end
if not by and tonumber(expires) < tonumber(ARGV[2]) then return 'expired' end
if not by then redis.call('HSET', KEYS[1], 'redeemed_by', ARGV[1], 'redeemed_at', ARGV[2]) end
if ARGV[3] ~= '' and not redis.call('HGET', KEYS[1], 'order_id') then redis.call('HSET', KEYS[1], 'order_id', ARGV[3]) end
if not by then return 'new' end
return 'ok'
"""
NEW = "new"


def issue(redis, code: str, task: dict, percent: float, valid: float, now: float | None = None) -> dict:
    """Keep the coupon of ``task`` (once: issuing it again changes nothing) and answer it."""
    now = time.time() if now is None else now
    key = keys.coupon(code)
    fields = {"code": code, "task": task["id"], "site": task.get("site") or "", "user_id": task.get("user_id") or "",
              "percent": percent, "issued_at": now, "expires_at": now + valid,
              "report_field": tasks.report_field("redeemed", task) if task.get("reason") else ""}
    pipe = redis.pipeline(transaction=True)
    for name, value in fields.items():
        pipe.hsetnx(key, name, value)
    pipe.expire(key, int(valid) + defaults.TASK_TTL)  # kept a while past its expiry, for the reports
    pipe.execute()
    return show(redis, code)


def show(redis, code: str, now: float | None = None) -> dict | None:
    """The coupon and whether it can be used now (``valid``, else ``why``: expired or used), or None."""
    raw = {name.decode(): value.decode() for name, value in redis.hgetall(keys.coupon(code[:64])).items()}
    if not raw:
        return None
    now = time.time() if now is None else now
    found = {"code": raw["code"], "task": raw["task"], "percent": float(raw["percent"]),
             "issued_at": float(raw["issued_at"]), "expires_at": float(raw["expires_at"]),
             "redeemed_at": float(raw["redeemed_at"]) if "redeemed_at" in raw else None,
             "order_id": raw.get("order_id")}
    why = USED if found["redeemed_at"] else EXPIRED if found["expires_at"] < now else None
    found.update(valid=why is None, why=why)
    return found


def redeem(redis, code: str, by: str, order_id: str | None = None, now: float | None = None) -> str:
    """OK, USED (by someone else), EXPIRED or UNKNOWN. The first redemption is counted for the reports here,
    after the script: the hour's counters live outside the coupon's slot of a cluster."""
    now = time.time() if now is None else now
    key = keys.coupon(code[:64])
    answer = redis.eval(_REDEEM, 1, key, by[:200], now, (order_id or "")[:64])
    answer = answer.decode() if isinstance(answer, bytes) else answer
    if answer != NEW:
        return answer
    field = redis.hget(key, "report_field")
    if field:
        pipe = redis.pipeline(transaction=False)
        hours.add(pipe, keys.REPORT, now, {field.decode(): 1})
        pipe.execute()
    return OK
