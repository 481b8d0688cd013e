"""Parsing BPMN/DMN safely and (de)serializing SpiffWorkflow state.

The XML parser never resolves entities, loads a DTD or touches the network; a document
that declares a DOCTYPE is refused outright (XXE, billion laughs). Specs are serialized
once per service definition; each application stores only its instance state.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from lxml import etree
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

MAX_DOCUMENT_BYTES = 1_000_000
SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))


class ProcessProblem(Exception):
    """A BPMN/DMN document that cannot be deployed; ``element_id`` and ``line`` say where."""

    def __init__(self, filename: str, reason: str, element_id: str = "", line: int | None = None) -> None:
        super().__init__(reason)
        self.problem = {"file": filename, "element_id": element_id, "reason": reason}
        if line is not None:
            self.problem["line"] = str(line)


@dataclass(frozen=True)
class ParsedProcess:
    process_id: str
    spec: object
    subprocess_specs: dict


def _xml(text: str, filename: str) -> etree._Element:
    data = text.encode("utf-8")
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ProcessProblem(filename, f"document larger than {MAX_DOCUMENT_BYTES} bytes")
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

    With several executable processes in the file, ``process_id`` picks one.
    """
    parser = SpiffBpmnParser()
    try:
        parser.add_bpmn_xml(_xml(bpmn, filename), filename)
        for index, table in enumerate(dmn):
            parser.add_dmn_xml(_xml(table, f"{filename}#dmn{index}"), f"{filename}#dmn{index}")
        ids = parser.get_process_ids()
        chosen = _choose_process(ids, process_id, filename)
        return ParsedProcess(chosen, parser.get_spec(chosen), parser.get_subprocess_specs(chosen))
    except SpiffWorkflowException as exc:
        raise ProcessProblem(filename, str(exc).splitlines()[0], getattr(exc, "id", "") or "",
                             getattr(exc, "line_number", None)) from exc


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
