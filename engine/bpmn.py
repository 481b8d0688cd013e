"""Parsing BPMN/DMN safely and (de)serializing SpiffWorkflow state.

The XML parser never resolves entities, loads a DTD or touches the network; a document
that declares a DOCTYPE is refused outright (XXE, billion laughs). Specs are serialized
once per service definition; each application stores only its instance state.
"""
from __future__ import annotations

import json
import re
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime
from typing import Callable, Iterator

from lxml import etree
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timers
from SpiffWorkflow.bpmn.specs.mixins import EndEventMixin
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.dmn.parser.DMNParser import DMNParser
from SpiffWorkflow.dmn.specs.model import DecisionTable
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import BusinessRuleTaskParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.serializer.task_spec import BusinessRuleTaskConverter
from SpiffWorkflow.spiff.specs.defaults import BusinessRuleTask

MAX_DOCUMENT_BYTES = 1_000_000
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DECLARATIONS = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
DECIDE_TABLE = "rules.decide_table"  # the service a business-rule task asks for its Decision
DECISION_VARIABLE = "decision"  # where every deciding step leaves its Decision (gateways read it)


class DecisionTableTask(BusinessRuleTask):
    """A bpmn:businessRuleTask calling a DMN decision (``spiffworkflow:calledDecisionId``).

    SpiffWorkflow's own task merges the table's raw outputs into the task data. Ours asks
    the engine (the script engine's ``services``) to gather the facts the rule set declares
    and judge them with the table, and stores one Decision — the shape a rule set gives, so
    gateways, the applicant's view and replay do not care which of the two decided.
    """

    def __init__(self, wf_spec, name, dmnEngine, decision_id: str | None = None, **kwargs) -> None:
        super().__init__(wf_spec, name, dmnEngine, **kwargs)
        self.decision_id = decision_id

    def _run_hook(self, my_task) -> bool:
        services = my_task.workflow.script_engine.services
        params = {"decision": self.decision_id, "table": self.dmnEngine.decision_table}
        try:
            my_task.data[DECISION_VARIABLE] = services(DECIDE_TABLE, params, my_task.data)
        except SpiffWorkflowException:
            raise
        except Exception as exc:
            if getattr(exc, "defer", False) is True:  # handed to a worker, not a failure
                raise
            raise WorkflowTaskException(f"decision {self.decision_id!r} failed: {type(exc).__name__}: {exc}",
                                       task=my_task, exception=exc) from exc
        return TaskSpec._run_hook(self, my_task)


class _DecisionTableTaskParser(BusinessRuleTaskParser):
    def create_task(self) -> DecisionTableTask:
        decision_id = self.get_decision_ref(self.node)
        extensions = self.parse_extensions()
        return DecisionTableTask(self.spec, self.bpmn_id, decision_id=decision_id,
                                 dmnEngine=self.process_parser.parser.get_engine(decision_id, self.node),
                                 prescript=extensions.get("preScript"), postscript=extensions.get("postScript"),
                                 **self.bpmn_attributes)


class _DecisionTableTaskConverter(BusinessRuleTaskConverter):
    def to_dict(self, spec: DecisionTableTask) -> dict:
        return {**super().to_dict(spec), "decision_id": spec.decision_id}


class _Parser(SpiffBpmnParser):
    OVERRIDE_PARSER_CLASSES = {**SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
                               full_tag("businessRuleTask"): (_DecisionTableTaskParser, DecisionTableTask)}


SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(
    {**SPIFF_CONFIG, DecisionTableTask: _DecisionTableTaskConverter}))


_CLOCK: ContextVar[Callable[[], datetime] | None] = ContextVar("workflow_clock", default=None)


class _EngineClock(datetime):
    """SpiffWorkflow's timers ask ``datetime.now``; inside ``workflow_clock`` that is the
    engine's clock, so deadlines, BPMN timers and tests all read one clock."""

    @classmethod
    def now(cls, tz=None):
        clock = _CLOCK.get()
        if clock is None:
            return datetime.now(tz)
        return clock().astimezone(tz) if tz else clock()


spiff_timers.datetime = _EngineClock


@contextmanager
def workflow_clock(clock: Callable[[], datetime]) -> Iterator[None]:
    """Run workflow steps with timers judged by ``clock`` (context-local: safe across threads)."""
    token = _CLOCK.set(clock)
    try:
        yield
    finally:
        _CLOCK.reset(token)


class ProcessProblem(Exception):
    """A BPMN/DMN document that cannot be deployed; each problem names file, element and line."""

    def __init__(self, filename: str, reason: str, element_id: str = "", line: int | None = None,
                 more: list[dict] | None = None) -> None:
        super().__init__(reason)
        first = {"file": filename, "element_id": element_id or "", "reason": reason}
        if line:
            first["line"] = str(line)
        self.problems = [first, *(more or [])]


@dataclass(frozen=True)
class ParsedProcess:
    process_id: str
    spec: object
    subprocess_specs: dict


def _xml(text: str, filename: str) -> etree._Element:
    data = text.encode("utf-8")
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ProcessProblem(filename, f"document larger than {MAX_DOCUMENT_BYTES} bytes")
    if DECLARATIONS.search(text):  # refused before any parser sees an entity
        raise ProcessProblem(filename, "DOCTYPE and ENTITY declarations (entities, DTDs) are not allowed")
    parser = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True,
                             huge_tree=False, remove_comments=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise ProcessProblem(filename, f"not well-formed XML: {exc.msg}", line=exc.lineno) from exc
    if root.getroottree().docinfo.doctype:
        raise ProcessProblem(filename, "DOCTYPE declarations (entities, DTDs) are not allowed")
    return root


def parse_process(bpmn: str, filename: str, dmn: list[str] = (), process_id: str | None = None) -> ParsedProcess:
    """Parse one BPMN document (plus DMN tables) into the executable process spec.

    With several executable processes in the file, ``process_id`` picks one. Structural
    faults SpiffWorkflow would only meet at run time (a call to a process that is not in
    the upload, a flow node with no way out) are refused here.
    """
    parser = _Parser()
    root = _xml(bpmn, filename)
    _refuse(_unresolved_calls(root, filename))
    try:
        parser.add_bpmn_xml(root, filename)
        for index, table in enumerate(dmn):
            parser.add_dmn_xml(_dmn_xml(table, f"{filename}#dmn{index}"), f"{filename}#dmn{index}")
        chosen = _choose_process(parser.get_process_ids(), process_id, filename)
        parsed = ParsedProcess(chosen, parser.get_spec(chosen), parser.get_subprocess_specs(chosen))
    except SpiffWorkflowException as exc:
        raise ProcessProblem(filename, str(exc).splitlines()[0].strip(), getattr(exc, "id", ""),
                             getattr(exc, "line_number", None)) from exc
    _refuse(_dead_ends(parsed, filename))
    return parsed


def parse_decision(dmn: str, filename: str) -> tuple[str, DecisionTable]:
    """One DMN document's decision: (decision id, its table), parsed safely (a replayed candidate)."""
    root = _dmn_xml(dmn, filename)
    namespaces = dict(root.nsmap)
    if None in namespaces:  # as BpmnDmnParser.add_dmn_xml: the default namespace is DMN's
        namespaces["dmn"] = namespaces.pop(None)
    try:
        parser = DMNParser(None, root, namespaces, filename=filename)
        if len(parser.xpath(".//dmn:decision")) != 1:
            raise ProcessProblem(filename, "a DMN document must hold exactly one decision")
        parser.parse()
        if not parser.decision.decisionTables:
            raise ProcessProblem(filename, "the decision has no decision table", parser.decision.id)
        return parser.decision.id, parser.decision.decisionTables[0]
    except SpiffWorkflowException as exc:
        raise ProcessProblem(filename, str(exc).splitlines()[0].strip(), getattr(exc, "id", ""),
                             getattr(exc, "line_number", None)) from exc


DMN_NAMESPACES = ("http://www.omg.org/spec/DMN/20151101/dmn.xsd", "http://www.omg.org/spec/DMN/20180521/MODEL/",
                  "https://www.omg.org/spec/DMN/20191111/MODEL/")
_DMN_IDENTIFIED = ("decision", "decisionTable", "input", "output", "rule", "inputEntry", "outputEntry")


def _dmn_xml(text: str, filename: str) -> etree._Element:
    """A DMN document whose shape SpiffWorkflow's parser can read without crashing: it
    indexes ids, entries and texts without checking them, so they are checked here."""
    root = _xml(text, filename)
    if etree.QName(root).namespace not in DMN_NAMESPACES:
        raise ProcessProblem(filename, f"not a DMN document (namespace {etree.QName(root).namespace!r})",
                             line=root.sourceline)
    problems = []
    for element in root.iter(etree.Element):
        name = etree.QName(element).localname
        where = {"file": filename, "element_id": element.get("id", ""), "line": str(element.sourceline)}
        if name in _DMN_IDENTIFIED and not element.get("id"):
            problems.append({**where, "reason": f"{name} has no id"})
        if name == "inputEntry" and _child(element, "text") is None:
            problems.append({**where, "reason": "inputEntry has no text ('-' matches anything)"})
        if name == "rule":
            problems += _entry_counts(element, where)
    _refuse(problems)
    return root


def _child(element: etree._Element, name: str) -> etree._Element | None:
    return next((c for c in element if isinstance(c.tag, str) and etree.QName(c).localname == name), None)


def _entry_counts(rule: etree._Element, where: dict) -> list[dict]:
    table = rule.getparent()
    if table is None:
        return []
    problems = []
    for entry, column in (("inputEntry", "input"), ("outputEntry", "output")):
        entries = sum(1 for c in rule if isinstance(c.tag, str) and etree.QName(c).localname == entry)
        columns = sum(1 for c in table if isinstance(c.tag, str) and etree.QName(c).localname == column)
        if entries > columns:
            problems.append({**where, "reason": f"rule has {entries} {entry}(s) for {columns} {column}(s)"})
    return problems


def _refuse(problems: list[dict]) -> None:
    if problems:
        first = problems[0]
        raise ProcessProblem(first["file"], first["reason"], first["element_id"], first.get("line"), problems[1:])


def _unresolved_calls(root: etree._Element, filename: str) -> list[dict]:
    """Call activities must call a process deployed with them (in the same document)."""
    processes = {p.get("id") for p in root.iter(f"{{{BPMN_NS}}}process")}
    return [{"file": filename, "element_id": call.get("id", ""), "line": str(call.sourceline),
             "reason": f"calls process {call.get('calledElement')!r}, which is not in this upload"}
            for call in root.iter(f"{{{BPMN_NS}}}callActivity") if call.get("calledElement") not in processes]


def _dead_ends(parsed: ParsedProcess, filename: str) -> list[dict]:
    """Every flow node but an end event needs an outgoing sequence flow, or the
    application would stop there for good."""
    problems = []
    for spec in (parsed.spec, *parsed.subprocess_specs.values()):
        for task_spec in spec.task_specs.values():
            bpmn_id = getattr(task_spec, "bpmn_id", None)
            if bpmn_id and not task_spec.outputs and not isinstance(task_spec, EndEventMixin):
                problems.append({"file": filename, "element_id": bpmn_id,
                                 "reason": f"{type(task_spec).__name__} has no outgoing sequence flow"})
    return problems


def _choose_process(ids: list[str], wanted: str | None, filename: str) -> str:
    if not ids:
        raise ProcessProblem(filename, "no executable process in the document")
    if wanted in ids:
        return wanted
    if len(ids) == 1:
        return ids[0]
    raise ProcessProblem(filename, f"several processes ({', '.join(ids)}); none is named {wanted!r}")


def spec_to_json(parsed: ParsedProcess) -> str:
    return json.dumps({
        "spec": SERIALIZER.to_dict(parsed.spec),
        "subprocess_specs": {name: SERIALIZER.to_dict(s) for name, s in parsed.subprocess_specs.items()},
    })


def _spec_parts(spec_json: str) -> dict:
    """A fresh copy each time: SpiffWorkflow's converters consume the dicts they read."""
    return json.loads(spec_json)


def new_workflow(spec_json: str, script_engine) -> BpmnWorkflow:
    spec, subprocess_specs = _restored_specs(spec_json)
    return BpmnWorkflow(spec, dict(subprocess_specs), script_engine=script_engine)


@lru_cache(maxsize=128)
def _restored_specs(spec_json: str) -> tuple[object, dict]:
    """Specs restored once per definition: SpiffWorkflow shares a spec between all the
    workflows that run it (workflows never change their spec)."""
    parts = _spec_parts(spec_json)
    return (SERIALIZER.from_dict(parts["spec"]),
            {name: SERIALIZER.from_dict(s) for name, s in parts["subprocess_specs"].items()})


def dump_state(workflow: BpmnWorkflow) -> str:
    """Instance state only: the spec lives once with the service definition."""
    state = SERIALIZER.to_dict(workflow)
    del state["spec"], state["subprocess_specs"]
    return json.dumps(state)


def load_state(state_json: str, spec_json: str, script_engine) -> BpmnWorkflow:
    state = json.loads(state_json)
    parts = _spec_parts(spec_json)
    state["spec"] = parts["spec"]
    state["subprocess_specs"] = parts["subprocess_specs"]
    workflow = SERIALIZER.from_dict(state)
    workflow.script_engine = script_engine
    return workflow
