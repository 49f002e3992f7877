"""Signing in to the console: as an agent with her password or personal token, or as the admin with the
admin token.

Passwords are hashed with argon2id (argon2-cffi's defaults: RFC 9106's low-memory profile). A personal
token is 32 random bytes stored only as its SHA-256: with that much entropy a slow hash adds nothing, and
the digest lets the token alone find its agent. Failures are counted per agent (per address for tokens):
after SIGN_IN_FAILURES of them, signing in is refused, even with the right password, until LOCKOUT
seconds have passed since the last one. A failure never says which part was wrong.
"""

import functools
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from dispatch import agents, defaults, keys

MIN_PASSWORD, MAX_PASSWORD = 8, 200  # characters (8: NIST SP 800-63B's least)
MAX_TOKEN = 200  # characters of a token tried at sign-in; longer is no token of ours
TOKEN_PREFIX = "hrt_"  # tells a Handrail agent token apart in a password manager or a leaked log


class SignInFailed(Exception):
    """Wrong name, password or token; the message says only that it failed."""

    def __init__(self, message: str = "Sign-in failed."):
        super().__init__(message)


class LockedOut(SignInFailed):
    def __init__(self):
        super().__init__(f"Too many failed sign-ins: try again in {defaults.LOCKOUT // 60} minutes.")


@functools.cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()


@functools.cache
def _decoy() -> str:
    """A hash to verify against when the agent has no password, so that a wrong name takes as long."""
    return _hasher().hash(secrets.token_urlsafe(16))


def hash_password(password) -> str:
    """The argon2 hash to store (agents.add or agents.update with password_hash); InvalidAgent when the
    password is too short or too long."""
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        got = f"{len(password)} characters" if isinstance(password, str) else "nothing"
        raise agents.InvalidAgent({"password": f"must be {MIN_PASSWORD} to {MAX_PASSWORD} characters, got {got}"})
    return _hasher().hash(password)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(redis, name: str) -> str:
    """A new personal token for the agent, replacing (revoking) the one before. Shown once: only its digest
    is kept. NoSuchAgent when there is no such agent."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    agents.set_token_digest(redis, name, _digest(token))
    return token


def _locked(redis, who: str) -> bool:
    return int(redis.get(keys.sign_in_failures(who)) or 0) >= defaults.SIGN_IN_FAILURES


def _failed(redis, who: str) -> None:
    pipe = redis.pipeline(transaction=True)
    pipe.incr(keys.sign_in_failures(who))
    pipe.expire(keys.sign_in_failures(who), defaults.LOCKOUT)
    pipe.execute()


def _password_ok(redis, name: str, password: str) -> bool:
    stored = agents.password_hash(redis, name)
    try:
        _hasher().verify(stored or _decoy(), password[:MAX_PASSWORD + 1])
    except (VerificationError, InvalidHashError):
        return False
    if stored and _hasher().check_needs_rehash(stored):  # the hasher's parameters were raised since
        agents.update(redis, name, password_hash=_hasher().hash(password))
    return stored is not None


def _token_owner(redis, token: str, admin_token: str | None) -> str | None:
    if admin_token and hmac.compare_digest(token.encode(), admin_token.encode()):
        return agents.ADMIN
    return agents.by_token_digest(redis, _digest(token)) if len(token) <= MAX_TOKEN else None


def sign_in(redis, admin_token: str | None, address: str, name: str = "", password: str = "",
            token: str = "") -> str:
    """Who signs in: the agent's name, or agents.ADMIN for the admin token. With a token, name and password
    are not looked at. Raises SignInFailed (LockedOut after too many failures)."""
    who = f"ip:{address}" if token else f"agent:{name[:agents.MAX_NAME]}"
    if _locked(redis, who):
        raise LockedOut()
    found = _token_owner(redis, token, admin_token) if token else (
        name if name and _password_ok(redis, name, password) else None)
    if found is None:
        _failed(redis, who)
        raise SignInFailed()
    redis.delete(keys.sign_in_failures(who))
    return found


def still_signed_in(redis, actor: str) -> bool:
    """A console session stays valid only while its agent exists: removing an agent signs her out."""
    return actor == agents.ADMIN or agents.exists(redis, actor)
