"""场景式服务 guides and 免申即享 no-application benefits, through the API and the job."""
from __future__ import annotations

import itertools
import threading
from dataclasses import replace
from datetime import date, datetime

from sqlalchemy import delete, select

from engine.definitions.catalogue import upsert_matter
from engine.policy import proactive
from engine.store.models import Application, Event, User
from engine.store.registries import RegistryPerson, SubsidyRecipient
from forms.identifiers import make_resident_id
from tests.integration.helpers import BEIJING, MovableClock

_people = itertools.count(1)


def test_the_situation_answers_decide_the_materials(api):
    reply = api.post("/api/matters/hygiene_licence/materials", None, json={
        "answers": {"central_ac": "yes", "new_venue": "no", "commitment": "yes"}})
    assert reply.status_code == 200, reply.get_json()
    names = [m["name"] for m in reply.get_json()["materials"]]
    assert "集中空调通风系统卫生检测或评价报告" in names and "告知承诺书" in names
    assert "场所平面布局图" not in names
    other = api.post("/api/matters/hygiene_licence/materials", None, json={
        "answers": {"central_ac": "no", "new_venue": "yes", "commitment": "no"}}).get_json()
    assert [m["name"] for m in other["materials"]] == ["营业执照", "公共场所卫生许可申请表", "卫生检测或评价报告",
                                                        "场所平面布局图"]
    assert other["conditions"] == ["从业人员持有效健康合格证明", "经营场所经卫生检测或评价合格"]


def test_unanswered_or_unknown_situation_questions_are_named(api):
    reply = api.post("/api/matters/hygiene_licence/materials", None, json={
        "answers": {"central_ac": "maybe", "pets": "yes"}})
    assert reply.status_code == 422
    assert set(reply.get_json()["errors"]) == {"central_ac", "new_venue", "commitment", "pets"}
    assert api.post("/api/matters/no_such_matter/materials", None, json={"answers": {}}).status_code == 404


def test_a_matter_without_questions_lists_all_its_materials(api):
    body = api.post("/api/matters/elderly_subsidy/materials", None, json={}).get_json()
    assert [m["name"] for m in body["materials"]] == ["居民身份证", "户口簿"]


def _resident_born(services, born: date, phone: str | None = "13900139000", local: bool = True) -> str:
    n = next(_people)
    id_number = make_resident_id("460107", born, f"{(n * 7) % 999 + 1:03d}")
    with services.sessions() as session:
        session.merge(RegistryPerson(id_number=id_number, name=f"长者{n}", household_local=local,
                                     household_region="460100" if local else "110100", phone=phone))
        session.commit()
    return id_number


def _proactive_applications(services, id_number: str) -> list[Application]:
    with services.sessions() as session:
        return list(session.scalars(select(Application).where(
            Application.proactive.is_(True), Application.idempotency_key == f"proactive:elderly_subsidy:{id_number}")))


def test_passing_the_80th_birthday_starts_exactly_one_proactive_application(services, people):
    clock = MovableClock(datetime(2026, 10, 14, 10, 0, tzinfo=BEIJING))
    timed = replace(services, clock=clock)
    birthday = _resident_born(services, date(1946, 10, 20))       # 80 on 20 Oct 2026
    nonlocal_ = _resident_born(services, date(1946, 10, 5), local=False)
    no_phone = _resident_born(services, date(1946, 10, 6), phone=None)

    first = proactive.scan(timed, "elderly_subsidy")             # 14 Oct: still 79
    assert _proactive_applications(services, birthday) == []
    assert no_phone in first.incomplete  # no phone in the registry: the form cannot be filled

    clock.set(2026, 10, 21, 9, 0)                                # the day after the birthday
    second = proactive.scan(timed, "elderly_subsidy")
    started = _proactive_applications(services, birthday)
    assert len(started) == 1 and started[0].id in second.started
    assert (started[0].status, started[0].outcome) == ("completed", "approve")
    assert started[0].decision["outcome"] == "approve"           # decided by the same rule set
    assert _proactive_applications(services, nonlocal_) == []      # the rules say not local: not started
    with services.sessions() as session:
        notices = session.scalars(select(Event).where(Event.application_id == started[0].id,
                                                      Event.kind == "notification.queued")).all()
    assert len(notices) == 1 and notices[0].data["phone"] == "13900139000"

    third = proactive.scan(timed, "elderly_subsidy")              # the job runs again: nobody twice
    assert started[0].id not in third.started
    assert len(_proactive_applications(services, birthday)) == 1


def _registry_update(services, id_number: str, **columns) -> None:
    with services.sessions() as session:
        person = session.get(RegistryPerson, id_number)
        for column, value in columns.items():
            setattr(person, column, value)
        session.commit()


def _leave_the_subsidy_register(services, id_number: str) -> None:
    """The subsidy register (a data-sharing source) no longer lists the person, so the
    rules find them eligible again: only the Idempotency-Key stands between them and a
    second application."""
    with services.sessions() as session:
        session.execute(delete(SubsidyRecipient).where(SubsidyRecipient.id_number == id_number))
        session.commit()


def _notifications(services, application_id: int) -> int:
    with services.sessions() as session:
        return len(session.scalars(select(Event).where(Event.application_id == application_id,
                                                       Event.kind == "notification.queued")).all())


def test_a_rescan_starts_whoever_became_eligible_and_nobody_twice(services, people):
    """The job scans the whole last month every run, so it meets the same people again.
    Of two started at the first scan whom the rules find eligible again, the one whose
    registry phone changed since (the Idempotency-Key no longer fits the form) and the one
    whose data is the same each keep their one application and one notification; the scan
    goes on past them and starts one who was not local at the first scan and is now."""
    clock = MovableClock(datetime(2018, 6, 25, 10, 0, tzinfo=BEIJING))  # a window no other test uses
    timed = replace(services, clock=clock)
    new_phone = _resident_born(services, date(1938, 6, 10))              # 80 on 10 Jun 2018
    same_data = _resident_born(services, date(1938, 6, 12))
    moved_here = _resident_born(services, date(1938, 6, 20), local=False)

    first = proactive.scan(timed, "elderly_subsidy")
    before = {who: _proactive_applications(services, who) for who in (new_phone, same_data)}
    assert all(len(started) == 1 and started[0].id in first.started for started in before.values())
    assert _proactive_applications(services, moved_here) == []

    _registry_update(services, new_phone, phone="13700137000")
    _registry_update(services, moved_here, household_local=True, household_region="460100")
    for who in (new_phone, same_data):
        _leave_the_subsidy_register(services, who)
    clock.set(2018, 7, 5, 9, 0)                                         # all still within the month looked back on
    second = proactive.scan(timed, "elderly_subsidy")
    for who, started in before.items():
        assert [a.id for a in _proactive_applications(services, who)] == [started[0].id]
        assert _notifications(services, started[0].id) == 1
    now_local = _proactive_applications(services, moved_here)
    assert len(now_local) == 1 and second.started == [now_local[0].id]
    assert (now_local[0].status, now_local[0].outcome) == ("completed", "approve")


def test_an_applicant_and_the_proactive_job_at_the_same_moment_make_one_approval(services, applicant_for):
    """The register of holders decides, not timing: whichever of the two commits first is
    approved, the other refused as already receiving (engine/policy/holdings.py)."""
    for round_ in range(5):
        clock = MovableClock(datetime(2031 + round_, 3, 12, 10, 0, tzinfo=BEIJING))  # a window no other test uses
        timed = replace(services, clock=clock)
        id_number = _resident_born(services, date(1951 + round_, 3, 10))  # turned 80 two days ago
        with services.sessions() as session:  # the person applies for themselves
            applicant = session.scalars(select(User).where(User.username == applicant_for(id_number))).one()
        barrier, outcomes = threading.Barrier(2), {}

        def by_hand() -> None:
            barrier.wait(10)
            application, _ = timed.applications.submit(applicant, "elderly_subsidy", {"id_number": id_number,
                                                                          "phone": "13900139000"})
            outcomes["applicant"] = application.outcome

        def proactively() -> None:
            barrier.wait(10)
            outcomes["job"] = proactive.scan(timed, "elderly_subsidy").started

        threads = [threading.Thread(target=by_hand), threading.Thread(target=proactively)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        with services.sessions() as session:
            decided = session.scalars(select(Application.outcome).where(
                Application.form_data["id_number"].as_string() == id_number)).all()
            holders = session.scalars(select(SubsidyRecipient).where(SubsidyRecipient.id_number == id_number)).all()
        assert set(outcomes) == {"applicant", "job"}, (round_, outcomes)  # both ran to the end
        assert [o for o in decided if o].count("approve") == 1, (round_, decided, outcomes)
        assert len(holders) == 1


def test_a_matter_opting_in_before_its_first_deploy_does_not_stop_the_scan_of_the_others(services):
    """The job scans every matter whose catalogue entry opts in; one upserted but not (yet)
    deployed failed the whole run with NotFound (seen when a test's refused deploy left one)."""
    with services.sessions() as session:
        upsert_matter(session, {"code": "proactive_undeployed", "name": "未部署的免申事项", "department": "civil_affairs",
                                "promised_days": 5, "legal_days": 20,
                                "proactive": {"turning_age": 80, "form": {"id_number": "id_number"}}})
        session.commit()
    results = {result.matter: result for result in proactive.scan_all(services)}
    assert results["proactive_undeployed"].started == [] and results["proactive_undeployed"].candidates == 0
    assert "elderly_subsidy" in results
