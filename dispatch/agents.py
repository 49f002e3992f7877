"""Agents: who can take a chat or a call, their skills, sites, status, load and sign-in secrets.

The owner of the agent keys (dispatch.routing's offer script changes them through LUA_LIBRARY, the
same Lua). An agent holds a task (a chat, or a call) by its id, so a repeated take or release of one
task counts once; an offer holds it too, until claimed or expired. Every change runs as one Lua script
that also updates the indexes `free` reads (per skill; per channel, the available agents with room),
so that two workers never take an agent past capacity and `free` is one cheap round trip with hundreds
of agents. The same scripts keep when an agent's stretch on shift (any status but offline) began; when it
ends, its seconds go to the hourly report counters (dispatch.keys.REPORT) that staffing is read from.
"""

import re
import time
from collections.abc import Iterable

from redis.commands.core import Script

from dispatch import defaults, keys
from reports import hours
from tracker import sites as shop_sites

CHAT, CALL = "chat", "call"
CHANNELS = (CHAT, CALL)  # what an agent holds; the other channels (email, sms, ...) need no agent
AVAILABLE, AWAY, OFFLINE = "available", "away", "offline"
STATUSES = (AVAILABLE, AWAY, OFFLINE)
MAX_NAME = 40  # characters
MAX_SKILLS = 20  # skills of one agent
MAX_SITES = 50  # sites one agent is limited to
ADMIN = "admin"  # who signs in with the admin token: not an agent, so no agent may take the name
_NAME = re.compile(r"[A-Za-z0-9._-]{1,%d}" % MAX_NAME)
_SKILL = re.compile(r"[a-z][a-z0-9_-]{0,23}")  # the words a rule's action may ask for (rules/actions.py)


class InvalidAgent(ValueError):
    """Bad input; ``errors`` maps where (``max_chats``, ``skills[1]``) to what is wrong there."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{where}: {what}" for where, what in errors.items()))


class DuplicateAgent(ValueError):
    pass


class NoSuchAgent(KeyError):
    pass


class AgentFull(ValueError):
    """The agent has no room for one more task on that channel."""


# Lua shared by every script that changes agents (routing's too). KEYS[4..6]: room (chat), room (call),
# on shift. ARGV[2..5]: now, hold ttl, skill key prefix, max calls. An agent is a table: name, key, chat, call
# (the keys of its hash and of its holds).
LUA_LIBRARY = """
local room_chat, room_call, on_shift = KEYS[4], KEYS[5], KEYS[6]
local now, hold_ttl, skill_prefix, max_calls = tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])

local function put(key, name, yes)
  if yes then redis.call('SADD', key, name) else redis.call('SREM', key, name) end
end

-- A hold never outlives its task: the task's key is gone after HOLD_TTL.
local function prune(a)
  local before = '(' .. (now - hold_ttl)
  redis.call('ZREMRANGEBYSCORE', a.chat, '-inf', before)
  redis.call('ZREMRANGEBYSCORE', a.call, '-inf', before)
end

-- The agent's place in the indexes free() and on_shift() read, from its stored state.
local function index(a)
  local status, max_chats = unpack(redis.call('HMGET', a.key, 'status', 'max_chats'))
  put(on_shift, a.name, status and status ~= 'offline')
  local available = status == 'available'
  put(room_chat, a.name, available and redis.call('ZCARD', a.chat) < tonumber(max_chats))
  put(room_call, a.name, available and redis.call('ZCARD', a.call) < max_calls)
end

local function set_skills(name, csv, yes)
  for skill in string.gmatch(csv or '', '[^,]+') do put(skill_prefix .. skill, name, yes) end
end
"""

# One agent's scripts. KEYS[1..3]: the agent, its holds (chat), its holds (call); KEYS[7]: names,
# KEYS[8]: tokens. ARGV[1]: its name.
_PRELUDE = LUA_LIBRARY + """
local name, names, tokens = ARGV[1], KEYS[7], KEYS[8]
local a = {name = name, key = KEYS[1], chat = KEYS[2], call = KEYS[3]}

-- The agent's stretch on shift: begun (shift_since) when her status leaves offline, ended when it goes back
-- (or she is removed). Answers the ended stretch's start, or '' (its seconds are counted by the caller).
local function shift(ended)
  local since = redis.call('HGET', a.key, 'shift_since')
  if ended then
    if since then redis.call('HDEL', a.key, 'shift_since') end
    return since or ''
  end
  if not since then redis.call('HSET', a.key, 'shift_since', ARGV[2]) end
  return ''
end
"""

# ARGV 6..: mode (add, replace, update), skills (comma-separated), max_chats, status, status of a new agent,
# sites (comma-separated, '?' to leave them), password hash; an empty value leaves that field as it is.
# Answers {'ok' (or 'duplicate', 'missing'), start of the stretch on shift it ended (or ''), now}; _REMOVE too.
_SAVE = Script(None, (_PRELUDE + """
local mode, skills, max_chats, status, sites, password = ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[11], ARGV[12]
local exists = redis.call('EXISTS', a.key) == 1
if exists and mode == 'add' then return {'duplicate', '', ARGV[2]} end
if not exists and mode == 'update' then return {'missing', '', ARGV[2]} end
if skills ~= '' then
  set_skills(name, redis.call('HGET', a.key, 'skills'), false)
  set_skills(name, skills, true)
  redis.call('HSET', a.key, 'skills', skills)
end
if max_chats ~= '' then redis.call('HSET', a.key, 'max_chats', max_chats) end
if status ~= '' then redis.call('HSET', a.key, 'status', status)
elseif not exists then redis.call('HSET', a.key, 'status', ARGV[10]) end
if sites ~= '?' then redis.call('HSET', a.key, 'sites', sites) end
if password ~= '' then redis.call('HSET', a.key, 'password', password) end
if not exists then
  redis.call('HSET', a.key, 'created_at', ARGV[2])
  redis.call('SADD', names, name)
end
prune(a)
index(a)
return {'ok', shift(redis.call('HGET', a.key, 'status') == 'offline'), ARGV[2]}
""").encode())

_REMOVE = Script(None, (_PRELUDE + """
if redis.call('EXISTS', a.key) == 0 then return {'missing', '', ARGV[2]} end
local since = shift(true)
set_skills(name, redis.call('HGET', a.key, 'skills'), false)
local token = redis.call('HGET', a.key, 'token')
if token then redis.call('HDEL', tokens, token) end
redis.call('DEL', a.key, a.chat, a.call)
for _, key in ipairs({room_chat, room_call, on_shift, names}) do redis.call('SREM', key, name) end
return {'ok', since, ARGV[2]}
""").encode())

# ARGV 6: the SHA-256 of the agent's new token, which replaces the one before.
_TOKEN = Script(None, (_PRELUDE + """
if redis.call('EXISTS', a.key) == 0 then return 0 end
local old = redis.call('HGET', a.key, 'token')
if old then redis.call('HDEL', tokens, old) end
redis.call('HSET', a.key, 'token', ARGV[6])
redis.call('HSET', tokens, ARGV[6], name)
return 1
""").encode())

# ARGV 6, 7: channel, task id. Answers {taken (1 new, 0 already held, -1 no agent, -2 full), held, capacity}.
_TAKE = Script(None, (_PRELUDE + """
if redis.call('EXISTS', a.key) == 0 then return {-1, 0, 0} end
local holds, capacity = a.chat, tonumber(redis.call('HGET', a.key, 'max_chats'))
if ARGV[6] == 'call' then holds, capacity = a.call, max_calls end
prune(a)
local held = redis.call('ZCARD', holds)
local taken = 0
if redis.call('ZSCORE', holds, ARGV[7]) then
  taken = 0
elseif held >= capacity then
  taken = -2
else
  redis.call('ZADD', holds, ARGV[2], ARGV[7])
  taken, held = 1, held + 1
end
index(a)
return {taken, held, capacity}
""").encode())

_RELEASE = Script(None, (_PRELUDE + """
local holds = a.chat
if ARGV[6] == 'call' then holds = a.call end
local released = redis.call('ZREM', holds, ARGV[7])
if redis.call('EXISTS', a.key) == 1 then
  prune(a)
  index(a)
end
return released
""").encode())

# KEYS: the channel's room index, then the index of every skill asked for.
# KEYS: the channel's room index and one index per skill. ARGV: the shop's site ('' for any), the
# prefix of agent keys. An agent limited to some sites counts only for those; its hash shares the
# {agents} hash tag with the indexes, so reading it here stays within one cluster slot.
_FREE = Script(None, b"""
local names = redis.call('SINTER', unpack(KEYS))
if ARGV[1] == '' then return #names > 0 and 1 or 0 end
for _, name in ipairs(names) do
  local sites = redis.call('HGET', ARGV[2] .. name, 'sites')
  if not sites or sites == '' or string.find(',' .. sites .. ',', ',' .. ARGV[1] .. ',', 1, true) then
    return 1
  end
end
return 0
""")


def _now() -> float:
    return time.time()


def script_args() -> tuple[list[str], list]:
    """The KEYS[4..6] and ARGV[2..5] that LUA_LIBRARY reads (KEYS[1..3] and ARGV[1] are the script's own)."""
    return ([keys.agent_room(CHAT), keys.agent_room(CALL), keys.AGENTS_ON_SHIFT],
            [repr(_now()), defaults.HOLD_TTL, keys.agent_skill(""), defaults.MAX_CALLS])


def _seconds_by_hour(start: float, end: float) -> dict[int, float]:
    """Epoch hour -> the seconds of [start, end) in it; hours older than the counters keep are left out."""
    start = max(start, end - hours.KEEP_SECONDS)
    found = {}
    for hour in range(hours.hour_of(start), hours.hour_of(end) + 1):
        seconds = min(end, (hour + 1) * 3600) - max(start, hour * 3600)
        if seconds > 0:
            found[hour] = seconds
    return found


def _saved(redis, answer) -> bytes:
    """The word of a _SAVE or _REMOVE answer, once the stretch on shift it ended is counted.

    The stretch's counters are added here, right after the script, not in it: they are hourly report keys
    outside the {agents} slot, which one script may not touch on a Redis Cluster. The script hands each
    ended stretch to exactly one caller, so a crash between the two loses its seconds, never counts them twice.
    """
    word, since, end = answer
    if since:
        pipe = redis.pipeline(transaction=False)
        for hour, seconds in _seconds_by_hour(float(since), float(end)).items():
            hours.add(pipe, keys.REPORT, hour * 3600, {"shift_seconds": float(seconds)})
        pipe.execute()
    return word


def open_shift_seconds(redis, now: float) -> dict[int, float]:
    """Epoch hour -> agent-seconds on shift in it of the stretches not ended yet, counted up to ``now``
    (what keys.REPORT's shift_seconds lacks until those agents go offline)."""
    names = sorted(n.decode() for n in redis.smembers(keys.AGENT_NAMES))
    pipe = redis.pipeline(transaction=False)
    for name in names:
        pipe.hget(keys.agent(name), "shift_since")
    found: dict[int, float] = {}
    for since in pipe.execute():
        if since is not None:
            for hour, seconds in _seconds_by_hour(float(since), now).items():
                found[hour] = found.get(hour, 0.0) + seconds
    return found


def _run(redis, script: Script, name: str, *args):
    shared_keys, shared_args = script_args()
    agent_keys = [keys.agent(name), keys.agent_holds(name, CHAT), keys.agent_holds(name, CALL), *shared_keys,
                  keys.AGENT_NAMES, keys.AGENT_TOKENS]
    return script(keys=agent_keys, args=[name, *shared_args, *args], client=redis)


def _got(value) -> str:
    return "nothing" if value is None else repr(value)


def _check_name(name, errors: dict) -> None:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        errors["name"] = f"must be 1 to {MAX_NAME} letters, digits, '.', '_' or '-', got {_got(name)}"
    elif name == ADMIN:
        errors["name"] = f"{ADMIN} is who signs in with the admin token: give the agent another name"


def _check_skills(skills, errors: dict) -> str:
    """The skills as stored: sorted, comma-separated."""
    if not isinstance(skills, (list, tuple, set, frozenset)):
        errors["skills"] = f'must be a list of skills like ["chat", "vip"], got {_got(skills)}'
        return ""
    skills = list(skills)
    if not skills or len(skills) > MAX_SKILLS:
        errors["skills"] = f"give 1 to {MAX_SKILLS} skills, like chat,call,vip; got {len(skills)}"
    for i, skill in enumerate(skills[:MAX_SKILLS]):  # a list of thousands gets one line, not thousands
        if not isinstance(skill, str) or not _SKILL.fullmatch(skill):
            errors[f"skills[{i}]"] = (f"a skill is one short lower-case word (a-z, digits, '-' or '_', at most 24, "
                                      f"like vip or fr), got {_got(skill)}")
    return ",".join(sorted(set(skills))) if not errors else ""


def _check_max_chats(max_chats, errors: dict) -> None:
    if isinstance(max_chats, bool) or not isinstance(max_chats, int) or not 1 <= max_chats <= defaults.MAX_CHATS_LIMIT:
        errors["max_chats"] = f"must be a whole number from 1 to {defaults.MAX_CHATS_LIMIT}, got {_got(max_chats)}"


def _check_status(status, errors: dict) -> None:
    if status not in STATUSES:
        errors["status"] = f"must be one of {', '.join(STATUSES)}, got {_got(status)}"


def _check_sites(redis, sites, errors: dict) -> str:
    """The site ids as stored, comma-separated; empty: every site."""
    if not isinstance(sites, (list, tuple, set, frozenset)):
        errors["sites"] = f'must be a list of site ids like ["3f2a9c1b7d4e"] (empty: every site), got {_got(sites)}'
        return ""
    sites = list(sites)
    if len(sites) > MAX_SITES:
        errors["sites"] = f"give at most {MAX_SITES} sites (none: every site); got {len(sites)}"
    known = {site["id"] for site in shop_sites.listing(redis)} if sites else set()
    for i, site in enumerate(sites[:MAX_SITES]):
        if not isinstance(site, str) or site not in known:
            errors[f"sites[{i}]"] = f"no site has the id {_got(site)}: see `handrail sites list` or GET /api/sites"
    return ",".join(sorted(set(sites))) if not errors else ""


def add(redis, name: str, skills: Iterable[str], max_chats: int = defaults.MAX_CHATS, status: str | None = None,
        replace: bool = False, sites: Iterable[str] | None = None, password_hash: str | None = None) -> dict:
    """A new agent (offline unless a status is given), seeing the tasks of ``sites`` (none: every site).
    With ``replace``, an agent of that name gets what is given instead, keeping its status (unless given),
    sites (unless given), password (unless given) and the tasks it holds. ``password_hash``: see dispatch.login."""
    errors: dict[str, str] = {}
    _check_name(name, errors)
    stored = _check_skills(skills, errors)
    _check_max_chats(max_chats, errors)
    if status is not None:
        _check_status(status, errors)
    stored_sites = _check_sites(redis, sites, errors) if sites is not None else "?"
    if errors:
        raise InvalidAgent(errors)
    if sites is None and not replace:
        stored_sites = ""
    answer = _run(redis, _SAVE, name, "replace" if replace else "add", stored, max_chats, status or "", OFFLINE,
                  stored_sites, password_hash or "")
    if _saved(redis, answer) == b"duplicate":
        raise DuplicateAgent(f"agent {name} already exists: use --replace (or PATCH /api/agents/{name}) to change it")
    return get(redis, name)


def update(redis, name: str, *, skills: Iterable[str] | None = None, max_chats: int | None = None,
           status: str | None = None, sites: Iterable[str] | None = None, password_hash: str | None = None) -> dict:
    """Change what is given of an existing agent. A lower max_chats than the chats held takes no chat away:
    the agent gets no new one until below it."""
    errors: dict[str, str] = {}
    stored = _check_skills(skills, errors) if skills is not None else ""
    if max_chats is not None:
        _check_max_chats(max_chats, errors)
    if status is not None:
        _check_status(status, errors)
    stored_sites = _check_sites(redis, sites, errors) if sites is not None else "?"
    if errors:
        raise InvalidAgent(errors)
    if skills is None and max_chats is None and status is None and sites is None and password_hash is None:
        raise InvalidAgent({"body": "give at least one of skills, max_chats, status, sites"})
    if len(name) > MAX_NAME:
        raise NoSuchAgent(name)
    answer = _run(redis, _SAVE, name, "update", stored, max_chats or "", status or "", OFFLINE, stored_sites,
                  password_hash or "")
    if _saved(redis, answer) == b"missing":
        raise NoSuchAgent(name)
    return get(redis, name)


def set_status(redis, name: str, status: str) -> dict:
    return update(redis, name, status=status)


def remove(redis, name: str) -> None:
    """Forget the agent. Tasks it held stay claimed; closing them later releases nothing."""
    if len(name) > MAX_NAME or _saved(redis, _run(redis, _REMOVE, name)) == b"missing":
        raise NoSuchAgent(name)


def _shown(name: str, stored: dict, chats: int, calls: int) -> dict:
    """What anyone may see of an agent: never its password hash or token digest."""
    sites = stored.get(b"sites", b"").decode()
    return {"name": name, "skills": stored[b"skills"].decode().split(","), "max_chats": int(stored[b"max_chats"]),
            "status": stored[b"status"].decode(), "chats": chats, "calls": calls,
            "sites": sites.split(",") if sites else [], "created_at": float(stored[b"created_at"])}


def _read(redis, names: list[str]) -> list[dict]:
    pipe = redis.pipeline(transaction=False)
    for name in names:
        pipe.hgetall(keys.agent(name))
        pipe.zcard(keys.agent_holds(name, CHAT))
        pipe.zcard(keys.agent_holds(name, CALL))
    found = pipe.execute()
    return [_shown(name, *found[3 * i:3 * i + 3]) for i, name in enumerate(names) if found[3 * i]]


def get(redis, name: str) -> dict:
    found = _read(redis, [name]) if len(name) <= MAX_NAME else []
    if not found:
        raise NoSuchAgent(name)
    return found[0]


def listing(redis) -> list[dict]:
    """Every agent with status and load, by name."""
    return _read(redis, sorted(n.decode() for n in redis.smembers(keys.AGENT_NAMES)))


def _check_channel(channel: str) -> None:
    if channel not in CHANNELS:
        raise ValueError(f"channel: agents hold a {' or a '.join(CHANNELS)}, got {channel!r}")


def free(redis, skills: set[str], channel: str, site: str | None = None) -> bool:
    """Is an available agent with every skill (and the channel's own), serving ``site`` (None: any),
    free for one more task on the channel: room for one more chat, or no call in progress? One
    round trip over the indexes."""
    _check_channel(channel)
    wanted = sorted(set(skills) | {channel})
    return _FREE(keys=[keys.agent_room(channel), *map(keys.agent_skill, wanted)],
                 args=[site or "", keys.agent("")], client=redis) == 1


def take(redis, name: str, channel: str, task_id: str) -> bool:
    """Hold one task's capacity: True when taken now, False when this task was already held.
    Raises AgentFull beyond capacity (max_chats chats, one call) and NoSuchAgent."""
    _check_channel(channel)
    taken, held, capacity = _run(redis, _TAKE, name, channel, task_id) if len(name) <= MAX_NAME else (-1, 0, 0)
    if taken == -1:
        raise NoSuchAgent(name)
    if taken == -2:
        what = f"{held} of {capacity} chats" if channel == CHAT else f"{held} of {capacity} calls"
        raise AgentFull(f"agent {name} holds {what}: no room for another {channel}")
    return taken == 1


def release(redis, name: str, channel: str, task_id: str) -> bool:
    """Give back what the task held; False when it held nothing (released before, or not a registered agent)."""
    _check_channel(channel)
    return len(name) <= MAX_NAME and _run(redis, _RELEASE, name, channel, task_id) == 1


def on_shift(redis) -> int:
    """How many agents are not offline."""
    return redis.scard(keys.AGENTS_ON_SHIFT)


def sites_of(redis, actor: str) -> frozenset[str] | None:
    """The sites whose tasks ``actor`` sees; None: every site (the admin, or an agent limited to none)."""
    if actor == ADMIN or len(actor) > MAX_NAME:
        return None
    sites = redis.hget(keys.agent(actor), "sites")
    return frozenset(sites.decode().split(",")) if sites else None


def exists(redis, name: str) -> bool:
    return len(name) <= MAX_NAME and redis.exists(keys.agent(name)) == 1


def password_hash(redis, name: str) -> str | None:
    found = redis.hget(keys.agent(name), "password") if len(name) <= MAX_NAME else None
    return found.decode() if found else None


def set_token_digest(redis, name: str, digest: str) -> None:
    """The digest of the agent's personal token, replacing (and so revoking) the one before."""
    if len(name) > MAX_NAME or not _run(redis, _TOKEN, name, digest):
        raise NoSuchAgent(name)


def by_token_digest(redis, digest: str) -> str | None:
    """The agent whose token has this digest."""
    found = redis.hget(keys.AGENT_TOKENS, digest)
    return found.decode() if found else None
