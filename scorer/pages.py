"""What the pages a shopper sees say: their kind, and what past sessions did on them.

These are the real-time features of the Online Shoppers Purchasing Intention dataset, computed live:
- the kind of a page (administrative, informational, product-related), from the page message's
  `category` when the site names one, else from its path;
- per site and page, learned online from finished sessions: the bounce rate (sessions that entered
  on the page and saw nothing else, of those that entered there), the exit rate (sessions whose
  last page it was, of those that saw it) and the page value (revenue of the purchases that followed
  a view of the page, per session that saw it: Google Analytics' definition).

Statistics are counted in the scorer's memory, added to Redis every FLUSH_EVERY seconds (HINCRBY,
so several scorers add up) and read back from Redis every RELOAD_EVERY seconds.
"""

import re
import time
import zlib
from collections import defaultdict
from functools import lru_cache

from scorer import keys

KINDS = ("admin", "info", "product")
_KIND_OF_CATEGORY = {
    "administrative": "admin", "admin": "admin", "account": "admin", "checkout": "admin", "cart": "admin",
    "informational": "info", "info": "info", "help": "info", "about": "info",
    "product": "product", "products": "product", "product-related": "product", "catalog": "product",
}
# Checked in order against the lower-cased path. Checkout and account pages are administrative in the
# dataset's sense: they serve the visit, not the choice of a product.
_PATTERNS = [
    ("admin", re.compile(r"/(account|login|log-in|signin|sign-in|register|signup|cart|basket|bag|checkout|orders?|"
                         r"my-|profile|password|wishlist)")),
    ("info", re.compile(r"/(about|faq|help|contact|shipping|delivery|returns?|terms|privacy|legal|blog|stores?|"
                        r"support|size-guide|careers|imprint)")),
]
FLUSH_EVERY = 5.0  # seconds
RELOAD_EVERY = 60.0  # seconds
MAX_PATH = 200  # characters of a path considered


def kind(path: str, category=None) -> str:
    if isinstance(category, str) and category.strip().lower() in _KIND_OF_CATEGORY:
        return _KIND_OF_CATEGORY[category.strip().lower()]
    return _kind_of_path(path or "/")


# A shop's pages are few next to its page views: a path's kind and id are worked out once (of the latest
# PATHS_CACHED), not for every page view; a path is at most MAX_PATH characters, so the caches stay small.
PATHS_CACHED = 4096


@lru_cache(maxsize=PATHS_CACHED)
def _kind_of_path(path: str) -> str:
    path = path.lower()
    for name, pattern in _PATTERNS:
        if pattern.search(path):
            return name
    return "product"  # listings, categories, products, search: what a shop mostly is


@lru_cache(maxsize=PATHS_CACHED)
def page_id(path: str) -> str:
    """A short id for a path (query and fragment dropped): sessions keep these, not the paths."""
    path = (path or "/").split("?", 1)[0].split("#", 1)[0][:MAX_PATH].rstrip("/") or "/"
    return format(zlib.crc32(path.encode()), "08x")


class Stats:
    """Per-site page statistics: counts of views, entries, bounces, exits and revenue by page id."""

    FIELDS = ("v", "e", "b", "x", "r")  # views (one per session), entries, bounces, exits, revenue

    def __init__(self, redis, clock=time.monotonic):
        """``redis``: where statistics are shared, or None to keep them in this process only."""
        self.redis = redis
        self.clock = clock
        self.known: dict[str, dict[str, list[float]]] = {}  # site -> page -> [v, e, b, x, r]
        self.pending: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))  # site -> "f:page" -> n
        self.loaded: dict[str, float] = {}
        self.flushed = clock()

    def _site(self, site: str) -> dict:
        if self.redis is None:  # kept in memory only (an offline replay)
            return self.known.setdefault(site, {})
        if self.clock() - self.loaded.get(site, -RELOAD_EVERY) >= RELOAD_EVERY:
            self.loaded[site] = self.clock()
            table: dict[str, list[float]] = defaultdict(lambda: [0.0] * 5)
            for field, value in self.redis.hgetall(keys.pages(site)).items():
                name, _, page = field.decode().partition(":")
                if name in self.FIELDS:
                    table[page][self.FIELDS.index(name)] = float(value)
            for field, amount in self.pending.get(site, {}).items():  # counted here, not yet in Redis
                name, _, page = field.partition(":")
                table[page][self.FIELDS.index(name)] += amount
            self.known[site] = dict(table)
        return self.known[site]

    def rates(self, site: str, pages: list[str]) -> tuple[float, float, float]:
        """Mean bounce rate and mean exit rate of the pages, and the sum of their page values."""
        table = self._site(site)
        bounce = exit_ = value = 0.0
        for page in pages:
            v, e, b, x, r = table.get(page, (0.0,) * 5)
            bounce += b / e if e else 0.0
            exit_ += x / v if v else 0.0
            value += r / v if v else 0.0
        n = len(pages) or 1
        return bounce / n, exit_ / n, value

    def _add(self, site: str, field: str, page: str, amount: float) -> None:
        self.pending[site][f"{field}:{page}"] += amount
        row = self.known.setdefault(site, {}).setdefault(page, [0.0] * 5)
        row[self.FIELDS.index(field)] += amount

    def session_ended(self, site: str, pages: list[str], entry: str | None, last: str | None, views: int) -> None:
        for page in pages:
            self._add(site, "v", page, 1)
        if entry:
            self._add(site, "e", entry, 1)
            if views <= 1:
                self._add(site, "b", entry, 1)
        if last:
            self._add(site, "x", last, 1)

    def purchased(self, site: str, pages: list[str], revenue: float) -> None:
        for page in pages:
            self._add(site, "r", page, revenue)

    def flush(self, force: bool = False) -> None:
        if self.redis is None:
            self.pending.clear()
            return
        if not self.pending or (not force and self.clock() - self.flushed < FLUSH_EVERY):
            return
        self.flushed = self.clock()
        pipe = self.redis.pipeline(transaction=False)
        for site, counts in self.pending.items():
            for field, amount in counts.items():
                if field.startswith("r:"):
                    pipe.hincrbyfloat(keys.pages(site), field, round(amount, 2))
                else:
                    pipe.hincrby(keys.pages(site), field, int(amount))
        pipe.execute()
        self.pending.clear()
