"""Routing: which agent a task is offered to, and the queue of tasks waiting for one.

A task that needs an agent (a chat, a call, a callback) waits in a queue ranked by priority (urgent;
then high or a VIP shopper; normal; low) and then age. Each pass of ``offer`` walks the queue in that
order and gives each task to an available agent with every skill it needs (its channel's and its
``skill``), who sees its site and has room: fewest chats held, then calls, then the one whose last
offer is oldest. The offer reserves the agent's room for the task (a hold, as a claim takes), so one
agent is never offered more than she can take, and the least-loaded order counts what she was offered.
The agent who claims keeps the hold; an offer that expires or is taken over releases it.

All of it lives in the agents' hash-tag slot and each pass is one Lua script: two workers never offer
one task twice or one agent past capacity. The task records (dispatch.tasks) follow what this decides.
"""

import json

from redis.commands.core import Script

from dispatch import agents, keys

CHANNELS = {"chat": agents.CHAT, "call": agents.CALL, "callback": agents.CALL}  # task channel -> what it holds
RANKS = {"urgent": 0, "high": 1, "normal": 2, "low": 3}  # the queue's order: lower first
VIP_RANK = RANKS["high"]  # a VIP shopper's task goes with the high ones
RANK_SPAN = 1e11  # seconds: one priority band is ahead of any age in the band below


def agent_channel(task: dict) -> str | None:
    """What an agent holds for the task (chat, or call for a call or a callback); None: no agent needed."""
    return CHANNELS.get(task["channel"])


def is_vip(task: dict) -> bool:
    """The shopper's identify traits say vip (true, or "true", "yes", "1": traits come from the shop's page)."""
    vip = ((task.get("context") or {}).get("customer") or {}).get("vip")
    return vip.strip().lower() in ("true", "yes", "1") if isinstance(vip, str) else bool(vip)


def rank(task: dict) -> float:
    """The task's place in the queue: its priority band (a VIP shopper is at least high), then its age."""
    band = RANKS.get(task.get("priority"), RANKS["normal"])
    if is_vip(task):
        band = min(band, VIP_RANK)
    return band * RANK_SPAN + task["created_at"]


# KEYS: waiting, wanted, offers. ARGV: task id, JSON of what it needs, rank.
# A task already offered (a replayed job) is not queued twice.
_WAIT = Script(None, b"""
if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 1 then return 0 end
redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2])
return redis.call('ZADD', KEYS[1], 'NX', ARGV[3], ARGV[1])
""")

# Every script below names an agent's keys from templates where '*' is the name (a name has no '%'). They
# are not in KEYS, but carry the {agents} tag like the keys that are: on a Cluster, the same slot.
_AGENT = """
local function agent(name)
  local function k(template) return (string.gsub(template, '%*', name)) end
  return {name = name, key = k(ARGV[6]), chat = k(ARGV[7]), call = k(ARGV[8])}
end

local function release(a, id)
  local released = redis.call('ZREM', a.chat, id) + redis.call('ZREM', a.call, id)
  if redis.call('EXISTS', a.key) == 1 then index(a) end
  return released
end
"""

# KEYS[1..3]: waiting, wanted, offers. ARGV[6..8]: key templates; ARGV[9]: how many waiting tasks to look at.
# Answers {ids whose offer was taken back, {id, agent} of each new offer}.
_OFFER = Script(None, (agents.LUA_LIBRARY + _AGENT + """
local waiting, wanted, offers = KEYS[1], KEYS[2], KEYS[3]

local function sees(sites, site)
  if not sites or sites == '' then return true end
  if type(site) ~= 'string' then return false end
  return string.find(',' .. sites .. ',', ',' .. site .. ',', 1, true) ~= nil
end

local function less(x, y)
  for i = 1, #x do
    if x[i] ~= y[i] then return x[i] < y[i] end
  end
  return false
end

-- An offer to an agent who is no longer available (signed out, away, removed) goes back to the queue.
local returned = {}
local held = redis.call('HGETALL', offers)
for i = 1, #held, 2 do
  local id, a = held[i], agent(held[i + 1])
  if redis.call('HGET', a.key, 'status') ~= 'available' then
    redis.call('HDEL', offers, id)
    release(a, id)
    local want = redis.call('HGET', wanted, id)
    if want then
      redis.call('ZADD', waiting, cjson.decode(want).rank, id)
      returned[#returned + 1] = id
    end
  end
end

local offered = {}
for _, id in ipairs(redis.call('ZRANGE', waiting, 0, tonumber(ARGV[9]) - 1)) do
  local want = redis.call('HGET', wanted, id)
  if not want then
    redis.call('ZREM', waiting, id)
  else
    local w = cjson.decode(want)
    if w.deadline > now then  -- else the expiry sweep takes it out
      local sets = {w.channel == 'call' and room_call or room_chat}
      for _, skill in ipairs(w.skills) do sets[#sets + 1] = skill_prefix .. skill end
      local best, best_load
      for _, name in ipairs(redis.call('SINTER', unpack(sets))) do
        local a = agent(name)
        local sites, last = unpack(redis.call('HMGET', a.key, 'sites', 'offered_at'))
        if sees(sites, w.site) then
          prune(a)
          local load = {redis.call('ZCARD', a.chat), redis.call('ZCARD', a.call), tonumber(last or 0), name}
          if not best or less(load, best_load) then best, best_load = a, load end
        end
      end
      if best then
        redis.call('ZADD', w.channel == 'call' and best.call or best.chat, now, id)
        redis.call('HSET', best.key, 'offered_at', now)
        index(best)
        redis.call('ZREM', waiting, id)
        redis.call('HSET', offers, id, best.name)
        offered[#offered + 1] = {id, best.name}
      end
    end
  end
end
return {returned, offered}
""").encode())

# KEYS[1..3]: waiting, wanted, offers. ARGV[6..8]: key templates; ARGV[9]: task id; ARGV[10]: the agent who
# keeps its hold (the claimant, or ''); ARGV[11]: an agent to release besides the recorded offer (or '').
# Answers the names whose reservation was released.
_SETTLE = Script(None, (agents.LUA_LIBRARY + _AGENT + """
local id, keep, also = ARGV[9], ARGV[10], ARGV[11]
local released = {}
for _, name in ipairs({redis.call('HGET', KEYS[3], id) or '', also}) do
  if name ~= '' and name ~= keep and release(agent(name), id) > 0 then released[#released + 1] = name end
end
redis.call('HDEL', KEYS[3], id)
redis.call('HDEL', KEYS[2], id)
redis.call('ZREM', KEYS[1], id)
return released
""").encode())


def _run(redis, script: Script, *args):
    shared_keys, shared_args = agents.script_args()
    templates = [keys.agent("*"), keys.agent_holds("*", agents.CHAT), keys.agent_holds("*", agents.CALL)]
    return script(keys=[keys.WAITING, keys.WANTED, keys.OFFERS, *shared_keys],
                  args=["", *shared_args, *templates, *args], client=redis)


def wait(redis, task: dict) -> bool:
    """Queue the task for the next agent who can take it (it must need one: see agent_channel). True when
    queued now; False when it already waits or is offered."""
    channel = agent_channel(task)
    skills = sorted({channel} | ({task["skill"]} if task.get("skill") else set()))
    wanted = {"channel": channel, "skills": skills, "site": task.get("site"), "deadline": task["expires_at"],
              "rank": rank(task)}
    return _WAIT(keys=[keys.WAITING, keys.WANTED, keys.OFFERS],
                 args=[task["id"], json.dumps(wanted), repr(wanted["rank"])], client=redis) == 1


def offer(redis, batch: int) -> tuple[list[str], list[tuple[str, str]]]:
    """One pass: offers taken back from agents no longer available (their tasks wait again, unless offered
    anew in this pass), then each new offer as (task id, agent), most urgent task first."""
    returned, offered = _run(redis, _OFFER, batch)
    return [i.decode() for i in returned], [(i.decode(), name.decode()) for i, name in offered]


def settle(redis, task_id: str, keep: str | None = None, also: str | None = None) -> list[str]:
    """The task needs no more routing (claimed by ``keep``, who keeps its hold; or expired): it leaves the
    queue, and the reservation of whoever it was offered to (and of ``also``) is released. Answers the
    agents whose room was given back."""
    return [name.decode() for name in _run(redis, _SETTLE, task_id, keep or "", also or "")]
