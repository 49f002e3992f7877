"""Durations as product owners write them: 30s, 5m, 2h, 1d."""

import re

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PATTERN = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h|d)$")


def parse(text) -> float | None:
    """Seconds, or None when ``text`` is not a duration."""
    match = _PATTERN.match(str(text).strip())
    if not match:
        return None
    return float(match.group(1)) * _UNITS[match.group(2)]


def describe(seconds: float) -> str:
    for unit in ("d", "h", "m"):
        if seconds >= _UNITS[unit] and seconds % _UNITS[unit] == 0:
            return f"{int(seconds // _UNITS[unit])}{unit}"
    return f"{seconds:g}s"
