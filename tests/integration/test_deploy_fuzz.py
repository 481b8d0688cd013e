"""Fuzzing the deploy endpoint with what analysts' tools could send: the shipped BPMN, DMN,
rule sets and forms and the modellers' examples, mutated element by element (removed,
doubled, renamed, attributes changed, text replaced, cut short) and sent as single files
and as named file sets, to deploy and to the dry run. Whatever comes in, the answer is
201/200 or a 4xx with problems, never a 5xx.

The uploads go to copies of the shipped matters (``fuzz_<code>``): a mutated version that
deploys must not become the live version other tests' applications start on. Derandomised,
so CI sends the same uploads on every run; ONEWINDOW_FUZZ_EXAMPLES=2000 explores further
by hand.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from lxml import etree

from engine.people import users
from engine.definitions.catalogue import read_catalogue, upload_for, upsert_matter
from engine.config import REPO_ROOT
from engine.demo import DEMO_PASSWORD

EXAMPLES = int(os.environ.get("ONEWINDOW_FUZZ_EXAMPLES", "150"))
FUZZ = "fuzz_"
MODELLERS = Path(__file__).parent / "fixtures" / "modellers"
ENTRIES = read_catalogue()
XML_SEEDS = sorted([*(REPO_ROOT / "processes").glob("*.bpmn"), *(REPO_ROOT / "processes").glob("*.dmn"),
                    *MODELLERS.glob("*.bpmn")])
NOISE = st.sampled_from(["", "x", "0", "-1", "Start", "End", "${x}", "camunda", "__import__('os')", "\x00",
                         "\ud800", "‮", "a" * 300, "P1D", "R/PT1S", "outcome = 'approve'", "😀", "1e400",
                         "{", "<", "&amp;", "]]>", "true", "false", "null"])
TAGS = st.sampled_from(["startEvent", "endEvent", "userTask", "scriptTask", "serviceTask", "callActivity",
                        "subProcess", "exclusiveGateway", "parallelGateway", "intermediateCatchEvent",
                        "boundaryEvent", "sequenceFlow", "lane", "decision", "rule", "inputEntry", "text"])


@st.composite
def mutated_xml(draw) -> str:
    """A shipped or modeller-made document with a few random edits."""
    root = etree.fromstring(draw(st.sampled_from(XML_SEEDS)).read_bytes())
    for _ in range(draw(st.integers(1, 4))):
        elements = [e for e in root.iter(etree.Element)]
        element = draw(st.sampled_from(elements))
        edit = draw(st.sampled_from(["drop", "double", "rename", "attribute", "text", "strip_id"]))
        parent = element.getparent()
        if edit == "drop" and parent is not None:
            parent.remove(element)
        elif edit == "double" and parent is not None:
            parent.append(etree.fromstring(etree.tostring(element)))
        elif edit == "rename":
            element.tag = f"{{{etree.QName(element).namespace}}}{draw(TAGS)}" if etree.QName(element).namespace \
                else draw(TAGS)
        elif edit == "attribute":
            name = draw(st.sampled_from([*element.attrib.keys(), "id", "name", "sourceRef", "targetRef",
                                         "calledElement", "isInterrupting", "triggeredByEvent", "scriptFormat"]))
            element.set(name, draw(NOISE).replace("\x00", "").replace("\ud800", ""))
        elif edit == "text":
            element.text = draw(NOISE).replace("\x00", "").replace("\ud800", "")
        elif edit == "strip_id" and "id" in element.attrib:
            del element.attrib["id"]
    text = etree.tostring(root, encoding="unicode")
    if draw(st.booleans()):
        return text
    cut = draw(st.integers(0, len(text)))
    return text[:cut] + draw(NOISE) + text[cut + draw(st.integers(0, 40)):]


def mutated_text(seed: str):
    """A rule set or form with a piece replaced by noise (often still valid YAML/JSON)."""
    return st.tuples(st.integers(0, len(seed)), st.integers(0, 30), NOISE).map(
        lambda t: seed[:t[0]] + t[2] + seed[t[0] + t[1]:])


@st.composite
def uploads(draw) -> dict:
    entry = draw(st.sampled_from(ENTRIES))
    shipped = upload_for(entry)
    bpmn = draw(st.one_of(mutated_xml(), st.just(shipped.bpmn)))
    ruleset = draw(st.one_of(mutated_text(shipped.ruleset), st.just(shipped.ruleset)))
    form = draw(st.one_of(mutated_text(shipped.form), st.just(shipped.form)))
    dmn = draw(st.lists(mutated_xml(), max_size=2))
    matter = FUZZ + entry["code"]
    if draw(st.booleans()):
        return {"matter": matter, "bpmn": bpmn, "ruleset": ruleset, "form": form, "dmn": dmn}
    files = {f"{entry['code']}.bpmn": bpmn, "rules.yaml": ruleset, "form.json": form,
             **{f"d{i}.dmn": text for i, text in enumerate(dmn)}}
    if draw(st.booleans()):
        files[draw(st.sampled_from(["part.bpmn", "extra.bpmn", "notes.txt", "more.yaml"]))] = draw(mutated_xml())
    return {"matter": matter, "files": files}


@pytest.fixture(scope="module")
def analyst(services) -> str:
    """An analyst, and the copies of the shipped matters the uploads go to."""
    with services.sessions() as session:
        for entry in ENTRIES:
            upsert_matter(session, {**entry, "code": FUZZ + entry["code"]})
        users.create_user(session, "deploy_fuzz_analyst", DEMO_PASSWORD, "analyst")
        session.commit()
    return "deploy_fuzz_analyst"


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(upload=uploads(), dry_run=st.booleans())
def test_no_upload_gets_a_server_error(api, analyst, upload, dry_run):
    path = "/api/definitions/validate" if dry_run else "/api/definitions"
    # json.dumps escapes lone surrogates (\\ud800) as a JSON client would send them
    reply = api.post(path, analyst, data=json.dumps(upload), content_type="application/json")
    assert reply.status_code < 500, (reply.status_code, reply.get_json())
    if reply.status_code == 400:
        problems = reply.get_json().get("problems") or reply.get_json().get("errors")
        assert problems, reply.get_json()
