"""The pure parts of the panes: diff rows and rendering, the braille chart, the status line."""

from __future__ import annotations

import dataclasses
import difflib
import io

import pytest
from rich.console import Console
from rich.table import Table

from tui.diffview import Row, parse_rows, render_split, render_unified
from tui.widgets.chart import Bounds, Series, draw
from tui.widgets.diffpane import SPLIT_MIN_WIDTH, DiffPane
from tui.widgets.statusbar import Status, status_text

OLD = "import torch\nlr = 0.001\nsteps = 100\ndef f(x):\n    return x * 2\nprint('done')\n"
NEW = "import torch\nlr = 0.003\nsteps = 100\ndef f(x):\n    y = x\n    return y * 2\nprint('done')\n"
DIFF = "".join(difflib.unified_diff(OLD.splitlines(True), NEW.splitlines(True), "a/train.py", "b/train.py"))


def plain(renderable, width: int = 120) -> str:
    console = Console(width=width, file=io.StringIO(), record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_rows_pair_removed_with_added_lines_and_keep_line_numbers():
    rows = [r for r in parse_rows(DIFF) if r.kind not in ("meta", "hunk")]
    assert rows[1] == Row("change", "lr = 0.001", "lr = 0.003", 2, 2)
    assert rows[4] == Row("change", "    return x * 2", "    y = x", 5, 5)
    assert rows[5] == Row("add", None, "    return y * 2", None, 6)
    assert rows[6] == Row("ctx", "print('done')", "print('done')", 6, 7)


def test_unified_and_split_renderings():
    unified = plain(render_unified(DIFF))
    assert "   2 -lr = 0.001" in unified and "   2 +lr = 0.003" in unified
    assert unified.index("-    return x * 2") < unified.index("+    y = x") < unified.index("+    return y * 2")
    split = render_split(DIFF)
    assert isinstance(split, Table)
    line = next(text for text in plain(split).splitlines() if "0.001" in text)
    assert line.index("lr = 0.001") < line.index("lr = 0.003")  # parent left, edit right, one row
    assert "(no changes)" in plain(render_unified(""))


def test_word_level_marks_only_on_the_changed_characters():
    text = render_unified(DIFF)
    marked = {text.plain[span.start:span.end] for span in text.spans if "#8a2a30" in str(span.style)}
    assert "1" in marked  # 0.001 -> 0.003: only the last digit differs


@pytest.mark.asyncio
async def test_diff_pane_goes_side_by_side_when_wide():
    from textual.app import App

    class One(App):
        def compose(self):
            yield DiffPane()

    for width, split in ((SPLIT_MIN_WIDTH - 20, False), (SPLIT_MIN_WIDTH + 20, True)):
        app = One()
        async with app.run_test(size=(width, 30)) as pilot:
            pane = app.query_one(DiffPane)
            pane.show(DIFF, "Diff")
            await pilot.pause()
            assert pane._split is split


def test_chart_draws_series_target_and_axes():
    series = [Series("parent", ((0.0, 4.0), (10.0, 3.0)), "grey62"), Series("this", ((0.0, 4.0), (5.0, 3.0)), "yellow")]
    bounds = Bounds.around(series, 3.28)
    text = draw(series, 3.28, bounds, width=40, height=12).plain.splitlines()
    assert text[0].strip().startswith("● parent  ● this  ╌ target 3.28")
    target_rows = [row for row in text if row.startswith(" 3.280")]
    assert len(target_rows) == 1 and "╌" in target_rows[0]
    assert text[-1].rstrip().endswith("10s")
    assert any(ch in "".join(text[1:-1]) for ch in "⠁⠂⠄⡀⢀⠈⠐⠠")  # braille dots plotted
    assert Bounds.around([Series("empty", (), "red")], 3.28) is None


def test_status_line():
    status = Status(task="micro/1", model="scripted:x", mode="copilot", nodes=3, node_budget=20, best_time_s=12.34,
                    fsr=0.25, tokens=12345, cost_usd=0.5, elapsed_s=3725, state="waiting for you")
    line = status_text(status).plain
    assert line == (" micro/1 │ scripted:x │ mode copilot │ node 3/20 │ best 12.3s │ FSR 0.250 │ 12,345 tok $0.50"
                    " │ 1:02:05 │ waiting for you")
    provisional = dataclasses.replace(status, provisional=True)  # another CPU's calibration
    assert "│ FSR 0.250 (prov.) │" in status_text(provisional).plain
