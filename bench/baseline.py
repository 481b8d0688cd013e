"""The baseline: the same BPMN run by bare SpiffWorkflow in one process, no persistence.

``processes/elderly_subsidy.bpmn`` is parsed once with SpiffWorkflow's own parser and each
application is a new ``BpmnWorkflow`` run with SpiffWorkflow's plain ``PythonScriptEngine``.
The ``rules.decide`` service task is answered honestly: the same rule set
(``rules/elderly_subsidy.yaml``) is evaluated with the same durable-rules evaluator
(``rules.evaluate``) on facts read from in-memory dictionaries instead of SQL sources.
An approval enters an in-memory benefit register, as ours enters the SQL one.

So the difference between ours and this is exactly the engine: form validation, spec
(de)serialization, the sandbox, SQL sources, audit events, state storage and commits.
"""
from __future__ import annotations

import json
import time
from datetime import date, datetime, timezone
from pathlib import Path

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from forms.identifiers import birth_date_from_id
from rules import Fact, evaluate, load_ruleset_file

ROOT = Path(__file__).resolve().parent.parent
BPMN_FILE = ROOT / "processes" / "elderly_subsidy.bpmn"
RULES_FILE = ROOT / "rules" / "elderly_subsidy.yaml"


class InMemoryRegistries:
    """The population registry, death records and benefit register as dictionaries."""

    def __init__(self, residents: list[str]) -> None:
        self.population = {i: {"household_local": True} for i in residents}
        self.deaths: set[str] = set()
        self.subsidy: dict[str, list[str]] = {}


class BareScriptEngine(PythonScriptEngine):
    """SpiffWorkflow's stock script engine plus the one service the process calls."""

    def __init__(self, registries: InMemoryRegistries) -> None:
        super().__init__(environment=TaskDataEnvironment({"today": lambda: date.today().isoformat()}))
        self.registries = registries
        self.ruleset = load_ruleset_file(RULES_FILE)

    def call_service(self, task, operation_name: str, operation_params: dict) -> str:
        if operation_name != "rules.decide":
            raise LookupError(operation_name)
        return json.dumps(evaluate(self.ruleset, self._facts(task.data["id_number"])).to_dict())

    def _facts(self, id_number: str) -> dict[str, Fact]:
        now = datetime.now(timezone.utc).isoformat()
        born, today = birth_date_from_id(id_number), date.today()
        age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
        person = self.registries.population.get(id_number)
        facts = {
            "age": Fact("age", age, "form", now),
            "alive": Fact("alive", id_number not in self.registries.deaths, "death_records", now),
            "already_receiving": Fact("already_receiving",
                                      "elderly_subsidy" in self.registries.subsidy.get(id_number, []),
                                      "subsidy_register", now),
        }
        if person is None:
            facts["household_local"] = Fact("household_local", None, "population_registry", now, "no_record")
        else:
            facts["household_local"] = Fact("household_local", person["household_local"],
                                            "population_registry", now)
        return facts


class Baseline:
    """Parse once; ``run`` one application to its end or to its human task."""

    def __init__(self, residents: list[str]) -> None:
        parser = SpiffBpmnParser()
        parser.add_bpmn_file(str(BPMN_FILE))
        self.spec = parser.get_spec("elderly_subsidy")
        self.subprocess_specs = parser.get_subprocess_specs("elderly_subsidy")
        self.registries = InMemoryRegistries(residents)
        self.script_engine = BareScriptEngine(self.registries)

    def run(self, form: dict) -> BpmnWorkflow:
        workflow = BpmnWorkflow(self.spec, self.subprocess_specs, script_engine=self.script_engine)
        workflow.get_tasks(state=TaskState.READY)[0].data.update(form)
        workflow.do_engine_steps()
        self._enrol(workflow, form)
        return workflow

    def complete_review(self, workflow: BpmnWorkflow, review: dict) -> BpmnWorkflow:
        """What a clerk's completion is without persistence: run the READY user task."""
        task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
        task.data["review"] = review
        task.run()
        workflow.do_engine_steps()
        self._enrol(workflow, task.data)
        return workflow

    def _enrol(self, workflow: BpmnWorkflow, form: dict) -> None:
        if workflow.is_completed() and workflow.data.get("outcome") == "approve":
            self.registries.subsidy.setdefault(form["id_number"], []).append("elderly_subsidy")


def straight_through(ids: list[str], warm_up: int = 20) -> dict:
    """Time instant approvals of ``ids`` (the first ``warm_up`` are not timed)."""
    baseline = Baseline(ids)
    for id_number in ids[:warm_up]:
        baseline.run({"applicant_name": "测试", "id_number": id_number, "phone": "13800138000"})
    started = time.perf_counter()
    for id_number in ids[warm_up:]:
        workflow = baseline.run({"applicant_name": "测试", "id_number": id_number, "phone": "13800138000"})
        assert workflow.data["outcome"] == "approve", workflow.data.get("decision")
    elapsed = time.perf_counter() - started
    count = len(ids) - warm_up
    return {"applications": count, "seconds": round(elapsed, 3), "per_second": round(count / elapsed, 1),
            "ms_per_application": round(1000 * elapsed / count, 3)}


def persisted_floor(ids: list[str], database_url: str, warm_up: int = 20) -> dict:
    """The least any engine that keeps its applications must add to the bare run: the
    workflow's state serialized by SpiffWorkflow's own serializer and stored with the
    decision by one INSERT and a durable COMMIT, through the raw driver — no ORM, no audit
    rows, no source lookups, no form validation. Ours over bare cannot be below this over
    bare, so it says how much of the "2× bare" budget storage alone takes."""
    from engine.running.workflow import SERIALIZER  # SpiffWorkflow's serializer, configured for these specs
    from engine.store.db import make_engine

    baseline, database = Baseline(ids), make_engine(database_url, immediate=False)
    raw = database.raw_connection()
    sqlite = database.dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    cursor = raw.cursor()
    cursor.execute("CREATE TABLE floor_application (id INTEGER PRIMARY KEY, state TEXT, decision TEXT)"
                   if sqlite else "CREATE TABLE floor_application (id SERIAL PRIMARY KEY, state TEXT, decision JSONB)")
    raw.commit()

    def store(id_number: str) -> None:
        workflow = baseline.run({"applicant_name": "测试", "id_number": id_number, "phone": "13800138000"})
        assert workflow.data["outcome"] == "approve", workflow.data.get("decision")
        state = SERIALIZER.to_dict(workflow)
        del state["spec"], state["subprocess_specs"]
        if sqlite:
            cursor.execute("BEGIN")
        cursor.execute(f"INSERT INTO floor_application (state, decision) VALUES ({mark}, {mark})",
                       (json.dumps(state), json.dumps(workflow.data["decision"])))
        if sqlite:
            cursor.execute("COMMIT")
        else:
            raw.commit()

    for id_number in ids[:warm_up]:
        store(id_number)
    started = time.perf_counter()
    for id_number in ids[warm_up:]:
        store(id_number)
    elapsed = time.perf_counter() - started
    raw.close()
    database.dispose()
    count = len(ids) - warm_up
    return {"applications": count, "seconds": round(elapsed, 3), "per_second": round(count / elapsed, 1),
            "ms_per_application": round(1000 * elapsed / count, 3)}


def mixed(registered: list[str], unknown: list[str], warm_up: int = 20) -> dict:
    """Instant approvals for ``registered`` and manual review then approval for ``unknown``,
    interleaved as the mixed HTTP scenario sends them."""
    baseline = Baseline(registered)
    order = interleave(registered, unknown)
    for _, id_number in order[:warm_up]:
        _run_one(baseline, id_number, manual=id_number not in baseline.registries.population)
    started = time.perf_counter()
    for _, id_number in order[warm_up:]:
        _run_one(baseline, id_number, manual=id_number not in baseline.registries.population)
    elapsed = time.perf_counter() - started
    count = len(order) - warm_up
    return {"applications": count, "seconds": round(elapsed, 3), "per_second": round(count / elapsed, 1),
            "ms_per_application": round(1000 * elapsed / count, 3)}


def _run_one(baseline: Baseline, id_number: str, manual: bool) -> None:
    workflow = baseline.run({"applicant_name": "测试", "id_number": id_number, "phone": "13800138000"})
    if manual:
        assert workflow.data.get("outcome") is None and not workflow.is_completed()
        workflow = baseline.complete_review(workflow, {"outcome": "approve", "amount": 100, "comment": "bench"})
    assert workflow.data["outcome"] == "approve", workflow.data


def interleave(registered: list[str], unknown: list[str]) -> list[tuple[bool, str]]:
    """Spread the unknown IDs evenly among the registered ones (e.g. 3 in 10)."""
    total = len(registered) + len(unknown)
    order, r, u = [], iter(registered), iter(unknown)
    for i in range(total):
        pick_unknown = (i + 1) * len(unknown) // total > i * len(unknown) // total
        order.append((pick_unknown, next(u) if pick_unknown else next(r)))
    return order
