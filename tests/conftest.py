"""Shared fixtures. Every test gets its own SPEEDRUN_TUI_HOME, so nothing touches the user's data."""

import pytest

from speedrun_tui.interrupts import restore_ctrl_c


def pytest_configure(config):
    # Sessions run in-process here, and their local Slurm jobs are cancelled with SIGINT: a suite
    # started in the background (`nohup pytest &`) must not hand them SIGINT ignored.
    restore_ctrl_c()


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("SPEEDRUN_TUI_HOME", str(home))
    return home
