"""Who serves where, as ``processes/catalogue.yaml`` lists it: departments (部门), service
outlets (代办点) and regions (行政区划).

A leaf module (it imports nothing of the engine but its settings and errors): accounts, assignment and
regions check names against these lists, and the catalogue deploys policies that use them.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from engine.config import CATALOGUE_FILE
from engine.errors import InvalidInput


def _section(name: str, path: Path) -> dict[str, str]:
    listed = yaml.safe_load(path.read_text(encoding="utf-8")).get(name) or {}
    return {str(code): text for code, text in listed.items()}


def read_departments(path: Path = CATALOGUE_FILE) -> dict[str, str]:
    """The departments with a window or a task queue: code -> name."""
    return _section("departments", path)


def read_outlets(path: Path = CATALOGUE_FILE) -> dict[str, str]:
    """The service outlets (代办点) whose staff have the agent role: code -> name."""
    return _section("outlets", path)


def read_regions(path: Path = CATALOGUE_FILE) -> dict[str, str]:
    """The regions the platform serves (engine/people/regions.py): code -> name."""
    return _section("regions", path)


def check_region(region: str) -> None:
    """One of the catalogue's regions, else InvalidInput naming them."""
    known = read_regions()
    if region not in known:
        raise InvalidInput(f"unknown region {region!r}", {"region": [
            "one of " + ", ".join(f"{code} ({name})" for code, name in known.items())]})
