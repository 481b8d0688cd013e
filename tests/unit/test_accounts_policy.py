"""The account rules that need no database: the password policy, roles and the catalogue's
departments, and when demo users (with the published password) may exist."""
from __future__ import annotations

import pytest

from engine.people.accounts import MIN_PASSWORD_LENGTH, check_password, check_role
from engine.definitions.catalogue import read_catalogue
from engine.people.organisation import read_departments
from engine.config import Settings, load_settings
from engine.demo import DEMO_USERS
from engine.errors import InvalidInput
from engine.people.users import DEMO_PASSWORD

PG = "postgresql://postgres@127.0.0.1:5432/x"


@pytest.mark.parametrize("password", ["x" * (MIN_PASSWORD_LENGTH - 1), DEMO_PASSWORD, "y" * 257])
def test_the_password_policy_refuses(password):
    with pytest.raises(InvalidInput) as refused:
        check_password(password)
    assert "password" in refused.value.errors


def test_the_password_policy_accepts_a_long_enough_one():
    check_password("z" * MIN_PASSWORD_LENGTH)


@pytest.mark.parametrize(("role", "department", "field"), [
    ("clerk", None, "department"), ("clerk", "tax_bureau", "department"), ("admin", "housing", "department"),
    ("mayor", None, "role")])
def test_roles_and_departments_are_checked(role, department, field):
    with pytest.raises(InvalidInput) as refused:
        check_role(role, department)
    assert field in refused.value.errors


def test_every_department_in_use_is_one_of_the_catalogues():
    departments = read_departments()
    used = {entry["department"] for entry in read_catalogue()}
    used |= {department for _, role, department, _ in DEMO_USERS if role == "clerk"}
    assert used <= departments.keys(), used - departments.keys()
    for department in used:
        check_role("clerk", department)


@pytest.mark.parametrize(("settings", "demo_data"), [
    (Settings(database_url="sqlite:///x.db", redis_url=None), True),   # the embedded default
    (Settings(database_url=PG, redis_url=None), False),
    (Settings(database_url=PG, redis_url=None, demo=True), True),
    (Settings(database_url="sqlite:///x.db", redis_url=None, demo=False), False)])
def test_demo_data_is_the_embedded_default_or_asked_for(settings, demo_data):
    assert settings.demo_data is demo_data


@pytest.mark.parametrize(("value", "demo"), [("1", True), ("0", False), ("", None)])
def test_onewindow_demo_is_read(monkeypatch, value, demo):
    monkeypatch.setenv("ONEWINDOW_DEMO", value)
    assert load_settings().demo is demo
