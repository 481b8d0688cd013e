"""Replay (试运行): a candidate rule set or DMN table against recorded applications, which
decisions would change, and nothing written.

The 1,000-application tests use a database of their own, so their recorded set is exactly
what they built; the API tests use the shared one and only look at their own applications.
"""
from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timezone

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import select

from onewindow.cli import main as cli
from engine.people import users
from engine.definitions.catalogue import deploy_catalogue, read_catalogue
from engine.config import REPO_ROOT, Settings
from engine.store.db import upgrade
from engine.definitions.versions import current_definition
from engine.demo import DEMO_PASSWORD
from engine.store.models import Application
from engine.definitions.replay import CandidateRefused, replay
from engine import caches
from forms.identifiers import make_resident_id
from rules import Fact, evaluate, load_ruleset
from tests.integration.helpers import decision_of, with_silent_source

ELDERLY_RULES = (REPO_ROOT / "rules" / "elderly_subsidy.yaml").read_text(encoding="utf-8")
PENSION_DMN = (REPO_ROOT / "processes" / "resident_pension.dmn").read_text(encoding="utf-8")
RECORDED = 1000
SUBMITTED = datetime(2025, 3, 10, 2, 0, tzinfo=timezone.utc)
ODD_PHONE = "13900000000"


def age_of(i: int) -> int:
    return 70 + i % 40  # 70..109: every band and both sides of 80


def recorded_facts(i: int) -> dict[str, Fact]:
    """Varied facts: some non-local, some deceased, some already receiving, and a registry
    that did not answer for every eleventh, so recorded decisions cover every outcome."""
    read_at = SUBMITTED.isoformat()
    registry = (Fact("household_local", None, "population_registry", read_at, "unavailable") if i % 11 == 0
                else Fact("household_local", i % 7 != 0, "population_registry", read_at))
    return {"age": Fact("age", age_of(i), "form", read_at), "household_local": registry,
            "alive": Fact("alive", i % 13 != 0, "death_records", read_at),
            "already_receiving": Fact("already_receiving", i % 17 == 0, "subsidy_register", read_at)}


def form_of(i: int) -> dict:
    born = date(SUBMITTED.year - age_of(i), 1, 1 + i % 28)
    return {"applicant_name": f"居民{i}", "id_number": make_resident_id("460106", born, f"{i % 999:03d}"),
            "phone": ODD_PHONE if i % 50 == 0 else "13800138000"}


@pytest.fixture(autouse=True)
def cold_caches():
    """Replay as a fresh process runs it (the command line): nothing compiled yet, so the
    definitions' texts must be read while their session is open."""
    caches.reset()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A database of its own with elderly_subsidy deployed and 1,000 applications whose
    decisions were made by the shipped rule set; returns (services, ids by index)."""
    from onewindow.wiring import build_services

    url = f"sqlite:///{tmp_path_factory.mktemp('replay') / 'replay.db'}"
    upgrade(url)
    services = build_services(Settings(database_url=url, redis_url=None))
    ruleset = load_ruleset(ELDERLY_RULES)
    with services.sessions() as session:
        deploy_catalogue(session, set(services.sources), "tests", only="elderly_subsidy")
        applicant = users.create_user(session, "replay_applicant", DEMO_PASSWORD, "applicant", None)
        definition = current_definition(session, "elderly_subsidy")
        rows = [Application(tracking_no=f"R{i:06d}", matter_code="elderly_subsidy", definition_id=definition.id,
                            applicant_id=applicant.id, status="completed", form_data=form_of(i), workflow="",
                            decision=evaluate(ruleset, recorded_facts(i)).to_dict(), created_at=SUBMITTED,
                            updated_at=SUBMITTED, clock_pauses=[]) for i in range(RECORDED)]
        session.add_all(rows)
        session.commit()
        ids = [row.id for row in rows]
    return services, ids


def decisions_digest(services) -> str:
    with services.sessions() as session:
        rows = session.execute(select(Application.id, Application.decision, Application.version)
                               .order_by(Application.id)).all()
    return hashlib.sha256(json.dumps([list(r) for r in rows], sort_keys=True).encode()).hexdigest()


def test_one_changed_threshold_changes_exactly_the_decisions_it_reaches(recorded):
    services, ids = recorded
    before = decisions_digest(services)
    candidate = ELDERLY_RULES.replace("{age: {lt: 80}}", "{age: {lt: 85}}")
    assert candidate != ELDERLY_RULES

    report = replay(services.sessions, "elderly_subsidy", "ruleset", candidate)

    expected = {ids[i] for i in range(RECORDED) if 80 <= age_of(i) <= 84}
    assert report.replayed == RECORDED
    assert len(report.changes) == len(expected) == 125
    assert {change.application_id for change in report.changes} == expected
    change = next(c for c in report.changes if c.application_id == ids[12])  # age 82, local, alive, registry answered
    assert change.old["outcome"] == "approve" and [r["rule"] for r in change.old["reasons"]] == ["band_80_89"]
    assert change.new["outcome"] == "reject"
    assert [r["rule"] for r in change.new["reasons"]] == ["under_80", "band_80_89"]
    assert change.new["values"] == {} and change.old["values"] == {"amount": 100}
    assert any(w["element_id"] == "band_80_89" and "under_80" in w["reason"] for w in report.warnings)
    assert decisions_digest(services) == before


def test_a_changed_amount_alone_changes_the_decisions_it_reaches(recorded):
    """Same outcome, same rules: an 80-89 band paying 120 instead of 100 yuan still changes
    every decision that band approved (local, alive, not yet receiving, registry answered)."""
    services, ids = recorded
    candidate = ELDERLY_RULES.replace("set: {amount: 100}", "set: {amount: 120}")
    assert candidate != ELDERLY_RULES

    report = replay(services.sessions, "elderly_subsidy", "ruleset", candidate)

    expected = {ids[i] for i in range(RECORDED) if 80 <= age_of(i) <= 89
                and i % 11 != 0 and i % 7 != 0 and i % 13 != 0 and i % 17 != 0}
    assert expected and {change.application_id for change in report.changes} == expected
    for change in report.changes:
        assert change.old["outcome"] == change.new["outcome"] == "approve"
        assert [r["rule"] for r in change.old["reasons"]] == [r["rule"] for r in change.new["reasons"]] == ["band_80_89"]
        assert (change.old["values"], change.new["values"]) == ({"amount": 100}, {"amount": 120})


def test_the_shipped_rule_set_changes_nothing(recorded):
    services, _ = recorded
    report = replay(services.sessions, "elderly_subsidy", "ruleset", ELDERLY_RULES)
    assert (report.replayed, report.changes) == (RECORDED, [])


def test_a_form_fact_that_was_not_recorded_is_derived_from_the_form(recorded):
    services, ids = recorded
    candidate = ELDERLY_RULES.replace("facts:\n", "facts:\n  phone: {type: string, label: 电话, source: form}\n") + (
        "  - id: odd_phone\n    when: {phone: {eq: '" + ODD_PHONE + "'}}\n    outcome: reject\n    message: 号码停用\n")
    report = replay(services.sessions, "elderly_subsidy", "ruleset", candidate)
    changed = {c.application_id for c in report.changes}
    assert changed == {ids[i] for i in range(0, RECORDED, 50)}
    assert all(c.new["outcome"] == "reject" and "odd_phone" in [r["rule"] for r in c.new["reasons"]]
               for c in report.changes)


def test_a_form_fact_read_differently_is_derived_as_of_the_day_of_submission(recorded):
    """``age`` with another expression is not the recorded age; re-derived on the day the
    application was submitted (2025), not today, so nobody ages during a replay."""
    services, _ = recorded
    candidate = ELDERLY_RULES.replace('expr: "age_from_id(id_number)"', 'expr: "age_from_id(id_number) + 0"')
    assert replay(services.sessions, "elderly_subsidy", "ruleset", candidate).changes == []


def test_a_source_fact_that_was_not_recorded_is_unavailable_so_manual(recorded):
    services, ids = recorded
    candidate = ELDERLY_RULES.replace("facts:\n", "facts:\n  seized: {type: boolean, label: 查封, source: "
                                                  "property_registry, key: id_number, field: seized}\n") + (
        "  - id: seized\n    when: {seized: {eq: true}}\n    outcome: reject\n    message: 查封\n")
    report = replay(services.sessions, "elderly_subsidy", "ruleset", candidate)
    assert len(report.changes) == RECORDED  # every decision gains the reason
    approved = next(c for c in report.changes if c.application_id == ids[12])
    assert (approved.old["outcome"], approved.new["outcome"]) == ("approve", "manual")
    missing = approved.new["reasons"][-1]
    assert missing["rule"] == "missing:seized" and "unavailable" in missing["message"]


def test_a_candidate_with_a_typo_is_refused_naming_the_rule(recorded):
    services, _ = recorded
    with pytest.raises(CandidateRefused) as refused:
        replay(services.sessions, "elderly_subsidy", "ruleset", ELDERLY_RULES.replace("{age: {lt: 80}}", "{agee: {lt: 80}}"))
    assert [(p.element, p.reason) for p in refused.value.problems] == [("under_80", "unknown fact 'agee'")]


def test_the_command_line_replays_a_file_with_a_progress_bar(recorded, tmp_path, monkeypatch):
    services, ids = recorded
    import onewindow.wiring

    monkeypatch.setattr(onewindow.wiring, "process_services", lambda: services)
    candidate = tmp_path / "elderly_subsidy.yaml"
    candidate.write_text(ELDERLY_RULES.replace("{age: {lt: 80}}", "{age: {lt: 81}}"), encoding="utf-8")
    result = CliRunner().invoke(cli, ["rules", "replay", "elderly_subsidy", str(candidate)])
    assert result.exit_code == 0, result.output
    assert f"25 of {RECORDED} decision(s) would change" in result.stdout
    assert "R000010" in result.stdout and "approve [band_80_89] -> reject [under_80, band_80_89]" in result.stdout
    assert "replaying" in result.stderr


# --- through the API, on the shared database ---------------------------------------------

def pension(api, user: str, id_number: str, years: int) -> dict:
    """Apply for ``id_number`` (the name is filled from the population registry)."""
    return api.post("/api/applications", user, json={"matter": "resident_pension", "data": {
        "id_number": id_number, "phone": "13800138000", "contribution_years": years}}).get_json()


def test_a_dmn_candidate_is_replayed_through_the_api(api, services, resident, applicant_for, new_user):
    analyst = new_user("analyst")
    people = [resident(66), resident(67), resident(66)]
    applicant = applicant_for(people[0])
    twelve_years = pension(api, applicant, people[0], 12)
    twenty_years = pension(api, applicant_for(people[1]), people[1], 20)
    no_registry = with_silent_source(services, "population_registry")  # 户籍 cannot be verified
    unverifiable = pension(no_registry, applicant_for(people[2]), people[2], 12)
    assert [decision_of(api, a["id"])["outcome"] for a in (twelve_years, twenty_years, unverifiable)] == [
        "reject", "approve", "reject"]
    before = decision_of(api, twelve_years["id"])

    ten_years = PENSION_DMN.replace("&lt; 15", "&lt; 10").replace("&gt;= 15", "&gt;= 10")
    reply = api.post("/api/definitions/resident_pension/replay", analyst, json={"dmn": ten_years})

    assert reply.status_code == 200, reply.get_json()
    body = reply.get_json()
    changes = {c["application_id"]: c for c in body["changes"]}
    assert body["changed"] == len(body["changes"]) and body["replayed"] >= 3
    assert twenty_years["id"] not in changes
    assert (changes[twelve_years["id"]]["old"]["outcome"], changes[twelve_years["id"]]["new"]["outcome"]) == (
        "reject", "approve")
    unverified = changes[unverifiable["id"]]["new"]  # no longer short of years: only the registry is in doubt
    assert (unverified["outcome"], [r["rule"] for r in unverified["reasons"]]) == ("manual", ["missing:household_local"])
    assert decision_of(api, twelve_years["id"]) == before


def test_a_bad_candidate_is_a_400_naming_the_rule_and_the_body_needs_one_candidate(api, resident, applicant_for,
                                                                                      new_user):
    analyst = new_user("analyst")
    typo = PENSION_DMN.replace("<text>contribution_years</text>", "<text>contribution_yeers</text>")
    reply = api.post("/api/definitions/resident_pension/replay", analyst, json={"dmn": typo})
    assert reply.status_code == 400
    assert "contribution_yeers" in reply.get_json()["problems"][0]["reason"]
    unsafe = PENSION_DMN.replace("<text>&gt;= 15</text>", "<text>&gt;= ().__class__.__base__</text>")
    reply = api.post("/api/definitions/resident_pension/replay", analyst, json={"dmn": unsafe})
    assert reply.status_code == 400 and reply.get_json()["problems"][0]["element_id"] == "pension_eligibility"
    failing = PENSION_DMN.replace("<text>&gt;= 15</text>", '<text>&gt;= "fifteen"</text>')
    id_number = resident(68)
    pension(api, applicant_for(id_number), id_number, 20)  # a recorded application whose facts reach that entry
    reply = api.post("/api/definitions/resident_pension/replay", analyst, json={"dmn": failing})
    assert reply.status_code == 400 and "TypeError" in reply.get_json()["problems"][0]["reason"]
    huge = api.post("/api/definitions/resident_pension/replay", analyst, json={"ruleset": "#" * 200_001})
    assert huge.status_code == 400 and "larger than" in huge.get_json()["problems"][0]["reason"]
    both = api.post("/api/definitions/resident_pension/replay", analyst, json={"dmn": PENSION_DMN, "ruleset": "x"})
    assert both.status_code == 422
    unknown = api.post("/api/definitions/no_such_matter/replay", analyst, json={"ruleset": ELDERLY_RULES})
    assert unknown.status_code == 404


def test_deploy_returns_overlap_warnings_with_the_rule_id(api, services, new_user):
    with services.sessions() as session:
        latest = current_definition(session, "elderly_subsidy")
        body = {"matter": "elderly_subsidy", "bpmn": latest.bpmn, "form": latest.form,
                "ruleset": latest.ruleset.replace("{age: {lt: 80}}", "{age: {lt: 85}}")}
    reply = api.post("/api/definitions", new_user("analyst"), json=body)
    assert reply.status_code == 201, reply.get_json()
    warnings = reply.get_json()["warnings"]
    assert [(w["element_id"], w["file"]) for w in warnings] == [("band_80_89", "ruleset.yaml")]
    assert "under_80" in warnings[0]["reason"] and "reject wins" in warnings[0]["reason"]
    restore = api.post("/api/definitions", new_user("analyst"), json={**body, "ruleset": latest.ruleset})
    assert restore.status_code == 201 and restore.get_json()["warnings"] == []


def test_the_deploy_command_prints_lint_warnings(recorded, tmp_path, monkeypatch):
    """`onewindow deploy` shows what lint accepts but an analyst should look at, as the API does."""
    services, _ = recorded
    import onewindow.wiring

    monkeypatch.setattr(onewindow.wiring, "process_services", lambda: services)
    for folder in ("processes", "rules", "forms"):
        (tmp_path / folder).mkdir()
    entry = next(e for e in read_catalogue() if e["code"] == "elderly_subsidy")
    (tmp_path / "processes" / "catalogue.yaml").write_text(yaml.safe_dump({"matters": [
        {**{k: v for k, v in entry.items() if k != "proactive"}, "code": "elderly_lint_probe",
         "rules": "probe.yaml"}]}, allow_unicode=True), encoding="utf-8")
    (tmp_path / "processes" / entry["bpmn"]).write_text(
        (REPO_ROOT / "processes" / entry["bpmn"]).read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "forms" / entry["form"]).write_text(
        (REPO_ROOT / "forms" / entry["form"]).read_text(encoding="utf-8"), encoding="utf-8")
    overlapping = ELDERLY_RULES.replace("matter: elderly_subsidy", "matter: elderly_lint_probe") + """
  - id: young_but_approved
    when: {age: {lt: 85}}
    outcome: approve
    message: 重叠的规则
"""
    (tmp_path / "rules" / "probe.yaml").write_text(overlapping, encoding="utf-8")
    result = CliRunner().invoke(cli, ["deploy", str(tmp_path / "processes" / "catalogue.yaml")])
    assert result.exit_code == 0, result.output
    assert "elderly_lint_probe v1 deployed" in result.stdout
    assert "warning: rule young_but_approved: overlaps rule under_80 on age" in result.stderr
