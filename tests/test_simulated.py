"""Simulated shoppers (demo/simulator.py), `handrail simulate` against the live collector, and
`handrail model evaluate --simulated` (scorer/simulated.py)."""

import heapq
import json
from collections import defaultdict
from datetime import datetime

import pytest

from demo import simulator
from handrail.cli import main
from scorer import keys, learner, model, pages, simulated
from scorer.consumer import Scorer
from scorer.writer import Batch
from tests.test_collector import stored
from tracker import stream
from tracker.schemas import MessageSchema

FRICTION = ("Payment Failed", "Form Error")
CLOCK = ("Heartbeat", "Idle", "Exit Intent")  # hr.js's own, not the shopper's doing


@pytest.fixture(scope="module")
def shoppers():
    return simulator.population(600, seed=7)


def _ms(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000


def _actions(script) -> list:
    return [step for step in script.steps if step[3] not in CLOCK]


def test_every_persona_turns_up(shoppers):
    """All seven personas (six kinds, lingering a second stuck one) come in a few hundred shoppers."""
    assert {s.script.persona for s in shoppers} == {persona.__name__ for persona, _ in simulator.PERSONAS}


def test_truth_is_consistent_with_the_events(shoppers):
    """Steps in time order, the shopper leaves after the last; buyers buy and are not stuck; a stuck
    shopper meets friction or sits still for a while; leavers never buy."""
    for shopper in shoppers:
        script = shopper.script
        times = [step[0] for step in script.steps]
        assert times == sorted(times) and times[0] == 0.0
        assert script.leave_after > times[-1]
        events = {step[3] for step in script.steps}
        assert ("Order Completed" in events) == (script.outcome == "purchase")
        if script.stuck:
            assert script.outcome == "leave"
            sat = script.leave_after - _actions(script)[-1][0]
            assert events & set(FRICTION) or (script.persona == "lingers_on_payment" and sat >= 30)
            assert 20 <= sat <= 180
        if script.persona == "smooth_buyer":
            assert sum(step[3] == "Payment Failed" for step in script.steps) <= 1


def test_returning_customers_are_identified_on_every_message(shoppers):
    """A returning customer's visit starts with identify (userId, traits) and every message carries
    the userId, as hr.js does once it knows the visitor."""
    returning = [s for s in shoppers if s.script.persona == "returning_customer"]
    assert returning
    for shopper in returning:
        messages = [m for _, m in shopper.messages()]
        assert messages[0]["type"] == "identify" and messages[0]["traits"]["email"]
        assert {m["userId"] for m in messages} == {shopper.script.user_id}


def test_messages_pass_the_collectors_schema(shoppers):
    """Every message a persona sends is one the collector takes as it is."""
    schema = MessageSchema()
    for shopper in shoppers[:100]:
        for _, message in shopper.messages():
            assert schema.validate(message) == {}, message


def test_timeline_has_every_message_each_second_between_and_the_leaving_last(shoppers):
    """Moments in time order, no more than a second apart; every message as the collector stores it
    (with receivedAt); the shopper leaving last."""
    for shopper in shoppers[:50]:
        moments = list(simulated.timeline(shopper, every_second=True))
        times = [at for at, _ in moments]
        assert times == sorted(times)
        assert all(b - a <= 1000 for a, b in zip(times, times[1:]))
        assert moments[-1] == (shopper.at(shopper.script.leave_after), simulated.LEAVE)
        received = [(at, message) for at, message in moments if isinstance(message, dict)]
        assert [at for at, _ in received] == [at for at, _ in shopper.messages()]
        assert all(message["receivedAt"] == at for at, message in received)


def test_scored_while_live_until_the_shopper_buys_or_leaves(shoppers):
    """A scored visit has a score at each second while it is live: up to its purchase, or until just
    before the shopper leaves. Visits that are only scored teach the model nothing."""
    visits = shoppers[:50]
    replay = simulated.Replay()
    scores = replay.run([], visits)
    assert replay.model.learned == 0
    for shopper in visits:
        times = [at for at, _ in scores[shopper.anonymous_id]]
        assert times and all(b - a <= 1000 for a, b in zip(times, times[1:]))
        if shopper.script.outcome == "purchase":
            purchase = next(at for at, m in shopper.messages() if m.get("event") == "Order Completed")
            assert times[-1] <= purchase < times[-1] + 1000
        else:
            assert shopper.at(shopper.script.leave_after) - 1000 <= times[-1] < shopper.at(shopper.script.leave_after)


class Recorder:
    """Stands in for the model: records what it is taught, in order, and scores nothing."""

    learned = 0

    def __init__(self):
        self.taught = []

    def learn_values(self, x: list[float], abandoned: bool) -> None:
        self.taught.append(([round(value, 4) for value in x], abandoned))

    def score(self, snap: dict) -> None:
        return None

    def probability(self, x: list[float]) -> None:
        return None


def test_the_replay_learns_what_the_live_scorer_learns(redis, shoppers):
    """The same interleaved visits through the stream consumer on Redis (each message its own batch,
    each session closed as its shopper leaves) and through the replay: the same examples in the same
    order with the same labels (purchases and abandoned carts), and the same page statistics."""
    visits = shoppers[:40]
    replay = simulated.Replay()
    replay.model = Recorder()
    replay.run(visits, [])

    scorer = Scorer(redis, 1, on_decision=None)  # no rules in force: nothing is decided
    scorer.pages = pages.Stats(None)
    scorer.ensure_groups()
    scorer.ownership.refresh(force=True)  # its batches are stored only in shards it owns (scorer.ownership)
    key = stream.all_keys(1)[0]
    moments = heapq.merge(*([(at, s.anonymous_id, m) for at, m in simulated.timeline(s)] for s in visits),
                          key=lambda moment: moment[0])
    for n, (at, name, message) in enumerate(moments):
        if message is simulated.LEAVE:
            out = Batch()
            scorer._close(json.loads(redis.get(keys.session(name))), out)
            scorer.writer.write(out)
        else:
            fields = {b"m": json.dumps(message).encode(), b"site": simulated.SITE.encode()}
            scorer.process([(key, (f"{at}-{n}".encode(), fields))])

    handed = Recorder()  # what the learner learns of the examples the scorer handed it, in order
    for _, entry in redis.xrange(keys.EXAMPLES):
        abandoned, snapshots = learner.parse(entry)
        for x in snapshots:
            handed.learn_values(x, abandoned)
    assert handed.taught == replay.model.taught
    assert {label for _, label in replay.model.taught} == {True, False}
    assert scorer.pages.known == replay.stats.known
    assert any(row[4] > 0 for row in replay.stats.known[simulated.SITE].values())  # revenue: page values


def test_threshold_lets_at_most_one_in_a_hundred_above():
    """Of 200 maxima, the threshold is the 3rd highest: two are above it; ties never push more over."""
    maxima = [i / 1000 for i in range(200)]
    assert simulated.threshold(maxima) == 0.197
    assert simulated.threshold([0.5] * 150 + [0.9]) == 0.5
    assert simulated.threshold([]) is None


def test_evaluate_reports_lead_times_at_one_false_alarm_in_a_hundred():
    """Trained on 70 % of 600 shoppers, tested on the rest: at most about 1 % of smooth sessions flagged,
    and every figure is there and adds up."""
    result = simulated.evaluate(600, seed=3)
    assert result["trained_on"] == 420 and result["tested"] == 180
    assert result["smooth"] + result["stuck"] == 180
    assert result["false_alarms"] <= max(1, 0.02 * result["smooth"])
    # Not a plateau of tied scores (rounded probabilities tied at 1.0): few smooth visits reach it.
    assert result["smooth_reaching_threshold"] <= max(2, 0.02 * result["smooth"])
    assert result["flagged"] <= result["stuck"]
    assert sum(row["sessions"] for row in result["personas"].values()) == 180
    assert sum(row["flagged"] for row in result["personas"].values() if row["stuck"]) == result["flagged"]
    if result["flagged"]:
        lead = result["seconds_before_leaving"]
        assert 0 < lead["q1"] <= lead["median"] <= lead["q3"]


def test_cli_evaluate_simulated_json(runner):
    """`model evaluate --simulated --json` prints one JSON object with the figures."""
    result = runner.invoke(main, ["model", "evaluate", "--simulated", "--json", "--sessions", "300", "--seed", "1"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    for name in ("threshold", "false_alarm_rate", "flagged_share", "seconds_before_leaving", "smooth", "stuck",
                 "personas", "seconds"):
        assert name in figures
    assert figures["sessions"] == 300 and figures["seed"] == 1
    assert figures["false_alarms"] <= max(1, 0.02 * figures["smooth"])


def test_cli_evaluate_table(runner):
    """The human output names the threshold, the false alarms and the lead times, by persona."""
    result = runner.invoke(main, ["model", "evaluate", "--simulated", "--sessions", "200"])
    assert result.exit_code == 0, result.output
    for words in ("threshold", "false alarms", "stuck flagged", "before leaving", "stuck_at_payment"):
        assert words in result.stdout


@pytest.mark.parametrize("args", [[], ["--simulated", "--dataset", "pyproject.toml"]])
def test_cli_evaluate_wants_dataset_or_simulated(runner, args):
    """Neither or both of --dataset and --simulated: a usage error saying which to give."""
    result = runner.invoke(main, ["model", "evaluate", *args])
    assert result.exit_code == 2
    assert "--dataset FILE or --simulated" in result.output


def test_simulate_writes_the_truth_of_each_shopper_the_collector_stored(runner, live_server, site, redis, tmp_path):
    """`handrail simulate --truth` against the live collector: one truth line per shopper, and the
    collector stored each one's events, all of them sent before the moment the shopper leaves."""
    truth = tmp_path / "truth.jsonl"
    truth.write_text("")
    result = runner.invoke(main, ["simulate", "--url", live_server, "--write-key", site["write_key"],
                                  "--sessions", "5", "--rate", "20", "--speed", "100", "--seed", "4",
                                  "--truth", str(truth)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in truth.read_text().splitlines()]
    assert len(lines) == 5
    assert lines[0]["persona"] == "stuck_at_payment" and lines[0]["stuck"] is True  # the demo's first
    by_shopper = defaultdict(list)
    for message in stored(redis):
        by_shopper[message["anonymousId"]].append(message)
    assert set(by_shopper) == {line["anonymousId"] for line in lines}
    for line in lines:
        assert set(line) == {"anonymousId", "persona", "stuck", "outcome", "start", "leave_at"}
        assert line["start"] < line["leave_at"]
        messages = by_shopper[line["anonymousId"]]
        # <=: compressed 100 times, a moment just before leaving can round onto it to the ms
        assert all(_ms(message["timestamp"]) <= line["leave_at"] for message in messages)
        events = {message.get("event") for message in messages}
        assert ("Order Completed" in events) == (line["outcome"] == "purchase")
