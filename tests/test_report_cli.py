"""`handrail report [--since 7d] [--json]` on a real embedded Redis: the figures as tables, or as JSON."""

import json
import time

from handrail.cli import main
from reports import hours
from rules import keys as rule_keys
from rules import outcomes
from scorer import keys as scorer_keys


def run(runner, redis_server, *args):
    return runner.invoke(main, ["report", *args, "--redis-url", redis_server.url])


def settle(redis, rule: str, held_out: bool, sessions: int, won: int, at: float, revenue: float = 40.0) -> None:
    for n in range(sessions):
        outcomes.settled(redis, rule, held_out=held_out, at_seconds=at, won=n < won, revenue=revenue)


def test_the_report_prints_the_uplift_with_its_interval_and_verdict(runner, redis, redis_server):
    """100 contacted, 30 bought; 100 held out, 10 bought: +20 points, with its interval, the revenue it
    implies (0.2 x 100 x 40 = 800) and a verdict; a rule with a handful of sessions says not enough data."""
    now = time.time()
    settle(redis, "stuck-at-payment", False, 100, 30, now)
    settle(redis, "stuck-at-payment", True, 100, 10, now)
    settle(redis, "lingering", False, 3, 1, now)
    pipe = redis.pipeline()
    hours.add(pipe, rule_keys.REPORT, now, {"fired|stuck-at-payment|chat": 100, "held|stuck-at-payment|chat": 100})
    pipe.execute()
    result = run(runner, redis_server, "--since", "24h")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Uplift" in out and "+20.0 points" in out and "800.00" in out
    assert "stuck-at-payment: enough: contact raises conversion by 20.0 points (95 % interval" in out
    assert "lingering: not enough data yet: 3 contacted and 0 held-out sessions" in out
    for title in ("Rules by channel", "Agent load by hour of day", "Model ROC AUC by day", "Model calibration",
                  "Funnel by checkout step", "Friction before abandonment"):
        assert title in out


def test_json_prints_the_figures_the_api_serves(runner, redis, redis_server):
    now = time.time()
    settle(redis, "stuck-at-payment", False, 40, 10, now)
    settle(redis, "stuck-at-payment", True, 40, 2, now)
    result = run(runner, redis_server, "--json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert {"since", "until", "generated_at", "rules", "uplift", "load", "model", "funnel"} <= set(found)
    (row,) = found["uplift"]["by_rule"]
    assert (row["rule"], row["contacted"], row["contacted_won"], row["holdout"], row["holdout_won"]) == (
        "stuck-at-payment", 40, 10, 40, 2)
    assert abs(row["difference"] - 0.2) < 1e-9 and row["low"] < 0.2 < row["high"]
    assert 6 * 86400 < found["until"] - found["since"] <= 7 * 86400 + 1  # the default period: 7 days


def test_sessions_before_the_period_are_left_out(runner, redis, redis_server):
    settle(redis, "stuck-at-payment", False, 40, 10, time.time() - 3 * 86400)
    found = json.loads(run(runner, redis_server, "--since", "24h", "--json").output)
    assert found["uplift"]["by_rule"] == [] and found["uplift"]["overall"]["contacted"] == 0


def test_a_bad_since_is_a_usage_error_naming_the_option(runner, redis, redis_server):
    result = run(runner, redis_server, "--since", "a week")
    assert result.exit_code == 2
    assert "--since" in result.output and "a duration like 30m, 24h or 7d, or a date like" in result.output


def test_no_instance_to_read_says_so(runner, tmp_path):
    result = runner.invoke(main, ["report", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1 and "cannot reach Redis" in result.output


def test_text_from_browsers_cannot_drive_the_terminal(runner, redis, redis_server):
    """A page path carrying an escape sequence is printed without its control characters."""
    pipe = redis.pipeline()
    hours.add(pipe, scorer_keys.REPORT, time.time(), {"sessions": 1, "friction|/pay\x1b[2J|form_error|card\x07": 1,
                                                      "friction_abandoned|/pay\x1b[2J|form_error|card\x07": 1})
    pipe.execute()
    result = run(runner, redis_server)
    assert result.exit_code == 0, result.output
    assert "/pay[2J" in result.output and "\x1b" not in result.output and "\x07" not in result.output
