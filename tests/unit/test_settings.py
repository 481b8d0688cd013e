"""Settings are checked when read: a malformed one names the variable and the form it
accepts (before: ONEWINDOW_LOGIN_LIMIT=banana silently turned the login limit off)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.config import SettingsError, load_settings

BAD = {
    "ONEWINDOW_LOGIN_LIMIT": "banana",
    "ONEWINDOW_SUBMIT_LIMIT": "3 per fortnight",
    "ONEWINDOW_SOURCES": "{bad",
    "ONEWINDOW_RECONCILE_AFTER": "soon",
    "ONEWINDOW_DEMO": "yes",
}


@pytest.mark.parametrize("name", list(BAD))
def test_a_malformed_setting_is_refused_naming_it(monkeypatch, name):
    monkeypatch.setenv(name, BAD[name])
    with pytest.raises(SettingsError, match=name):
        load_settings()


@pytest.mark.parametrize("sources", ['[1]', '{"x": 1}', '{"x": {"delay": "2"}}', '{"x": {"colour": 1}}',
                                     '{"x": {"timeout": true}}'])
def test_source_options_are_checked(monkeypatch, sources):
    monkeypatch.setenv("ONEWINDOW_SOURCES", sources)
    with pytest.raises(SettingsError, match="ONEWINDOW_SOURCES"):
        load_settings()


def test_good_settings_are_read(monkeypatch):
    monkeypatch.setenv("ONEWINDOW_SOURCES", '{"property_registry": {"deferred": true, "delay": 2.5}}')
    monkeypatch.setenv("ONEWINDOW_LOGIN_LIMIT", "5/second")
    settings = load_settings()
    assert settings.source_options["property_registry"] == {"deferred": True, "delay": 2.5}
    assert settings.login_limit == "5/second"


@pytest.mark.parametrize("env, says", [
    ({"ONEWINDOW_LOGIN_LIMIT": "banana"}, "Error: ONEWINDOW_LOGIN_LIMIT='banana'"),
    ({"ONEWINDOW_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none"}, "Error: the database cannot be reached"),
])
def test_the_command_says_one_line_and_exits_1(tmp_path, env, says):
    environment = {**os.environ, "ONEWINDOW_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", **env}
    finished = subprocess.run([str(Path(sys.executable).parent / "onewindow"), "db", "upgrade"], env=environment,
                              capture_output=True, text=True, timeout=60)
    assert finished.returncode == 1
    assert finished.stderr.strip().splitlines() == [finished.stderr.strip()] and finished.stderr.startswith(says)
