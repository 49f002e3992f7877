"""The channels' settings, read from the environment of the process that sends (the RQ worker, which
`handrail run` and the Procfile start with the service's HANDRAIL_* variables) when a job runs."""

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from dispatch import defaults
from dispatch.channels.errors import ChannelConfigError


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int
    user: str | None
    password: str | None
    ssl: bool  # smtps://: TLS from the first byte
    starttls: bool  # upgrade a plain connection with STARTTLS


@dataclass(frozen=True)
class Settings:
    smtp: Smtp | None
    smtp_from: str
    sms_url: str | None
    webhook_url: str | None
    telephony_url: str | None
    secret: str | None  # signs SMS, webhook and telephony requests
    coupon_prefix: str
    coupon_secret: str
    retry_intervals: tuple[int, ...]


def _smtp(url: str, starttls: bool) -> Smtp:
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ChannelConfigError(f"HANDRAIL_SMTP_URL: expected smtp://[user:password@]host[:port] or smtps://..., got {url!r}")
    try:
        port = parts.port or (465 if parts.scheme == "smtps" else 25)
    except ValueError as error:
        raise ChannelConfigError(f"HANDRAIL_SMTP_URL: {error}") from error
    return Smtp(parts.hostname, port, unquote(parts.username) if parts.username else None,
                unquote(parts.password) if parts.password else None, parts.scheme == "smtps", starttls)


def _http_url(environ, name: str) -> str | None:
    url = environ.get(name) or None
    if url and urlsplit(url).scheme not in ("http", "https"):
        raise ChannelConfigError(f"{name}: expected an http:// or https:// URL, got {url!r}")
    return url


def _flag(environ, name: str) -> bool:
    value = environ.get(name, "").strip().lower()
    if value not in ("", "0", "1", "true", "false", "yes", "no"):
        raise ChannelConfigError(f"{name}: expected 1 or 0 (true or false), got {value!r}")
    return value in ("1", "true", "yes")


def _intervals(environ) -> tuple[int, ...]:
    raw = environ.get("HANDRAIL_RETRY_INTERVALS")
    if raw is None:
        return defaults.DELIVERY_RETRY_INTERVALS
    try:
        intervals = tuple(int(part) for part in raw.split(",") if part.strip())
    except ValueError:
        intervals = (-1,)
    if any(i < 0 for i in intervals):
        raise ChannelConfigError(f"HANDRAIL_RETRY_INTERVALS: expected seconds separated by commas (10,60,300), got {raw!r}")
    return intervals


def load(environ) -> Settings:
    """Settings from a mapping of environment variables; ChannelConfigError names a malformed one."""
    smtp_url = environ.get("HANDRAIL_SMTP_URL")
    starttls = _flag(environ, "HANDRAIL_SMTP_STARTTLS")
    settings = Settings(
        smtp=_smtp(smtp_url, starttls) if smtp_url else None,
        smtp_from=environ.get("HANDRAIL_SMTP_FROM") or defaults.SMTP_FROM,
        sms_url=_http_url(environ, "HANDRAIL_SMS_URL"),
        webhook_url=_http_url(environ, "HANDRAIL_WEBHOOK_URL"),
        telephony_url=_http_url(environ, "HANDRAIL_TELEPHONY_URL"),
        secret=environ.get("HANDRAIL_WEBHOOK_SECRET") or None,
        coupon_prefix=environ.get("HANDRAIL_COUPON_PREFIX", defaults.COUPON_PREFIX),
        # Coupons are keyed so that nobody can work one out from a task id.
        coupon_secret=environ.get("HANDRAIL_COUPON_SECRET") or environ.get("HANDRAIL_ADMIN_TOKEN") or "",
        retry_intervals=_intervals(environ),
    )
    if (settings.sms_url or settings.webhook_url or settings.telephony_url) and not settings.secret:
        raise ChannelConfigError("HANDRAIL_WEBHOOK_SECRET is not set: SMS, webhook and telephony requests are "
                                 "signed with it, and their receivers check the signature")
    return settings
