"""Who serves where, as ``processes/catalogue.yaml`` lists it: departments (部门), service
outlets (代办点) and regions (行政区划).

A leaf module (it imports nothing of the engine but its settings and errors): accounts, assignment and
regions check names against these lists, and the catalogue deploys policies that use them.
"""
from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import yaml

from engine.config import CATALOGUE_FILE
from engine.errors import InvalidInput


def _section(name: str, path: Path) -> dict[str, str]:
    listed = _sections(path, path.stat().st_mtime_ns).get(name) or {}
    return {str(code): text for code, text in listed.items()}


@lru_cache(maxsize=8)
def _sections(path: Path, modified_ns: int) -> dict:
    """The catalogue file's lists, parsed once per version of the file (by its modification
    time): parsing the whole catalogue took ~150 ms, and every deploy (and every matter's
    upsert) read it — a catalogue of 23 matters spent ~7 s of its deploy in it."""
    return {name: value for name, value in yaml.safe_load(path.read_text(encoding="utf-8")).items()
            if name != "matters"}


def read_departments(path: Path = CATALOGUE_FILE) -> dict[str, str]:
    """The departments with a window or a task queue: code -> name."""
    return _section("departments", path)


def department_name(code: str) -> str:
    """A department as a person reads it: the catalogue's name (the code if it lists none)."""
    return read_departments().get(code, code)


def department_names(codes: Iterable[str]) -> dict[str, str]:
    """Each department's name, by code (the code where the catalogue lists none)."""
    known = read_departments()
    return {code: known.get(code, code) for code in codes}


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
