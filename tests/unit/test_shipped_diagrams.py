"""Every shipped BPMN carries its diagram (BPMN DI), so it opens in bpmn-js and Camunda
Modeler as drawn: a shape for each flow node, an edge with waypoints for each sequence
flow. The diagram is drawing only: the engine reads the same task specs without it."""
from __future__ import annotations

import pytest
from lxml import etree

from engine.config import REPO_ROOT
from engine.definitions.bpmn import parse_process
from engine.definitions.catalogue import read_catalogue

PROCESSES = REPO_ROOT / "processes"
BPMN_FILES = sorted(PROCESSES.glob("*.bpmn"))
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
      "dc": "http://www.omg.org/spec/DD/20100524/DC",
      "di": "http://www.omg.org/spec/DD/20100524/DI"}
ACTIVITIES = {"task", "subProcess", "callActivity", "transaction", "adHocSubProcess"}


def is_flow_node(element) -> bool:
    if not isinstance(element.tag, str) or etree.QName(element).namespace != NS["bpmn"]:
        return False
    kind = etree.QName(element).localname
    return (kind in ACTIVITIES or kind.endswith(("Task", "Event", "Gateway"))
            or element.find("bpmn:incoming", NS) is not None or element.find("bpmn:outgoing", NS) is not None)


def test_there_are_shipped_processes():
    assert BPMN_FILES


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_every_flow_node_and_flow_is_drawn(path):
    root = etree.parse(str(path)).getroot()
    process = root.find("bpmn:process", NS)
    collaborations = root.xpath("bpmn:collaboration[bpmn:participant/@processRef=$p]/@id", namespaces=NS,
                                p=process.get("id"))
    planes = root.findall("bpmndi:BPMNDiagram/bpmndi:BPMNPlane", NS)
    assert len(planes) == 1, "one diagram"
    assert planes[0].get("bpmnElement") in {process.get("id"), *collaborations}

    shapes = {}
    for shape in root.iterfind(".//bpmndi:BPMNShape", NS):
        assert shape.get("bpmnElement") not in shapes, f"two shapes for {shape.get('bpmnElement')}"
        shapes[shape.get("bpmnElement")] = shape
    nodes = [e.get("id") for e in process.iter() if is_flow_node(e)]
    assert nodes
    for node in nodes:
        assert node in shapes, f"no shape for {node}"
        bounds = shapes[node].find("dc:Bounds", NS)
        assert float(bounds.get("width")) > 0 and float(bounds.get("height")) > 0, node

    edges = {}
    for edge in root.iterfind(".//bpmndi:BPMNEdge", NS):
        assert edge.get("bpmnElement") not in edges, f"two edges for {edge.get('bpmnElement')}"
        edges[edge.get("bpmnElement")] = edge
    for flow in process.iterfind(".//bpmn:sequenceFlow", NS):
        assert flow.get("id") in edges, f"no edge for {flow.get('id')}"
        assert len(edges[flow.get("id")].findall("di:waypoint", NS)) >= 2, flow.get("id")

    ids = {e.get("id") for e in root.iter() if isinstance(e.tag, str)}
    assert set(shapes) | set(edges) <= ids  # nothing drawn that the model does not have


def without_diagram(text: str) -> str:
    tree = etree.ElementTree(etree.fromstring(text.encode("utf-8")))
    for diagram in tree.getroot().findall("bpmndi:BPMNDiagram", NS):
        tree.getroot().remove(diagram)
    return etree.tostring(tree, encoding="unicode")


def task_specs(parsed) -> list[tuple[str, str | None]]:
    return sorted((spec.name, getattr(spec, "bpmn_id", None))
                  for process in [parsed.spec, *parsed.subprocess_specs.values()]
                  for spec in process.task_specs.values())


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_the_engine_reads_the_same_process_without_the_diagram(path):
    dmn_names = {name for entry in read_catalogue() if entry["bpmn"] == path.name for name in entry.get("dmn", [])}
    dmn = [(PROCESSES / name).read_text(encoding="utf-8") for name in sorted(dmn_names)]
    text = path.read_text(encoding="utf-8")
    stripped = without_diagram(text)
    assert "BPMNDiagram" not in stripped
    assert task_specs(parse_process(text, path.name, dmn)) == task_specs(parse_process(stripped, path.name, dmn))
