"""reports/charts.py: the SVG geometry of the report's charts, checked on the numbers a reader would see."""

import pytest

from reports import charts


def of(chart: dict, tag: str, cls: str | None = None) -> list[dict]:
    return [s for s in chart["shapes"] if s["tag"] == tag and (cls is None or cls in s["attrs"].get("class", ""))]


def texts(chart: dict) -> list[str]:
    return [s["text"] for s in chart["shapes"] if s["tag"] == "text"]


@pytest.mark.parametrize("value, expected", [(0, (1.0, 0.25)), (None, (1.0, 0.25)), (1, (1, 0.2)), (37, (50, 10)),
                                             (0.23, (0.25, 0.05)), (101, (200, 50)), (7, (10, 2))])
def test_axes_end_on_a_round_number_at_or_above_the_largest_value(value, expected):
    top, step = charts.nice_axis(value)
    assert top == pytest.approx(expected[0]) and step == pytest.approx(expected[1])


def test_bars_are_as_tall_as_their_value_on_the_axis():
    chart = charts.bars(["cart", "payment"], [("drop-off", [0.5, 0.25])], percent=True)
    tall, short = of(chart, "rect", "bar")
    assert tall["attrs"]["height"] == pytest.approx(2 * short["attrs"]["height"], abs=0.2)
    assert [tall["attrs"]["data-value"], short["attrs"]["data-value"]] == [0.5, 0.25]
    assert "50 %" in texts(chart) and "cart" in texts(chart) and "payment" in texts(chart)
    assert tall["title"] == "cart · drop-off: 50 %"


def test_a_missing_value_draws_no_bar_and_groups_keep_their_place():
    chart = charts.bars(["a", "b", "c"], [("offered", [3, None, 1]), ("claimed", [2, 2, 0])])
    offered = [s for s in of(chart, "rect", "s0")]
    claimed = [s for s in of(chart, "rect", "s1")]
    assert len(offered) == 2 and len(claimed) == 3
    assert offered[0]["attrs"]["x"] < claimed[0]["attrs"]["x"] < claimed[1]["attrs"]["x"] < offered[1]["attrs"]["x"]


def test_the_line_over_bars_has_its_own_right_axis_and_a_dot_per_hour():
    hours = [f"{hour:02d}" for hour in range(24)]
    chart = charts.bars(hours, [("offered", [40] * 24)], line=("agents on shift", [2.0] * 24), width=1000)
    assert len(of(chart, "circle", "dot s3")) == 24 and len(of(chart, "polyline", "line s3")) == 1
    right = [s["text"] for s in of(chart, "text", "right")]
    assert right[-1] == "2"  # the right axis ends at the agents' scale, not the tasks'
    assert chart["legend"][-1]["name"] == "agents on shift (right axis)"
    assert set(hours) <= set(texts(chart))  # 1000 px: room to label every hour


def test_a_line_breaks_where_a_day_has_no_figure():
    chart = charts.line(["d1", "d2", "d3", "d4", "d5"], [0.7, 0.8, None, 0.75, 0.9], "ROC AUC", reference=("chance", 0.5))
    assert len(of(chart, "polyline", "line s0")) == 2
    assert [s["attrs"]["data-value"] for s in of(chart, "circle")] == [0.7, 0.8, 0.75, 0.9]
    chance = of(chart, "line", "reference")[0]["attrs"]
    top = min(s["attrs"]["y1"] for s in of(chart, "line", "grid"))
    bottom = of(chart, "line", "axis")[0]["attrs"]["y1"]
    assert chance["y1"] == pytest.approx((top + bottom) / 2, abs=0.2)  # 0.5 halfway up a 0..1 axis


def test_a_calibrated_point_lies_on_the_diagonal_and_empty_bins_are_left_out():
    rows = [{"low": 0.2, "high": 0.3, "predicted": 0.25, "observed": 0.25, "sessions": 40},
            {"low": 0.5, "high": 0.6, "predicted": 0.55, "observed": None, "sessions": 0}]
    chart = charts.calibration(rows)
    diagonal = of(chart, "line", "reference")[0]["attrs"]
    (dot,) = of(chart, "circle")
    x, y = dot["attrs"]["cx"], dot["attrs"]["cy"]
    along = (x - diagonal["x1"]) / (diagonal["x2"] - diagonal["x1"])
    assert along == pytest.approx(0.25, abs=0.01)
    assert y == pytest.approx(diagonal["y1"] + along * (diagonal["y2"] - diagonal["y1"]), abs=0.2)
    assert dot["title"] == "predicted 0.25, observed 0.25, 40 sessions"


def test_intervals_centre_zero_and_say_plainly_when_there_is_not_enough_data():
    chart = charts.intervals([{"label": "all rules", "difference": 0.2, "low": 0.1, "high": 0.3, "enough": True},
                              {"label": "x" * 40, "difference": 0.05, "low": -0.2, "high": 0.3, "enough": False},
                              {"label": "new-rule", "difference": None, "low": None, "high": None, "enough": False}])
    zero = of(chart, "line", "axis")[0]["attrs"]["x1"]
    ticks = [s for s in of(chart, "text", "tick")]
    assert ticks[0]["text"] == "-50" and ticks[-1]["text"] == "+50"  # symmetric: the widest reach is 30 points
    whiskers = [s for s in of(chart, "line", "whisker") if s["title"]]
    sure, unsure = whiskers
    assert "enough" in sure["attrs"]["class"] and sure["attrs"]["x1"] > zero  # wholly above zero
    assert "unsure" in unsure["attrs"]["class"] and unsure["attrs"]["x1"] < zero < unsure["attrs"]["x2"]
    assert texts(chart).count("not enough data yet") == 2
    labels = [s for s in of(chart, "text", "label")]
    assert labels[1]["text"] == "x" * 21 + "…" and labels[1]["title"] == "x" * 40  # cut, whole on hover
    assert len(of(chart, "circle")) == 2  # the rule with no difference has no point


def test_only_known_tags_are_drawn():
    with pytest.raises(ValueError, match="tag"):
        charts.shape("script", {})


def test_ticks_of_a_small_mean_are_told_apart():
    """Agents on shift averaging 0.05: the right axis reads 0.01, 0.02, ..., not 0.0 five times."""
    from reports.charts import _count

    assert [_count(v) for v in (0, 0.01, 0.025, 0.05, 1.5, 12.4)] == ["0", "0.01", "0.025", "0.05", "1.5", "12"]
