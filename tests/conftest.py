"""Shared fixtures. Every test gets its own SPEEDRUN_TUI_HOME, so nothing touches the user's data."""

import pytest


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("SPEEDRUN_TUI_HOME", str(home))
    return home
