"""Parsing BPMN/DMN safely and (de)serializing SpiffWorkflow state.

The XML parser never resolves entities, loads a DTD or touches the network; a document
that declares a DOCTYPE is refused outright (XXE, billion laughs). Specs are serialized
once per service definition; each application stores only its instance state.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from lxml import etree
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.mixins import EndEventMixin
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

MAX_DOCUMENT_BYTES = 1_000_000
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DECLARATIONS = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))


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
    parser = SpiffBpmnParser()
    root = _xml(bpmn, filename)
    _refuse(_unresolved_calls(root, filename))
    try:
        parser.add_bpmn_xml(root, filename)
        for index, table in enumerate(dmn):
            parser.add_dmn_xml(_xml(table, f"{filename}#dmn{index}"), f"{filename}#dmn{index}")
        chosen = _choose_process(parser.get_process_ids(), process_id, filename)
        parsed = ParsedProcess(chosen, parser.get_spec(chosen), parser.get_subprocess_specs(chosen))
    except SpiffWorkflowException as exc:
        raise ProcessProblem(filename, str(exc).splitlines()[0].strip(), getattr(exc, "id", ""),
                             getattr(exc, "line_number", None)) from exc
    _refuse(_dead_ends(parsed, filename))
    return parsed


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
    parts = _spec_parts(spec_json)
    spec = SERIALIZER.from_dict(parts["spec"])
    subprocess_specs = {name: SERIALIZER.from_dict(s) for name, s in parts["subprocess_specs"].items()}
    return BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine)


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
