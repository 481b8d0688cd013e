"""Parsing BPMN/DMN safely: documents are read as XML with no entities or DTDs, parsed by
SpiffWorkflow's parser with OneWindow's task specs, and checked for what the engine cannot
run (unsupported elements, dead ends, loops that never wait) — every problem located."""
from __future__ import annotations

import ast
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

from lxml import etree
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.dmn.parser.DMNParser import DMNParser
from SpiffWorkflow.dmn.specs.model import DecisionTable
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import (
    BusinessRuleTaskParser,
    SpiffTaskParser,
    UserTaskParser,
)
from SpiffWorkflow.spiff.serializer.task_spec import BusinessRuleTaskConverter
from SpiffWorkflow.spiff.specs.defaults import BusinessRuleTask, ManualTask, UserTask

from engine.definitions.structure import (
    BPMN_NS,
    dead_ends,
    loops,
    unresolved_calls,
    unsupported,
    xml_code_problems,
)
from engine.people.assignment import camunda_attributes
from engine.errors import Problem

MAX_DOCUMENT_BYTES = 1_000_000
log = logging.getLogger(__name__)


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
    (engine/people/assignment.py reads them; they travel with the serialized spec)."""

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


class ProcessProblem(Exception):
    """A BPMN/DMN document that cannot be deployed; each problem names file, element and line."""

    def __init__(self, filename: str, reason: str, element_id: str = "", line: int | None = None,
                 more: list[Problem] | None = None) -> None:
        super().__init__(reason)
        self.problems = [Problem(filename, element_id or "", line, reason), *(more or [])]


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
    problems: list[Problem]
    where: dict[str, tuple[str, int]]

    def located(self, problems: list[Problem]) -> list[Problem]:
        """Problems whose element is known get its file and line (checks of parsed specs know
        the element only)."""
        return [replace(p, file=file, line=line) for p in problems
                for file, line in [self.where.get(p.element, (p.file, p.line))]]


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
        problems += unresolved_calls(root, name, processes) + unsupported(root, name)
    if problems or not roots:
        return ProcessReading(None, problems + xml_code_problems(roots) if roots else problems, where)
    try:
        parsed = _parse(roots, tables, process_id)
    except ProcessProblem as exc:
        return ProcessReading(None, exc.problems + xml_code_problems(roots), where)
    return ProcessReading(parsed, dead_ends(parsed, next(iter(roots))) + loops(parsed, next(iter(roots))), where)


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
        where = Problem(filename, element.get("id", ""), element.sourceline)
        if name in _DMN_IDENTIFIED and not element.get("id"):
            problems.append(replace(where, reason=f"{name} has no id"))
        if name == "inputEntry" and _child(element, "text") is None:
            problems.append(replace(where, reason="inputEntry has no text ('-' matches anything)"))
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
    return any(isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Store)
               for _, tree in _script_trees(bpmn, filename) for node in ast.walk(tree))


def assigned_literals(bpmn: str, filename: str, name: str) -> list[tuple[str, int, str]]:
    """(element id, line, value) of every text constant a script assigns to ``name``:
    ``name = 'x'``, or either branch of ``name = 'x' if … else 'y'``."""
    found = []
    for script, tree in _script_trees(bpmn, filename):
        element = script.getparent().get("id", "")
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
                values = [node.value.body, node.value.orelse] if isinstance(node.value, ast.IfExp) else [node.value]
                found += [(element, script.sourceline + node.lineno - 1, value.value) for value in values
                          if isinstance(value, ast.Constant) and isinstance(value.value, str)]
    return found


def _script_trees(bpmn: str, filename: str) -> Iterator[tuple[etree._Element, ast.AST]]:
    """Every script of the document with its syntax tree; one that does not parse is left out
    (the sandbox's check refuses it with its line)."""
    for script in _xml(bpmn, filename).iter(f"{{{BPMN_NS}}}script"):
        try:
            yield script, ast.parse(script.text or "")
        except SyntaxError:
            continue


def _child(element: etree._Element, name: str) -> etree._Element | None:
    return next((c for c in element if isinstance(c.tag, str) and etree.QName(c).localname == name), None)


def _entry_counts(rule: etree._Element, where: Problem) -> list[Problem]:
    table = rule.getparent()
    if table is None:
        return []
    problems = []
    for entry, column in (("inputEntry", "input"), ("outputEntry", "output")):
        entries = sum(1 for c in rule if isinstance(c.tag, str) and etree.QName(c).localname == entry)
        columns = sum(1 for c in table if isinstance(c.tag, str) and etree.QName(c).localname == column)
        if entries > columns:
            problems.append(replace(where, reason=f"rule has {entries} {entry}(s) for {columns} {column}(s)"))
    return problems


def _refuse(problems: list[Problem]) -> None:
    if problems:
        first = problems[0]
        raise ProcessProblem(first.file, first.reason, first.element, first.line, problems[1:])


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
