"""Page kinds and the per-site page statistics learned from finished sessions (scorer/pages.py)."""

import pytest

from scorer import keys, pages


@pytest.mark.parametrize("path, category, kind", [
    ("/p/trail-shoe", None, "product"),
    ("/search?q=boots", None, "product"),
    ("/checkout/payment", None, "admin"),
    ("/account/orders", None, "admin"),
    ("/help/returns", None, "info"),
    ("/anything", "Informational", "info"),
    ("/faq", "product", "product"),
])
def test_a_page_kind_comes_from_the_category_the_site_names_else_from_its_path(path, category, kind):
    assert pages.kind(path, category) == kind


def test_page_ids_ignore_query_fragment_and_trailing_slash():
    assert pages.page_id("/p/1?utm=x#top") == pages.page_id("/p/1/") != pages.page_id("/p/2")


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_rates_and_page_value_are_learned_from_sessions_and_shared_through_redis(redis):
    clock = Clock()
    stats = pages.Stats(redis, clock)
    home, boots = pages.page_id("/"), pages.page_id("/p/boots")
    stats.session_ended("s1", [home], entry=home, last=home, views=1)  # a bounce on home
    stats.session_ended("s1", [home, boots], entry=home, last=boots, views=3)
    stats.purchased("s1", [home, boots], 100.0)
    bounce, exit_, value = stats.rates("s1", [home, boots])
    assert bounce == pytest.approx((1 / 2 + 0) / 2)  # home: 1 bounce of 2 entries; boots: never an entry
    assert exit_ == pytest.approx((1 / 2 + 1 / 1) / 2)
    assert value == pytest.approx(100 / 2 + 100 / 1)
    clock.now = pages.FLUSH_EVERY
    stats.flush()
    assert redis.hget(keys.pages("s1"), f"v:{home}") == b"2"
    other = pages.Stats(redis, Clock())  # another scorer reads what this one learned
    assert other.rates("s1", [home, boots]) == pytest.approx((bounce, exit_, value))


def test_unknown_pages_have_no_rates(redis):
    assert pages.Stats(redis).rates("s1", ["deadbeef"]) == (0.0, 0.0, 0.0)
