"""Every BPMN, rule and form file the product ships is named by the catalogue (and so
deployed by the test fixtures and run by the integration tests), and each one loads."""
from __future__ import annotations

from engine.definitions.bpmn import parse_process
from engine.definitions.catalogue import read_catalogue
from engine.config import REPO_ROOT
from engine.operations import check_service_tasks
from engine.definitions.task_forms import check_task_forms
from engine.sandbox import check_specs
from forms import load_form_file
from rules import load_ruleset_file


def test_every_shipped_file_is_in_the_catalogue():
    entries = read_catalogue()
    named = {("processes", e["bpmn"]) for e in entries} | {("rules", e["rules"]) for e in entries if "rules" in e} \
        | {("forms", e["form"]) for e in entries} | {("processes", d) for e in entries for d in e.get("dmn", [])}
    shipped = {(folder, path.name) for folder, pattern in (("processes", "*.bpmn"), ("processes", "*.dmn"),
                                                           ("rules", "*.yaml"), ("forms", "*.form.json"))
               for path in (REPO_ROOT / folder).glob(pattern)}
    assert shipped == named


def test_every_catalogue_entry_loads_and_passes_the_sandbox():
    national_codes = {entry["code"]: entry["national_code"] for entry in read_catalogue()}
    for entry in read_catalogue():
        bpmn = (REPO_ROOT / "processes" / entry["bpmn"]).read_text(encoding="utf-8")
        dmn = [(REPO_ROOT / "processes" / name).read_text(encoding="utf-8") for name in entry.get("dmn", [])]
        parsed = parse_process(bpmn, entry["bpmn"], dmn, process_id=entry["code"])
        # a matter's own process carries its code; a shared one (the comprehensive window) its file's name
        assert parsed.process_id in (entry["code"], entry["bpmn"].removesuffix(".bpmn"))
        specs = [parsed.spec, *parsed.subprocess_specs.values()]
        assert check_specs(specs, entry["bpmn"]) == []
        assert check_task_forms(specs, entry["bpmn"]) + check_service_tasks(specs, entry["bpmn"], None) == []
        if "bundle" in entry:  # 一件事: its members' rule sets decide (engine/bundles/)
            assert "rules" not in entry and load_form_file(REPO_ROOT / "forms" / entry["form"]).components
            continue
        # a local variant (四级四同: the same national code) shares its matter's rule set
        owner = load_ruleset_file(REPO_ROOT / "rules" / entry["rules"]).matter
        assert owner == entry["code"] or national_codes[owner] == entry["national_code"], entry["code"]
        assert load_form_file(REPO_ROOT / "forms" / entry["form"]).components
