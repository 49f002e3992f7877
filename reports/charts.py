"""The report's charts as SVG geometry that Handrail draws itself (no chart library, no CDN).

Each chart is a dict: ``width``, ``height`` (the viewBox), ``shapes`` (tag, attributes, text, title) and ``legend``.
The template writes the shapes out with every attribute and text escaped; the tags come from TAGS only, so
nothing from a browser (a rule id, a page path) can become markup.
"""

import math

TAGS = frozenset({"rect", "line", "polyline", "circle", "text"})
WIDTH, HEIGHT = 640, 240  # px of the viewBox; the page scales it to the column
LEFT, RIGHT, TOP, BOTTOM = 52, 52, 14, 40  # px of margin for the axes' labels
LABEL_SPACING = 36  # px each label of the x axis needs; with less, every n-th category is labelled
ROW = 30  # px per row of the interval chart
LABEL_WIDTH = 150  # px for the rule ids left of the interval chart
LABEL_CHARS = 22  # a longer rule id is cut, with an ellipsis (the table below has it whole)


def shape(tag: str, attrs: dict, text: str | None = None, title: str | None = None) -> dict:
    if tag not in TAGS:
        raise ValueError(f"tag: {tag!r} is not one the charts draw")
    # Geometry to a tenth of a pixel; data-value keeps the figure itself (tests and scripts read it).
    attrs = {name: value if name.startswith("data-") else _px(value) for name, value in attrs.items()}
    return {"tag": tag, "attrs": attrs, "text": text, "title": title}


def nice_axis(value: float) -> tuple[float, float]:
    """(top, step): the smallest round number at or above ``value`` (1, 2, 2.5 or 5 times a power of ten),
    and a round tick step under it, so that axes end on numbers a reader takes in at a glance."""
    if not value or value <= 0 or not math.isfinite(value):
        return 1.0, 0.25
    power = 10 ** math.floor(math.log10(value))
    for top, ticks in ((1, 5), (2, 4), (2.5, 5), (5, 5), (10, 5)):
        if value <= top * power * (1 + 1e-9):
            return top * power, top * power / ticks
    raise AssertionError("unreachable: 10 x power is above value")


def bars(categories: list[str], series: list[tuple[str, list]], *, percent: bool = False,
         line: tuple[str, list] | None = None, width: int = WIDTH) -> dict:
    """Grouped bars, one group per category and one bar per series; ``line``, if given, is drawn over them on
    its own scale (the right axis): e.g. agents on shift over the tasks of each hour."""
    frame = _Frame(width, HEIGHT, right=RIGHT if line else 16)
    top, step = nice_axis(max(_values(values for _, values in series), default=0))
    if percent and top > 1:
        top, step = 1.0, 0.25  # a share never passes 100 %
    shapes = _y_axis(frame, top, step, _percent if percent else _count, side="left")
    band = frame.width / max(len(categories), 1)
    bar = band * 0.8 / max(len(series), 1)
    for number, (name, values) in enumerate(series):
        for index, value in enumerate(values):
            if value is None:
                continue
            x = frame.left + index * band + band * 0.1 + number * bar
            y = frame.y(value, 0, top)
            shapes.append(shape("rect", {"x": x, "y": y, "width": max(bar - 1, 1), "height": frame.bottom - y,
                                         "class": f"bar s{number}", "data-value": value},
                                title=f"{categories[index]} · {name}: {_percent(value) if percent else _count(value)}"))
    shapes += _x_labels(frame, categories, band)
    legend = [{"name": name, "class": f"s{number}"} for number, (name, _) in enumerate(series)]
    if line:
        name, values = line
        line_top, line_step = nice_axis(max(_values([values]), default=0))
        shapes += _y_axis(frame, line_top, line_step, _count, side="right")
        points = [(frame.left + index * band + band / 2, frame.y(value, 0, line_top), value)
                  for index, value in enumerate(values) if value is not None]
        shapes += _path(points, "line s3", [f"{categories[index]} · {name}: {_count(value)}"
                                            for index, value in enumerate(values) if value is not None])
        legend.append({"name": f"{name} (right axis)", "class": "s3"})
    return {"width": width, "height": HEIGHT, "shapes": shapes, "legend": legend}


def line(labels: list[str], values: list, name: str, *, low: float = 0.0, high: float = 1.0,
         reference: tuple[str, float] | None = None, width: int = WIDTH) -> dict:
    """A line over ``labels`` between ``low`` and ``high``, broken where a value is missing; ``reference``, a
    dashed level such as chance (0.5) for an AUC."""
    frame = _Frame(width, HEIGHT, right=16)
    shapes = _y_axis(frame, high, (high - low) / 5, _decimal, side="left", low=low)
    if reference:
        label, level = reference
        y = frame.y(level, low, high)
        shapes.append(shape("line", {"x1": frame.left, "y1": y, "x2": frame.right, "y2": y, "class": "reference"},
                            title=f"{label}: {_decimal(level)}"))
        shapes.append(shape("text", {"x": frame.right - 4, "y": y - 4, "class": "note", "text-anchor": "end"}, label))
    band = frame.width / max(len(labels), 1)
    run, titles = [], []
    for index, value in enumerate(values + [None]):  # a missing value ends a run: no line drawn across a gap
        if value is None:
            shapes += _path(run, "line s0", titles)
            run, titles = [], []
            continue
        run.append((frame.left + index * band + band / 2, frame.y(min(max(value, low), high), low, high), value))
        titles.append(f"{labels[index]} · {name}: {_decimal(value)}")
    shapes += _x_labels(frame, labels, band)
    return {"width": width, "height": HEIGHT, "shapes": shapes, "legend": [{"name": name, "class": "s0"}]}


def calibration(rows: list[dict]) -> dict:
    """Observed against predicted share per bin of the score, both 0..1, with the diagonal a calibrated model
    lies on."""
    size = HEIGHT
    frame = _Frame(size + LEFT, size, right=16)
    shapes = _y_axis(frame, 1.0, 0.25, _decimal, side="left")
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        shapes.append(shape("text", {"x": frame.x(tick, 0, 1), "y": frame.bottom + 16, "class": "tick",
                                     "text-anchor": "middle"}, _decimal(tick)))
    shapes.append(shape("line", {"x1": frame.x(0, 0, 1), "y1": frame.y(0, 0, 1), "x2": frame.x(1, 0, 1),
                                 "y2": frame.y(1, 0, 1), "class": "reference"}, title="perfectly calibrated"))
    points, titles = [], []
    for row in rows:
        if row.get("observed") is None or row.get("predicted") is None or not row.get("sessions"):
            continue
        points.append((frame.x(row["predicted"], 0, 1), frame.y(row["observed"], 0, 1), row["observed"]))
        titles.append(f"predicted {_decimal(row['predicted'])}, observed {_decimal(row['observed'])}, "
                      f"{_count(row['sessions'])} sessions")
    shapes += _path(points, "line s0", titles)
    return {"width": frame.total_width, "height": size + 6, "shapes": shapes,
            "legend": [{"name": "observed", "class": "s0"}, {"name": "perfectly calibrated", "class": "reference"}]}


def intervals(rows: list[dict]) -> dict:
    """Horizontal error bars around zero, one row per ``label``: ``difference`` and its ``low``..``high``
    interval; a row whose ``enough`` is false is drawn muted and says "not enough data yet" beside it."""
    height = TOP + ROW * max(len(rows), 1) + BOTTOM + 16  # room for the axis caption
    frame = _Frame(WIDTH, height, left=LABEL_WIDTH, right=130, caption=16)
    reach = max([abs(row[end]) for row in rows for end in ("low", "high", "difference")
                 if row.get(end) is not None] + [0.05])
    top, step = nice_axis(reach)
    shapes = []
    ticks = round(top / step)
    for number in range(-ticks, ticks + 1):
        value = number * step
        x = frame.x(value, -top, top)
        shapes.append(shape("line", {"x1": x, "y1": frame.top, "x2": x, "y2": frame.bottom,
                                     "class": "axis" if number == 0 else "grid"}))
        shapes.append(shape("text", {"x": x, "y": frame.bottom + 16, "class": "tick", "text-anchor": "middle"},
                            f"{value * 100:+.0f}" if number else "0"))
    shapes.append(shape("text", {"x": frame.x(0, -top, top), "y": frame.bottom + 32, "class": "note",
                                 "text-anchor": "middle"}, "points of conversion, contacted minus holdout"))
    for index, row in enumerate(rows):
        y = frame.top + ROW * index + ROW / 2
        label = row["label"] if len(row["label"]) <= LABEL_CHARS else row["label"][:LABEL_CHARS - 1] + "…"
        shapes.append(shape("text", {"x": frame.left - 8, "y": y + 4, "class": "label", "text-anchor": "end"},
                            label, title=row["label"]))
        kind = "enough" if row.get("enough") else "unsure"
        if row.get("low") is not None and row.get("high") is not None:
            low, high = frame.x(row["low"], -top, top), frame.x(row["high"], -top, top)
            span = f"{row['label']}: {_points(row['difference'])} (95 % interval {_points(row['low'])} to " \
                   f"{_points(row['high'])})"
            shapes.append(shape("line", {"x1": low, "y1": y, "x2": high, "y2": y, "class": f"whisker {kind}"},
                                title=span))
            for end in (low, high):
                shapes.append(shape("line", {"x1": end, "y1": y - 6, "x2": end, "y2": y + 6,
                                             "class": f"whisker {kind}"}))
        if row.get("difference") is not None:
            shapes.append(shape("circle", {"cx": frame.x(row["difference"], -top, top), "cy": y, "r": 4.5,
                                           "class": f"point {kind}", "data-value": row["difference"]},
                                title=f"{row['label']}: {_points(row['difference'])}"))
        if not row.get("enough"):
            shapes.append(shape("text", {"x": frame.right + 8, "y": y + 4, "class": "verdict"},
                                "not enough data yet"))
    return {"width": WIDTH, "height": height, "shapes": shapes,
            "legend": [{"name": "difference in conversion, 95 % interval", "class": "enough"}]}


class _Frame:
    """The plot area inside the margins, and the mapping of data onto it."""

    def __init__(self, width: float, height: float, *, left: float = LEFT, right: float = RIGHT, caption: float = 0):
        self.total_width = width
        self.left, self.right = left, width - right
        self.top, self.bottom = TOP, height - BOTTOM - caption
        self.width = self.right - self.left

    def x(self, value: float, low: float, high: float) -> float:
        return self.left + (value - low) / (high - low) * self.width

    def y(self, value: float, low: float, high: float) -> float:
        return self.bottom - (value - low) / (high - low) * (self.bottom - self.top)


def _y_axis(frame: _Frame, top: float, step: float, label, *, side: str, low: float = 0.0) -> list[dict]:
    shapes = []
    ticks = round((top - low) / step)
    for number in range(ticks + 1):
        value = low + number * step
        y = frame.y(value, low, top)
        if side == "left":
            shapes.append(shape("line", {"x1": frame.left, "y1": y, "x2": frame.right, "y2": y,
                                         "class": "axis" if number == 0 else "grid"}))
            shapes.append(shape("text", {"x": frame.left - 6, "y": y + 4, "class": "tick", "text-anchor": "end"},
                                label(value)))
        else:
            shapes.append(shape("text", {"x": frame.right + 6, "y": y + 4, "class": "tick right"}, label(value)))
    return shapes


def _x_labels(frame: _Frame, categories: list[str], band: float) -> list[dict]:
    every = math.ceil(len(categories) / max(int(frame.width // LABEL_SPACING), 1)) or 1
    return [shape("text", {"x": frame.left + index * band + band / 2, "y": frame.bottom + 16, "class": "tick",
                           "text-anchor": "middle"}, category)
            for index, category in enumerate(categories) if index % every == 0]


def _path(points: list[tuple[float, float, float]], cls: str, titles: list[str]) -> list[dict]:
    """A polyline through the points (when there are two or more) and a dot on each, titled for hovering."""
    shapes = []
    if len(points) > 1:
        shapes.append(shape("polyline", {"points": " ".join(f"{_px(x)},{_px(y)}" for x, y, _ in points),
                                         "class": cls}))
    for (x, y, value), title in zip(points, titles):
        shapes.append(shape("circle", {"cx": x, "cy": y, "r": 3, "class": cls.replace("line", "dot"),
                                       "data-value": value}, title=title))
    return shapes


def _values(lists) -> list[float]:
    return [value for values in lists for value in values if value is not None]


def _px(value):
    return round(value, 1) if isinstance(value, float) else value


def _count(value: float) -> str:
    """A tick of counts or means: whole above 10, one decimal above 1, and two significant digits below, so
    that the ticks of a small mean (0.01 agents) do not all read 0.0."""
    if float(value).is_integer() or abs(value) >= 10:
        return f"{value:,.0f}"
    return f"{value:,.1f}" if abs(value) >= 1 else f"{value:.2g}"


def _decimal(value: float) -> str:
    return f"{value:.2f}"


def _percent(value: float) -> str:
    return f"{value * 100:.0f} %"


def _points(value: float) -> str:
    """A difference of two shares in percentage points, signed."""
    return f"{value * 100:+.0f} pts" if value else "0"
