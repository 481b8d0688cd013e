"""A matter's version history through the API: a version's files, the diff of two, roll-back
as a new version, a rules-only deploy, and a deploy from an outdated base refused."""
from __future__ import annotations

import itertools

import pytest

from engine.definitions.catalogue import read_catalogue, upload_for, upsert_matter

ELDERLY = next(e for e in read_catalogue() if e["code"] == "elderly_subsidy")
_unique = itertools.count(1)


@pytest.fixture
def matter(services, api, new_user):
    """A fresh copy of 高龄补贴 under its own code, deployed once: (code, analyst, files)."""
    code = f"history_{next(_unique)}_{id(services) % 1000}"
    with services.sessions() as session:
        upsert_matter(session, {**ELDERLY, "code": code, "name": f"版本测试{code}"})
        session.commit()
    files = upload_for(ELDERLY)
    body = {"matter": code, "bpmn": files.bpmn, "form": files.form,
            "ruleset": files.ruleset.replace("matter: elderly_subsidy", f"matter: {code}")}
    analyst = new_user("analyst")
    assert api.post("/api/definitions", analyst, json=body).status_code == 201
    return code, analyst, body


def test_a_rules_only_change_keeps_the_other_files_and_shows_in_the_diff(api, matter):
    code, analyst, body = matter
    stricter = body["ruleset"].replace("{age: {lt: 80}}", "{age: {lt: 85}}")
    deployed = api.post("/api/definitions", analyst, json={"matter": code, "ruleset": stricter})
    assert deployed.status_code == 201 and deployed.get_json()["version"] == 2
    v2 = api.get(f"/api/definitions/{code}/versions/2", analyst).get_json()
    assert (v2["bpmn"], v2["form"], v2["ruleset"]) == (body["bpmn"], body["form"], stricter)
    assert api.get(f"/api/definitions/{code}/current", analyst).get_json()["version"] == 2
    diff = api.get(f"/api/definitions/{code}/diff?from=1&to=2", analyst).get_json()
    assert [c["id"] for c in diff["rules"]["changed"]] == ["rule:under_80"]
    assert diff["bpmn"] == diff["form"] == diff["policy"] == {"added": [], "removed": [], "changed": []}


def test_the_diff_ignores_layout_and_namespace_declarations_but_not_a_label(api, matter):
    code, analyst, body = matter
    moved = body["bpmn"].replace('xmlns:bpmndi=', 'xmlns:zz="urn:x" xmlns:bpmndi=', 1)
    moved = moved.replace('<dc:Bounds x="', '<dc:Bounds x="1', 1).replace('name="核定补贴"', 'name="核定补贴（新）"')
    assert api.post("/api/definitions", analyst, json={**body, "bpmn": moved}).status_code == 201
    diff = api.get(f"/api/definitions/{code}/diff?from=1&to=2", analyst).get_json()
    assert [(c["id"], c["label"]) for c in diff["bpmn"]["changed"]] == [("Task_grant", "scriptTask 核定补贴（新）")]


def test_a_roll_back_deploys_the_old_files_as_the_newest_version(api, matter, new_user):
    code, analyst, body = matter
    assert api.post("/api/definitions", analyst, json={
        "matter": code, "ruleset": body["ruleset"].replace("{age: {lt: 80}}", "{age: {lt: 85}}")}).status_code == 201
    rolled = api.post(f"/api/definitions/{code}/rollback", analyst, json={"version": 1})
    assert rolled.status_code == 201 and rolled.get_json()["version"] == 3
    versions = {v: api.get(f"/api/definitions/{code}/versions/{v}", analyst).get_json() for v in (1, 3)}
    assert versions[3]["checksum"] == versions[1]["checksum"] and versions[3]["ruleset"] == body["ruleset"]
    again = api.post(f"/api/definitions/{code}/rollback", analyst, json={"version": 3})
    assert again.status_code == 200 and again.get_json()["created"] is False
    assert api.post(f"/api/definitions/{code}/rollback", analyst, json={"version": 99}).status_code == 404
    assert api.post(f"/api/definitions/{code}/rollback", new_user("clerk", "civil_affairs"),
                    json={"version": 1}).status_code == 403


def test_files_edited_from_an_older_version_are_refused_not_deployed_over_a_newer_one(api, matter):
    code, analyst, body = matter
    first = api.post("/api/definitions", analyst, json={
        "matter": code, "base_version": 1, "ruleset": body["ruleset"].replace("lt: 80}", "lt: 81}", 1)})
    assert first.status_code == 201 and first.get_json()["version"] == 2
    second = api.post("/api/definitions", analyst, json={
        "matter": code, "base_version": 1, "bpmn": body["bpmn"].replace('name="核定补贴"', 'name="核定"')})
    assert second.status_code == 409
    assert "v2" in second.get_json()["detail"]
    assert api.get(f"/api/definitions/{code}/current", analyst).get_json()["version"] == 2


def test_a_version_that_does_not_exist_is_404_not_an_error(api, matter):
    code, analyst, _ = matter
    assert api.get(f"/api/definitions/{code}/versions/2147483647", analyst).status_code == 404
    assert api.get(f"/api/definitions/{code}/versions/0", analyst).status_code == 404
    assert api.get(f"/api/definitions/{code}/diff?from=1&to=9", analyst).status_code == 404
    assert api.get("/api/definitions/no_such_matter/current", analyst).status_code == 404
