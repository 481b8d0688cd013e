"""Parsing BPMN/DMN safely and (de)serializing SpiffWorkflow state.

The XML parser never resolves entities, loads a DTD or touches the network; a document
that declares a DOCTYPE is refused outright (XXE, billion laughs). Specs are serialized
once per service definition; each application stores only its instance state.
"""
from __future__ import annotations

import ast
import json
import logging
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
from SpiffWorkflow.bpmn.specs.control import EventSplit
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timers
from SpiffWorkflow.bpmn.specs.mixins import EndEventMixin, ExclusiveGatewayMixin, InclusiveGatewayMixin
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent, IntermediateCatchEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.dmn.parser.DMNParser import DMNParser
from SpiffWorkflow.dmn.specs.model import DecisionTable
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.specs.Join import Join
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import BusinessRuleTaskParser, SpiffTaskParser, UserTaskParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.serializer.task_spec import BusinessRuleTaskConverter
from SpiffWorkflow.spiff.specs.defaults import BusinessRuleTask, ManualTask, UserTask
from SpiffWorkflow.util.task import TaskState

from engine.assignment import CAMUNDA_NS, camunda_attributes

MAX_DOCUMENT_BYTES = 1_000_000
log = logging.getLogger(__name__)
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DECLARATIONS = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
DECIDE_TABLE = "rules.decide_table"  # the service a business-rule task asks for its Decision
DECISION_VARIABLE = "decision"  # where every deciding step leaves its Decision (gateways read it)
OUTCOME_VARIABLE = "outcome"  # where a process leaves the applicant's answer: approve | reject | revoked
RESULT_VARIABLE = "result"  # where it leaves what the applicant receives (amount, licence data…)


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


class _WithCamundaAttributes:
    """A user or manual task's extensions, plus Camunda Modeler's assignment attributes
    (engine/assignment.py reads them; they travel with the serialized spec)."""

    def parse_extensions(self, node=None):
        extensions = super().parse_extensions(node)
        camunda = camunda_attributes(self.node if node is None else node)
        return {**extensions, "camunda": camunda} if camunda else extensions


class _UserTaskParser(_WithCamundaAttributes, UserTaskParser):
    pass


class _ManualTaskParser(_WithCamundaAttributes, SpiffTaskParser):
    pass


class _Parser(SpiffBpmnParser):
    OVERRIDE_PARSER_CLASSES = {**SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
                               full_tag("businessRuleTask"): (_DecisionTableTaskParser, DecisionTableTask),
                               full_tag("userTask"): (_UserTaskParser, UserTask),
                               full_tag("manualTask"): (_ManualTaskParser, ManualTask)}


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
    """One BPMN document (plus DMN tables) as the executable process spec, or ProcessProblem
    with every problem found (see ``read_process``)."""
    reading = read_process({filename: bpmn}, {dmn_file_name(i): table for i, table in enumerate(dmn)}, process_id)
    _refuse(reading.problems)
    return reading.parsed


def dmn_file_name(index: int) -> str:
    """The name of a DMN table uploaded without one (the ``dmn`` list of an upload)."""
    return f"decision{index + 1}.dmn"


@dataclass(frozen=True)
class ProcessReading:
    """What reading an upload's BPMN/DMN documents found: the process (None if it could not
    be parsed), every problem, and where each element id is (file, line)."""

    parsed: ParsedProcess | None
    problems: list[dict]
    where: dict[str, tuple[str, int]]

    def located(self, problems: list[dict]) -> list[dict]:
        """Problems whose element is known get its file and line (checks of parsed specs know
        the element only)."""
        placed = []
        for problem in problems:
            file, line = self.where.get(problem.get("element_id") or "", (problem["file"], problem.get("line")))
            placed.append({**problem, "file": file, **({"line": str(line)} if line else {})})
        return placed


def read_process(bpmn: dict[str, str], dmn: dict[str, str] | None = None,
                 process_id: str | None = None) -> ProcessReading:
    """Read BPMN documents (file name -> text; the first is the main one, others hold the
    processes its call activities call) and DMN tables into the executable process spec.

    With several executable processes, ``process_id`` picks one, else the one no other
    calls. What SpiffWorkflow would only meet at run time (a call to a process not in the
    upload, a flow node with no way out, a loop with no wait state, what this engine does
    not run) is a problem here. Documents with such problems are not handed to
    SpiffWorkflow's parser (it crashes on some), so their scripts are checked as XML."""
    roots, problems = {}, []
    for name, text in bpmn.items():
        try:
            roots[name] = _xml(text, name)
        except ProcessProblem as exc:
            problems += exc.problems
    tables = {}
    for name, text in (dmn or {}).items():
        try:
            tables[name] = _dmn_xml(text, name)
        except ProcessProblem as exc:
            problems += exc.problems
    where = {e.get("id"): (name, e.sourceline) for name, root in roots.items()
             for e in root.iter(etree.Element) if e.get("id")}
    processes = {p.get("id") for root in roots.values() for p in root.iter(f"{{{BPMN_NS}}}process")}
    for name, root in roots.items():
        problems += _unresolved_calls(root, name, processes) + _unsupported(root, name)
    if problems or not roots:
        return ProcessReading(None, problems + _xml_code_problems(roots) if roots else problems, where)
    try:
        parsed = _parse(roots, tables, process_id)
    except ProcessProblem as exc:
        return ProcessReading(None, exc.problems + _xml_code_problems(roots), where)
    return ProcessReading(parsed, _dead_ends(parsed, next(iter(roots))) + _loops(parsed, next(iter(roots))), where)


def _parse(roots: dict[str, etree._Element], tables: dict[str, etree._Element],
           process_id: str | None) -> ParsedProcess:
    main = next(iter(roots))
    parser = _Parser()
    try:
        for name, root in roots.items():
            parser.add_bpmn_xml(root, name)
        for name, table in tables.items():
            parser.add_dmn_xml(table, name)
        chosen = _choose_process(parser.get_process_ids(), process_id, main, _called(roots.values()))
        return ParsedProcess(chosen, parser.get_spec(chosen), parser.get_subprocess_specs(chosen))
    except SpiffWorkflowException as exc:
        raise ProcessProblem(getattr(exc, "file_name", None) or main, str(exc).splitlines()[0].strip(),
                             getattr(exc, "id", ""), getattr(exc, "line_number", None)) from exc
    except (AttributeError, IndexError, KeyError, TypeError, ValueError) as exc:
        # SpiffWorkflow's parser trusts the document's shape in places; what it trips on is
        # the analyst's to fix, not a server error. Logged with its traceback for us.
        log.warning("SpiffWorkflow could not parse %s", main, exc_info=True)
        raise ProcessProblem(main, f"the workflow engine cannot read this document ({type(exc).__name__}: {exc}); "
                                   "check the element it names, or open and save it in a BPMN modeller") from exc


def main_document(documents: dict[str, str], process_id: str) -> str | None:
    """Which of several BPMN files is the main one: the one holding the process
    ``process_id``, else the only one holding a process no call activity calls."""
    if len(documents) == 1:
        return next(iter(documents))
    roots = {}
    for name, text in documents.items():
        try:
            roots[name] = _xml(text, name)
        except ProcessProblem:
            continue  # reported by read_process once the files are sorted
    holding = {name: {p.get("id") for p in root.iter(f"{{{BPMN_NS}}}process")} for name, root in roots.items()}
    named = [name for name, ids in holding.items() if process_id in ids]
    called = _called(roots.values())
    uncalled = [name for name, ids in holding.items() if ids - called]
    chosen = named if named else uncalled
    return chosen[0] if len(chosen) == 1 else None


def _called(roots) -> set[str]:
    return {call.get("calledElement") for root in roots for call in root.iter(f"{{{BPMN_NS}}}callActivity")}


def _xml_code_problems(roots: dict[str, etree._Element]) -> list[dict]:
    """The sandbox's verdict on a document's scripts and conditions read from the XML,
    for documents not parsed further (so one upload shows every phase's problems)."""
    from engine.sandbox import SandboxViolation, check_script

    problems = []
    for name, root in roots.items():
        for element in root.iter(f"{{{BPMN_NS}}}script", f"{{{BPMN_NS}}}conditionExpression"):
            owner, mode = _owner(element), "exec" if etree.QName(element).localname == "script" else "eval"
            fmt = owner.get("scriptFormat") if mode == "exec" else element.get("language")
            if (fmt or "").lower() not in PYTHON_SCRIPT_FORMATS or not (element.text or "").strip():
                continue  # refused as such by _unsupported
            try:
                check_script(element.text.strip() if mode == "eval" else element.text, mode)
            except SandboxViolation as exc:
                problems.append({"file": name, "element_id": owner.get("id", ""), "line": str(element.sourceline),
                                 "reason": f"{'script' if mode == 'exec' else 'condition'}: {exc.reason}"})
    return problems


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
                  "https://www.omg.org/spec/DMN/20191111/MODEL/", "https://www.omg.org/spec/DMN/20211108/MODEL/",
                  "https://www.omg.org/spec/DMN/20230324/MODEL/")  # DMN 1.1 to 1.5
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
    return _dmn_as_default_namespace(root)


def _dmn_as_default_namespace(root: etree._Element) -> etree._Element:
    """SpiffWorkflow's DMN parser finds elements as ``dmn:…`` only when DMN is the document's
    default namespace; tools such as Trisotech write ``<semantic:definitions
    xmlns:semantic=…>`` (a 500 before). The same elements under a root that declares the
    DMN namespace as default: names are namespace URIs, so nothing else changes."""
    namespace = etree.QName(root).namespace
    if root.nsmap.get(None) == namespace:
        return root
    nsmap = {None: namespace, **{p: uri for p, uri in root.nsmap.items() if p is not None and uri != namespace}}
    copy = etree.Element(root.tag, attrib=dict(root.attrib), nsmap=nsmap)
    copy.text = root.text
    copy.extend(list(root))
    return copy


def assigns(bpmn: str, filename: str, name: str) -> bool:
    """Whether any script of the document assigns ``name`` (a deploy warning when none sets
    ``outcome``: such a process ends with no decision)."""
    for script in _xml(bpmn, filename).iter(f"{{{BPMN_NS}}}script"):
        try:
            tree = ast.parse(script.text or "")
        except SyntaxError:  # refused with its line by the sandbox's check
            continue
        if any(isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Store)
               for node in ast.walk(tree)):
            return True
    return False


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


def _unresolved_calls(root: etree._Element, filename: str, processes: set[str]) -> list[dict]:
    """Call activities must call a process deployed with them (in the same upload)."""
    return [{"file": filename, "element_id": call.get("id", ""), "line": str(call.sourceline),
             "reason": f"calls process {call.get('calledElement')!r}, which is not in this upload"}
            for call in root.iter(f"{{{BPMN_NS}}}callActivity") if call.get("calledElement") not in processes]


RESERVED_IDS = frozenset({"Start", "Root", "End"})  # SpiffWorkflow's own task names in every workflow
PYTHON_SCRIPT_FORMATS = frozenset({"", "python", "python3", "text/x-python"})
CAMUNDA_IMPLEMENTATIONS = ("class", "delegateExpression", "expression", "type")


def _unsupported(root: etree._Element, filename: str) -> list[dict]:
    """What this engine cannot run, found in the document before it is parsed, each with
    what to use instead: it would otherwise be accepted and fail (or 500) at run time."""
    problems = []

    def refuse(element: etree._Element, reason: str) -> None:
        problems.append({"file": filename, "element_id": element.get("id", ""), "line": str(element.sourceline),
                         "reason": reason})

    flow_sources = {flow.get("sourceRef") for flow in root.iter(f"{{{BPMN_NS}}}sequenceFlow")}
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        if element.get("id") in RESERVED_IDS or (element.get("id") or "").endswith(".EndJoin"):
            refuse(element, f"the id {element.get('id')!r} is reserved by the workflow engine: rename the element")
        kind = etree.QName(element).localname
        if element.tag == f"{{{BPMN_NS}}}scriptTask":
            script = element.find(f"{{{BPMN_NS}}}script")
            if script is None or not (script.text or "").strip():
                refuse(element, "script task has no script: write the Python it runs, or use another task type")
            elif (element.get("scriptFormat") or "").lower() not in PYTHON_SCRIPT_FORMATS:
                refuse(element, f"scripts are Python run in the sandbox, not {element.get('scriptFormat')}: "
                                "rewrite the script in Python")
        if kind in ("serviceTask", "sendTask", "businessRuleTask"):
            used = [name for name in CAMUNDA_IMPLEMENTATIONS if element.get(f"{{{CAMUNDA_NS}}}{name}")]
            if used:
                refuse(element, f"Camunda implementations (camunda:{', camunda:'.join(used)}: Java delegates, "
                                "expressions, external tasks) do not run here: use a service task with a "
                                "spiffworkflow:serviceTaskOperator of this engine (such as rules.decide)")
            if element.get(f"{{{CAMUNDA_NS}}}decisionRef"):
                refuse(element, "camunda:decisionRef is not read here: name the DMN decision with "
                                "spiffworkflow:calledDecisionId")
        if kind == "startEvent" and _owner(element).tag == f"{{{BPMN_NS}}}process":
            triggers = [etree.QName(c).localname for c in element
                        if isinstance(c.tag, str) and etree.QName(c).localname.endswith("EventDefinition")]
            if triggers:
                refuse(element, f"a process is started here by a submission, not by a {triggers[0]}: "
                                "use a plain start event (message, signal and timer starts belong in event "
                                "sub-processes)")
        if kind == "multiInstanceLoopCharacteristics" and (element.get(f"{{{CAMUNDA_NS}}}collection")
                                                            or element.get(f"{{{CAMUNDA_NS}}}elementVariable")):
            refuse(_owner(element), "camunda:collection / camunda:elementVariable are not read here: name the "
                                        "collection with <bpmn:loopDataInputRef>reviewers</bpmn:loopDataInputRef> "
                                        "and the item with <bpmn:inputDataItem id=\"reviewer\"/> (standard BPMN)")
        if kind == "boundaryEvent" and element.get("cancelActivity", "true") != "false" \
                and element.get("id") not in flow_sources:
            refuse(element, "an interrupting boundary event with no outgoing sequence flow stops the activity and "
                            "ends the process there, with no decision: lead it to a step that sets outcome and an "
                            "end event (a non-interrupting one, cancelActivity=\"false\", may end implicitly)")
        if kind == "startEvent" and element.get("isInterrupting", "true") != "false" \
                and _owner(element).get("triggeredByEvent") == "true":
            refuse(element, "an interrupting event sub-process does not stop the rest of the process here "
                            "(SpiffWorkflow 3.2 runs it beside it): put an interrupting boundary event on the "
                            "activity it should stop, or make this start event non-interrupting "
                            "(isInterrupting=\"false\")")
        if kind == "conditionExpression" and (element.get("language") or "").lower() not in PYTHON_SCRIPT_FORMATS:
            refuse(_owner(element), f"conditions are Python expressions, not {element.get('language')}: "
                                        "rewrite it in Python (e.g. amount > 100)")
    return problems


def _owner(element: etree._Element) -> etree._Element:
    """The element a script, condition or loop definition belongs to (itself at the root)."""
    parent = element.getparent()
    return element if parent is None else parent


def _dead_ends(parsed: ParsedProcess, filename: str) -> list[dict]:
    """Every flow node but an end event needs an outgoing sequence flow, or the
    application would stop there for good. Not flow nodes: the inner task SpiffWorkflow
    makes for a multi-instance or standard loop activity (same ``bpmn_id``, no outputs)
    and an event sub-process started by a message or signal (no sequence flows at all)."""
    problems = []
    for spec in (parsed.spec, *parsed.subprocess_specs.values()):
        inner = {t.task_spec for t in spec.task_specs.values() if isinstance(t, LoopTask)}
        triggered = set(getattr(spec.start, "trigger_specs", ()))
        for name, task_spec in spec.task_specs.items():
            bpmn_id = getattr(task_spec, "bpmn_id", None)
            if name in inner or name in triggered or task_spec.name in triggered:
                continue
            if bpmn_id and not task_spec.outputs and not isinstance(task_spec, EndEventMixin):
                problems.append({"file": filename, "element_id": bpmn_id,
                                 "reason": f"{type(task_spec).__name__} has no outgoing sequence flow"})
    return problems


def _waits_or_decides(task_spec) -> bool:
    """A flow node where a loop may stop or leave: a gateway that decides, a human task,
    or an event that waits (timer, message, signal, receive task)."""
    return (task_spec.manual or isinstance(task_spec, (ExclusiveGatewayMixin, InclusiveGatewayMixin, CatchingEvent)))


def _loops(parsed: ParsedProcess, filename: str) -> list[dict]:
    """Loops SpiffWorkflow cannot run: a cycle of sequence flows with no deciding gateway
    and no wait state never ends (every submission would fail, RecursionError); a cycle
    timer on an intermediate event the flow comes back to adds a waiting timer per tick,
    and each of those fires again: its timers double every tick."""
    problems = []
    for spec in (parsed.spec, *parsed.subprocess_specs.values()):
        reported: set = set()
        for task_spec in spec.task_specs.values():
            bpmn_id = getattr(task_spec, "bpmn_id", None)
            if not bpmn_id or task_spec.name in reported:
                continue
            if not _waits_or_decides(task_spec):
                cycle = _cycle_through(task_spec, lambda t: not _waits_or_decides(t))
                if cycle:
                    reported |= cycle
                    problems.append({"file": filename, "element_id": bpmn_id, "reason": (
                        f"{bpmn_id} is on a loop of sequence flows with no exclusive/inclusive gateway and no "
                        f"wait state (human task or catching event): it would run for ever")})
                    continue
            definition = getattr(task_spec, "event_definition", None)
            if (isinstance(task_spec, IntermediateCatchEvent) and not isinstance(task_spec, BoundaryEvent)
                    and isinstance(definition, spiff_timers.CycleTimerEventDefinition)
                    and _cycle_through(task_spec, lambda t: True)):
                reported.add(task_spec.name)
                problems.append({"file": filename, "element_id": bpmn_id, "reason": (
                    f"{bpmn_id} is a cycle timer (timeCycle) on a loop: every tick adds another waiting timer. "
                    f"Loop through a duration timer (timeDuration) instead, or put the cycle on a "
                    f"non-interrupting boundary event")})
    return problems


def _cycle_through(start, allowed) -> set:
    """The names of the task specs on a cycle back to ``start`` through ``allowed`` ones
    (empty when there is none)."""
    reach, stack = set(), [o for o in start.outputs if allowed(o)]
    while stack:
        node = stack.pop()
        if node.name in reach:
            continue
        reach.add(node.name)
        for output in node.outputs:
            if allowed(output) and output.name not in reach:
                stack.append(output)
    if start.name not in reach:
        return set()
    back, inputs = set(), [start]  # those of reach that lead back to start
    while inputs:
        node = inputs.pop()
        for source in node.inputs:
            if source.name in reach and source.name not in back:
                back.add(source.name)
                inputs.append(source)
    return back | {start.name}


def _choose_process(ids: list[str], wanted: str | None, filename: str, called: set[str]) -> str:
    """The executable process to run: the one named ``wanted``, the only one, or the only
    one no call activity calls (a collaboration's other pools are not executable)."""
    if not ids:
        raise ProcessProblem(filename, "no executable process in the upload (isExecutable=\"true\")")
    if wanted in ids:
        return wanted
    roots = [i for i in ids if i not in called]
    if len(roots) == 1:
        return roots[0]
    raise ProcessProblem(filename, f"several executable processes ({', '.join(ids)}) and none is {wanted!r}: "
                                   f"give the matter's process the id {wanted!r}, or mark the others "
                                   f"isExecutable=\"false\"")


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


# --- keeping the task tree bounded (loops and timer cycles) --------------------------------
#
# SpiffWorkflow never forgets a task: every pass through a loop adds its tasks as children
# of the previous pass's tasks (the tree is the execution history), and every tick of a
# cycle timer adds a branch below the waiting timer. Its task iterator stops at depth 1000
# (util/task.py, ``max_depth``), so past ~1000 tasks deep the READY task is never found,
# ``is_completed()`` turns true with no end event reached, and every step walks the whole
# tree first (per-step time grows with the loop count, state grows ~400 bytes a task).
# SpiffWorkflow has nothing to bound this, so we prune completed history ourselves: see
# ``prune_completed``.

PRUNE_AT = 60  # a workflow's tree is pruned once it holds more tasks than this...
PRUNE_STEP = 30  # ...and, during one run, again only after this many more (a wide tree stays)
KEEP_ANCESTORS = 10  # completed steps kept above every unfinished task (send-back targets apart)
_MARK = "_onewindow_prune_mark"


def run_engine_steps(workflow: BpmnWorkflow, will_complete_task=None, did_complete_task=None) -> None:
    """``workflow.do_engine_steps(...)``, with the task tree pruned between passes.

    The same loop as SpiffWorkflow 3.2's ``do_engine_steps`` (``_do_engine_steps`` until
    it runs nothing, then ``refresh_timers``); pruning between passes, not inside the
    callbacks, because a pass runs a list of READY tasks taken before it started.
    """
    while workflow._do_engine_steps(will_complete_task, did_complete_task):
        _bound(workflow, during_run=True)
    workflow.refresh_timers()
    _bound(workflow, during_run=False)


def _bound(workflow: BpmnWorkflow, during_run: bool) -> int:
    removed = 0
    for wf in (workflow, *list(workflow.subprocesses.values())):
        if wf.parent_task_id is not None and wf.parent_task_id not in workflow.subprocesses:
            continue  # deleted with its (pruned) calling task during this loop
        limit = getattr(wf, _MARK, PRUNE_AT) if during_run else PRUNE_AT
        if len(wf.tasks) > limit:
            removed += prune_completed(wf)
            setattr(wf, _MARK, max(PRUNE_AT, len(wf.tasks) + PRUNE_STEP))
    return removed


def prune_completed(wf, keep: int = KEEP_ANCESTORS) -> int:
    """Drop finished history from one workflow's task tree (the top-level workflow or one
    subprocess); return how many tasks went.

    Kept: the root; every unfinished task with its ``keep`` nearest ancestors and its
    direct children (multi-instance tasks look theirs up); the last completed task; the
    nearest completed instance of every human step above an unfinished task, with its
    parent (send-back, 退回, resets to it and takes its parent's data); the parent of every
    kept manual task and join (joins judge their inputs by ``task.parent``); an event split
    with all its children (boundary events) and the split a waiting boundary join looks
    for; join instances cancelled since that join last fired (a parallel join counts them).
    Dropped as well: under a cycle timer still waiting, every spent tick branch but the
    newest and the duplicate waiting boundary joins each tick adds.

    A kept task whose parent goes is re-attached to its nearest kept ancestor: its data
    is whole in memory and the serializer stores it as a delta from the new parent, so
    nothing is lost. The root keeps the process's first data.
    """
    tasks, root = wf.tasks, wf.task_tree
    done = TaskState.COMPLETED | TaskState.CANCELLED  # a task in ERROR waits for a retry (reset to it)
    unfinished = [t for t in tasks.values() if not t._state & done]
    if not any(t._state & TaskState.NOT_FINISHED_MASK for t in unfinished):
        return 0  # a finished workflow keeps its history: it no longer grows
    dropped = _spent_ticks(wf, unfinished)
    budgets: dict = {}

    def mark(task, budget: int) -> None:
        while task is not None and budget >= 0 and budgets.get(task.id, -1) < budget:
            budgets[task.id] = budget
            task, budget = task.parent, budget - 1

    mark(root, 0)
    last = wf.last_task
    if last is not None and last.id in tasks and last.id not in dropped:
        mark(last, 1)
    for task in unfinished:
        if task.id in dropped:
            continue
        mark(task, keep)
        for child in task.children:
            if child.id not in dropped:
                mark(child, 0)
        if task._state & TaskState.DEFINITE_MASK:
            _mark_send_back_targets(task, mark)
    _mark_pending_join_inputs(wf, unfinished, dropped, mark)
    _close(wf, budgets, mark)
    if len(budgets) == len(tasks):
        return 0
    return _cut(wf, budgets)


def _spent_ticks(wf, unfinished: list) -> set:
    """Under a cycle timer still waiting: spent tick branches but the newest, and the
    duplicate waiting joins each tick adds (the join cancels all but one when it fires)."""
    dropped: set = set()
    last = wf.last_task.id if wf.last_task is not None else None
    for timer in unfinished:
        definition = getattr(timer.task_spec, "event_definition", None)
        if timer._state != TaskState.WAITING or not isinstance(definition, spiff_timers.CycleTimerEventDefinition):
            continue
        spent, joins = [], set()
        for child in reversed(timer.children):
            subtree = list(child)
            if isinstance(child.task_spec, Join) and child._state == TaskState.WAITING and not child._children:
                if child.task_spec in joins:
                    dropped.add(child.id)
                joins.add(child.task_spec)
            elif all(t._state & TaskState.FINISHED_MASK for t in subtree) and not any(t.id == last for t in subtree):
                spent.append(subtree)
        for subtree in spent[1:]:  # spent is newest first
            dropped.update(t.id for t in subtree)
    return dropped


def _mark_send_back_targets(task, mark) -> None:
    """As engine/applications.py ``_earlier_steps``: the nearest completed instance of each
    human step above a task to come, kept with its parent wherever it is (the human task
    that will be sent back from may still lie ahead, after the loop)."""
    seen = {task.task_spec.bpmn_id}
    node = task.parent
    while node is not None:
        spec = node.task_spec
        if spec.manual and node._state == TaskState.COMPLETED and spec.bpmn_id not in seen:
            seen.add(spec.bpmn_id)
            mark(node, 1)
        node = node.parent


def _mark_pending_join_inputs(wf, unfinished: list, dropped: set, mark) -> None:
    """Instances of a parallel/inclusive/end join cancelled since it last fired: their
    parents tell the join which inputs already arrived (and whose data to merge)."""
    joins = {t.task_spec for t in unfinished if isinstance(t.task_spec, UnstructuredJoin)}
    if not joins:
        return
    fired: dict = {}
    instances = [t for t in wf.tasks.values() if t.task_spec in joins and t._state & TaskState.FINISHED_MASK]
    for task in instances:
        if task._state == TaskState.COMPLETED:
            fired[task.task_spec] = max(fired.get(task.task_spec, 0.0), task.last_state_change)
    for task in instances:
        if task.id not in dropped and task.last_state_change >= fired.get(task.task_spec, 0.0):
            mark(task, 1)


def _close(wf, budgets: dict, mark) -> None:
    """Keep what kept tasks rely on, until nothing more is added."""
    done: set = set()
    while len(done) < len(budgets):
        for task_id in [t for t in budgets if t not in done]:
            done.add(task_id)
            task = wf.tasks[task_id]
            spec, parent = task.task_spec, task.parent
            if parent is not None and (spec.manual or isinstance(spec, Join) or isinstance(parent.task_spec, EventSplit)):
                mark(parent, 0)
            if isinstance(spec, EventSplit):
                for child in task.children:
                    mark(child, 0)
            if isinstance(spec, Join) and spec.split_task and not task._state & TaskState.FINISHED_MASK:
                node = parent
                while node is not None and node.task_spec.name != spec.split_task:
                    node = node.parent
                mark(node, 0)


def _cut(wf, budgets: dict) -> int:
    """Remove every task not in ``budgets``; re-attach kept tasks to their nearest kept
    ancestor, in the original order of the children."""
    tasks, root = wf.tasks, wf.task_tree
    removed, children = [], {root.id: []}
    stack = [(root, None)]
    while stack:
        task, anchor = stack.pop()
        if task.id in budgets:
            if anchor is not None:
                task._parent = anchor
                children[anchor].append(task.id)
            children[task.id] = []
            anchor = task.id
        else:
            removed.append(task)
        stack.extend((tasks[c], anchor) for c in reversed(task._children))
    for task_id, kept in children.items():
        tasks[task_id]._children = kept
    top = wf.top_workflow
    for task in removed:
        del tasks[task.id]
        top.event_manager.tasks.pop(task.id, None)
        if task.id in top.subprocesses:
            _drop_subprocess(top, task.id)
    return len(removed)


def _drop_subprocess(top: BpmnWorkflow, task_id) -> None:
    subprocess = top.subprocesses.pop(task_id)
    for child_id in [i for i, sp in top.subprocesses.items() if sp.parent_task_id in subprocess.tasks]:
        if child_id in top.subprocesses:
            _drop_subprocess(top, child_id)


def reached_end(workflow: BpmnWorkflow) -> bool:
    """Whether the top-level process really finished: one of its end events completed and
    no task of it is still to run. ``is_completed()`` alone also turns true when
    SpiffWorkflow's iterator gives up at depth 1000 with the READY task below it."""
    tasks = workflow.tasks.values()
    if any(t._state & TaskState.DEFINITE_MASK for t in tasks):
        return False
    return any(t._state == TaskState.COMPLETED and isinstance(t.task_spec, EndEventMixin) for t in tasks)
