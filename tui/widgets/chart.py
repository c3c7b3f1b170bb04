"""LossChart: val_loss against train_time, drawn in braille dots (2x4 per cell).

Series are painted in order, so the last one (this node) sits on top of the parent's
and the best node's curves; the target loss is a dashed rule behind them all.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widget import Widget

BRAILLE_BASE = 0x2800
# Dot bit of each (column, row) position inside one braille cell.
_DOT_BITS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))
GUTTER = 7  # y labels


@dataclass(frozen=True)
class Series:
    label: str
    points: tuple[tuple[float, float], ...]  # (train_time_s, val_loss)
    color: str


class Canvas:
    """A braille dot grid where each cell remembers the colour of the last series drawn in it."""

    def __init__(self, cols: int, rows: int):
        self.cols, self.rows = cols, rows
        self.bits = [[0] * cols for _ in range(rows)]
        self.colors: list[list[str | None]] = [[None] * cols for _ in range(rows)]

    def dot(self, x: int, y: int, color: str) -> None:
        """Dot at (x, y) in dot coordinates, y growing downwards."""
        if 0 <= x < self.cols * 2 and 0 <= y < self.rows * 4:
            col, row = x // 2, y // 4
            self.bits[row][col] |= _DOT_BITS[x % 2][y % 4]
            self.colors[row][col] = color

    def line(self, x0: int, y0: int, x1: int, y1: int, color: str) -> None:
        steps = max(abs(x1 - x0), abs(y1 - y0), 1)
        for i in range(steps + 1):
            self.dot(round(x0 + (x1 - x0) * i / steps), round(y0 + (y1 - y0) * i / steps), color)

    def cell(self, col: int, row: int) -> tuple[str, str | None]:
        bits = self.bits[row][col]
        return (chr(BRAILLE_BASE + bits) if bits else " "), self.colors[row][col]


@dataclass(frozen=True)
class Bounds:
    x_max: float
    y_min: float
    y_max: float

    @classmethod
    def around(cls, series: list[Series], target: float | None) -> Bounds | None:
        xs = [x for s in series for x, _ in s.points]
        ys = [y for s in series for _, y in s.points]
        if not xs:
            return None
        if target is not None:
            ys.append(target)
        y_min, y_max = min(ys), max(ys)
        pad = (y_max - y_min) * 0.05 or 0.05
        return cls(max(xs) or 1.0, y_min - pad, y_max + pad)


class LossChart(Widget):
    """Renders whatever series it was last given; holds no session logic."""

    def __init__(self, *, id: str | None = None, classes: str | None = None):
        super().__init__(id=id, classes=classes)
        self._series: list[Series] = []
        self._target_loss: float | None = None

    def plot(self, series: list[Series], target: float | None) -> None:
        series = [s for s in series if s.points]
        if series == self._series and target == self._target_loss:
            return
        self._series, self._target_loss = series, target
        self.refresh()

    def render(self) -> Text:
        width, height = self.size.width, self.size.height
        bounds = Bounds.around(self._series, self._target_loss)
        if bounds is None or width <= GUTTER + 4 or height < 4:
            return Text("no validation points yet", style="dim")
        return draw(self._series, self._target_loss, bounds, width, height)


def draw(series: list[Series], target: float | None, bounds: Bounds, width: int, height: int) -> Text:
    """Legend line, plot rows with y labels, x axis line."""
    cols, rows = width - GUTTER, height - 2
    canvas = Canvas(cols, rows)

    def to_dot(x: float, y: float) -> tuple[int, int]:
        dx = round(x / bounds.x_max * (cols * 2 - 1))
        dy = round((bounds.y_max - y) / (bounds.y_max - bounds.y_min) * (rows * 4 - 1))
        return dx, dy

    for s in series:
        dots = [to_dot(x, y) for x, y in s.points]
        if len(dots) == 1:
            canvas.dot(*dots[0], s.color)
        for (x0, y0), (x1, y1) in zip(dots, dots[1:]):
            canvas.line(x0, y0, x1, y1, s.color)
    target_row = to_dot(0, target)[1] // 4 if target is not None else None

    out = _legend(series, target)
    for row in range(rows):
        y_value = bounds.y_max - (row * 4 + 1.5) / (rows * 4 - 1) * (bounds.y_max - bounds.y_min)
        if row == target_row:
            label = f"{target:6.3f} "
        elif row in (0, rows - 1):
            label = f"{y_value:6.3f} "
        else:
            label = " " * (GUTTER - 1) + "│"
        out.append(label.ljust(GUTTER)[:GUTTER], style="dim")
        for col in range(cols):
            char, color = canvas.cell(col, row)
            if char == " " and row == target_row:
                out.append("╌", style="red")
            else:
                out.append(char, style=color or "")
        out.append("\n")
    out.append(_x_axis(bounds.x_max, cols), style="dim")
    return out


def _legend(series: list[Series], target: float | None) -> Text:
    legend = Text(" " * GUTTER)
    for s in series:
        legend.append("● ", style=s.color)
        legend.append(f"{s.label}  ")
    if target is not None:
        legend.append("╌ ", style="red")
        legend.append(f"target {target:g}")
    legend.append("\n")
    return legend


def _x_axis(x_max: float, cols: int) -> str:
    right = f"{x_max:.0f}s" if x_max >= 10 else f"{x_max:.1f}s"
    return " " * (GUTTER - 1) + "0" + right.rjust(cols)
