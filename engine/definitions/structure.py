"""What the engine cannot run, found in an upload before anything is parsed further: elements
and script formats it does not support, code the sandbox refuses, calls to processes not
uploaded, paths that end nowhere, and loops that never wait for anyone."""
from __future__ import annotations

from typing import TYPE_CHECKING

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timers
from SpiffWorkflow.bpmn.specs.mixins import (
    EndEventMixin,
    ExclusiveGatewayMixin,
    InclusiveGatewayMixin,
)
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import (
    BoundaryEvent,
    IntermediateCatchEvent,
)
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask

from engine.people.assignment import CAMUNDA_NS
from engine.errors import Problem

if TYPE_CHECKING:
    from engine.definitions.bpmn import ParsedProcess


BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def xml_code_problems(roots: dict[str, etree._Element]) -> list[Problem]:
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
                problems.append(Problem(name, owner.get("id", ""), element.sourceline,
                                        f"{'script' if mode == 'exec' else 'condition'}: {exc.reason}"))
    return problems


def unresolved_calls(root: etree._Element, filename: str, processes: set[str]) -> list[Problem]:
    """Call activities must call a process deployed with them (in the same upload)."""
    return [Problem(filename, call.get("id", ""), call.sourceline,
                    f"calls process {call.get('calledElement')!r}, which is not in this upload")
            for call in root.iter(f"{{{BPMN_NS}}}callActivity") if call.get("calledElement") not in processes]


RESERVED_IDS = frozenset({"Start", "Root", "End"})  # SpiffWorkflow's own task names in every workflow
PYTHON_SCRIPT_FORMATS = frozenset({"", "python", "python3", "text/x-python"})
CAMUNDA_IMPLEMENTATIONS = ("class", "delegateExpression", "expression", "type")


def unsupported(root: etree._Element, filename: str) -> list[Problem]:
    """What this engine cannot run, found in the document before it is parsed, each with
    what to use instead: it would otherwise be accepted and fail (or 500) at run time."""
    problems = []

    def refuse(element: etree._Element, reason: str) -> None:
        problems.append(Problem(filename, element.get("id", ""), element.sourceline, reason))

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


def dead_ends(parsed: ParsedProcess, filename: str) -> list[Problem]:
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
                problems.append(Problem(filename, bpmn_id, None, f"{type(task_spec).__name__} has no outgoing sequence flow"))
    return problems


def _waits_or_decides(task_spec) -> bool:
    """A flow node where a loop may stop or leave: a gateway that decides, a human task,
    or an event that waits (timer, message, signal, receive task)."""
    return (task_spec.manual or isinstance(task_spec, (ExclusiveGatewayMixin, InclusiveGatewayMixin, CatchingEvent)))


def loops(parsed: ParsedProcess, filename: str) -> list[Problem]:
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
                    problems.append(Problem(filename, bpmn_id, None, (
                        f"{bpmn_id} is on a loop of sequence flows with no exclusive/inclusive gateway and no "
                        f"wait state (human task or catching event): it would run for ever")))
                    continue
            definition = getattr(task_spec, "event_definition", None)
            if (isinstance(task_spec, IntermediateCatchEvent) and not isinstance(task_spec, BoundaryEvent)
                    and isinstance(definition, spiff_timers.CycleTimerEventDefinition)
                    and _cycle_through(task_spec, lambda t: True)):
                reported.add(task_spec.name)
                problems.append(Problem(filename, bpmn_id, None, (
                    f"{bpmn_id} is a cycle timer (timeCycle) on a loop: every tick adds another waiting timer. "
                    f"Loop through a duration timer (timeDuration) instead, or put the cycle on a "
                    f"non-interrupting boundary event")))
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
