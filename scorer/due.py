"""When a session must next be looked at without a new event: shared by the live scorer's deadlines
(scorer.consumer) and by the replay (scorer.replay), so that both wake a session at the same moments."""

from scorer import defaults


def next_due(state: dict, ruleset, now: int) -> int | None:
    """The first moment after ``now`` (ms) at which a dwell threshold (time on the step) or an idle
    threshold (time since the shopper last acted) of ``ruleset`` is crossed, or else the moment the
    session ends; None once its end has been handled."""
    if state["closed"]:
        return None
    end = state["last_seen"] + defaults.SESSION_TIMEOUT
    if state["outcome"] is not None:
        return end  # closed then, for the page statistics
    # +1: a dwell condition holds once the time on the step is strictly over its threshold.
    crossings = [state["step_at"] + int(seconds * 1000) + 1 for seconds in ruleset.thresholds]
    acted = state.get("acted_at", state["last_seen"])
    crossings += [acted + int(seconds * 1000) + 1 for seconds in ruleset.still]
    return min([at for at in crossings if at > now] + [end])
