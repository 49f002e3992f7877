"""Hours of the week as product owners write them: ``09:00-18:00`` on ``mon-fri`` in a time zone.

Used for the shop's business hours (when agents can chat and call) and the shopper's quiet hours
(when nobody phones or texts them), which may wrap past midnight: ``21:00-08:00``.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


class HoursError(ValueError):
    """What is wrong with a span of hours, days or a time zone, in words for the product owner."""


@dataclass(frozen=True)
class Hours:
    start: int  # minutes after midnight
    end: int  # minutes after midnight; below start when the span wraps past midnight
    days: frozenset = frozenset(range(7))  # weekdays (0 = Monday) the span starts on
    zone: str | None = None  # None: the time zone of whoever asks (the shopper's, for quiet hours)

    def contains(self, at_ms: int, zone_name: str | None = None) -> bool:
        """Whether ``at_ms`` falls in the span, read in ``self.zone``, else ``zone_name``, else UTC."""
        local = datetime.fromtimestamp(at_ms / 1000, zone(self.zone or zone_name) or zone("UTC"))
        minute, day = local.hour * 60 + local.minute, local.weekday()
        if self.start <= self.end:
            return day in self.days and self.start <= minute < self.end
        # Wrapping: the evening belongs to today, the early morning to the day before.
        return (day in self.days and minute >= self.start) or ((day - 1) % 7 in self.days and minute < self.end)

    def describe(self) -> str:
        span = f"{self.start // 60:02d}:{self.start % 60:02d}-{self.end // 60:02d}:{self.end % 60:02d}"
        return span + (f" {self.zone}" if self.zone else "")


def span(text) -> tuple[int, int]:
    match = _SPAN.match(str(text).strip())
    if not match:
        raise HoursError(f"hours must be a span like 09:00-18:00, got '{text}'")
    start = int(match.group(1)) * 60 + int(match.group(2))
    end = int(match.group(3)) * 60 + int(match.group(4))
    if end > 24 * 60 or start == end:
        raise HoursError(f"hours must be a span of some minutes within a day, like 09:00-18:00, got '{text}'")
    return start, end


def days(text) -> frozenset:
    """``mon-fri``, ``sat,sun``, ``mon-fri,sun`` or ``every day``."""
    words = str(text).strip().lower()
    if words in ("every day", "daily", "all"):
        return frozenset(range(7))
    found = set()
    for part in words.replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise HoursError(f"days must be like mon-fri or sat,sun, got '{text}'")
        a, b = DAYS.index(first), DAYS.index(last or first)
        found.update(range(a, b + 1) if a <= b else list(range(a, 7)) + list(range(0, b + 1)))
    return frozenset(found)


@lru_cache(maxsize=512)
def zone(name: str | None):
    """The ZoneInfo for ``name``, or None when there is none by that name."""
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None
