"""`speedrun-tui report`: the static HTML report of real sessions (scripted model, the fake trainer),
opened in a real headless browser (Debian's chromium, which .ci/run installs)."""

import html
import json
import re
import shutil
import subprocess
import sys

import pytest

from agent_helpers import crash, run_session, speedup
from sessions import paper
from sessions.figures import estimates_figure
from sessions.htmlreport import read_session
from sessions.scoring import summarize
from sessions.store import Store
from speedrun_tui.cli import main

CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")
CHART = 'class="plotly-graph-div'


@pytest.fixture(scope="module")
def sessions(tmp_path_factory):
    """Two real sessions in one database: a flat search with a crash (a sweep's cell) and a verified tree."""
    root = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SPEEDRUN_TUI_HOME", str(root / "home"))
        _, flat, _ = run_session(root, [speedup(0.5), crash(), speedup(0.8)], max_nodes=3, hints="text",
                                 sweep="grid")
        _, tree, _ = run_session(root, [speedup(0.9), speedup(0.7)], max_nodes=2, scaffold="tree", verify_repeats=2)
    return root / "sessions.db", flat, tree


def report(capsys, db, out, *args) -> str:
    assert main(["report", "--db", str(db), "--out", str(out), *args]) == 0
    return capsys.readouterr().out


def open_in_chromium(page, profile) -> tuple[str, list[str]]:
    """The page's DOM once its scripts have run, and every message it logged to the console."""
    done = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                           f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
                           "--virtual-time-budget=10000", "--dump-dom", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, [line for line in done.stderr.splitlines() if re.search(r":CONSOLE[:(]", line)]


def drawn_charts(dom: str) -> list[bool]:
    """Per Plotly chart of the page, whether it was drawn: plotted, with its SVG and at least one trace."""
    starts = [m.start() for m in re.finditer(CHART, dom)] + [len(dom)]
    return [dom[a:b].startswith(CHART + ' js-plotly-plot"') and 'class="main-svg"' in dom[a:b]
            and re.search(r'<g class="trace[ "]', dom[a:b]) is not None for a, b in zip(starts, starts[1:])]


@needs_chromium
def test_every_page_of_the_report_draws_every_chart_without_a_console_message(sessions, tmp_path, capsys):
    db, flat, tree = sessions
    out = tmp_path / "report"
    assert report(capsys, db, out).strip() == f"wrote the report of 2 sessions to {out / 'index.html'}"
    pages = [out / "index.html", out / "sessions" / f"{flat.session}.html", out / "sessions" / f"{tree.session}.html"]
    # Charts: FSR by hints, scaffold and model, node outcomes, FSR over time; a session's tree and one
    # loss curve per node that ran.
    expected = [5, 1 + 3, 1 + 3]  # the crash printed no validation line
    doms = []
    for page, charts in zip(pages, expected):
        source = page.read_text()
        assert source.count(CHART) == charts and "://" not in source  # nothing from the network
        dom, console = open_in_chromium(page, tmp_path / "profile")
        assert console == [], f"{page.name} logged: {console}"
        assert drawn_charts(dom) == [True] * charts, page.name
        doms.append(dom)
    index_dom = doms[0]
    assert f"mean, the paper's ({paper.SOURCE})" in index_dom and "pseudo+text (L1+L2)" in index_dom
    assert all(f'href="sessions/{s.session}.html"' in index_dom for s in (flat, tree))
    crashed = pages[1].read_text()
    assert "#2 draft, from #0: buggy" in crashed and html.escape('+raise RuntimeError("boom")') in crashed
    verified = pages[2].read_text()
    assert "Verified FSR 0.740 [0.740, 0.740] over 2 paired rounds, improved" in verified


@needs_chromium
def test_the_browser_check_sees_a_chart_that_failed_and_its_error(tmp_path):
    """The check above can fail: a page whose chart script throws is caught on both counts."""
    page = tmp_path / "broken.html"
    page.write_text(f'<html><body><div id="c" {CHART}"></div><script>Plotly.newPlot("c", []);</script></body></html>')
    dom, console = open_in_chromium(page, tmp_path / "profile")
    assert drawn_charts(dom) == [False]
    assert len(console) == 1 and "Plotly is not defined" in console[0]


def test_the_report_and_compare_give_the_same_numbers_beside_the_papers(sessions, capsys):
    db, flat, tree = sessions
    assert main(["compare", "--by", "hints", "--json", "--db", str(db)]) == 0
    compared = {g["hints"]: g for g in json.loads(capsys.readouterr().out)["groups"]}
    with Store(db, readonly=True) as store:
        scores = [read_session(store, s.session).score for s in (flat, tree)]
    figure = estimates_figure(summarize(scores, by=("hints",)), "hints")
    mean, iqm, published = figure.data
    x = list(mean.x)
    assert x == ["none", "pseudo (L1)", "text (L2)", "paper (L3)", "pseudo+text (L1+L2)", "all (L1+L2+L3)"]
    for hints, group in compared.items():
        at = x.index(paper.label("hints", hints))
        assert (mean.y[at], iqm.y[at]) == (group["mean"]["value"], group["iqm"]["value"])
        assert mean.y[at] - mean.error_y.arrayminus[at] == pytest.approx(group["mean"]["low"])
    assert list(published.y) == [0.124, 0.247, 0.142, 0.158, 0.255, 0.301]
    assert published.name == f"mean, the paper's ({paper.SOURCE})"
    assert len(estimates_figure(summarize(scores, by=("hints",)), "hints", with_paper=False).data) == 2


def test_a_sweeps_report_holds_its_sessions_only(sessions, tmp_path, capsys):
    db, flat, tree = sessions
    out = tmp_path / "grid"
    assert "report of 1 sessions" in report(capsys, db, out, "--sweep", "grid")
    assert [p.stem for p in (out / "sessions").iterdir()] == [flat.session]
    assert "speedrun-tui report: sweep grid" in (out / "index.html").read_text()


@pytest.mark.parametrize("args, error", [
    (["--sweep", "nope"], "no sweep 'nope'"),
    (["--sweep", "grid", "SESSION"], "not both"),
    (["zzzz"], "no session 'zzzz'"),
])
def test_bad_report_inputs_are_one_line_errors(sessions, tmp_path, capsys, args, error):
    db, _, _ = sessions
    assert main(["report", "--db", str(db), "--out", str(tmp_path / "r"), *args]) != 0
    err = capsys.readouterr().err
    assert error in err and err.count("\n") == 1
    assert not (tmp_path / "r").exists()


def test_an_unwritable_folder_or_an_empty_database_is_a_one_line_error(sessions, tmp_path, capsys):
    db, flat, _ = sessions
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["report", flat.session, "--db", str(db), "--out", str(blocker)]) != 0
    assert "cannot write the report to" in capsys.readouterr().err
    with Store(tmp_path / "empty.db"):
        pass
    assert main(["report", "--db", str(tmp_path / "empty.db"), "--out", str(tmp_path / "r")]) != 0
    assert "no sessions to report" in capsys.readouterr().err


def test_the_tui_and_help_load_neither_scipy_nor_plotly():
    code = ("import sys, tui.app, tui.screens.scores; from speedrun_tui.cli import build_parser; "
            "build_parser().format_help(); print(sorted(m for m in ('numpy', 'scipy', 'plotly') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
