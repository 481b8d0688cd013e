"""Task forms (办理表单): what a person enters to complete a human task, chosen per BPMN user task.

A user task names its form with the extension property ``taskForm`` (SpiffWorkflow's
``spiffworkflow:properties``); without one it gets ``review``. The validated answer is
put into the workflow's data under the form's name (``review``, ``intake``…), so gateway
conditions read e.g. ``intake['outcome'] == 'supplement'`` — the latest answer of that
form — and under ``answers[<user task id>]``, so every step's answer stays: of two review
steps (or four departments' reviews in parallel, merged at the join) none overwrites
another. Forms are checked at deploy time: a user task naming an unknown form is refused
there, not when a clerk meets it.

Each form is a form-js schema, forms/tasks/<name>.form.json, that an analyst edits in the
form-js editor and a clerk page renders with the form-js viewer (``describe``). It is
compiled once, at import, by the compiler of the applicant forms (forms/definition.py):
fields, types, choices, lengths. What form-js cannot say — one field required by the
answer of another — is a rule here, in ``RULES`` (one function per rule, each returning
field -> messages), applied once the compiled form accepts the answer. A rule reads the
answer with ``get``: an analyst may make a field optional or drop its default.

The intake form's missing materials (所缺材料) are options that come with the data the page
shows the form with (``valuesKey: matter_materials``: the matter's materials); the form
takes any names, and engine/tasks.py checks them against the matter's catalogue.

Who fills a task is engine/people/assignment.py's matter.
"""
from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import InvalidInput, Problem
from engine.policy.grants import AMOUNT, as_json_number, exact
from engine.store.models import Outcome
from engine.uploads.references import reference_problem
from forms import tasks as shipped_task_forms
from forms.definition import REQUIRED, Form, FormDefinitionError, FormValidationError, load_form

DEFAULT_FORM = "review"
ANSWERS = "answers"  # workflow data: user task id -> its answer
FORMS_DIR = Path(shipped_task_forms.__file__).parent  # forms/tasks/<name>.form.json
SUFFIX = ".form.json"
REASON_REQUIRED = "请说明理由 a reason is required"
REQUIRED_FOR_MAIL = "邮寄须填写 required for mail"

Errors = dict[str, list[str]]
Rule = Callable[[Mapping[str, Any]], Errors]


# --- rules between fields (form-js cannot state them) ----------------------------------

def rejection_states_reason(answer: Mapping[str, Any]) -> Errors:
    """审核: 不予批准 states its reason."""
    if answer.get("outcome") == Outcome.REJECT and not answer.get("comment"):
        return {"comment": ["不予批准须说明理由 a rejection states its reason"]}
    return {}


def refusal_states_reason(answer: Mapping[str, Any]) -> Errors:
    """受理: 不予受理 states its reason."""
    if answer.get("outcome") == "refuse" and not answer.get("comment"):
        return {"comment": [REASON_REQUIRED]}
    return {}


def supplement_lists_materials(answer: Mapping[str, Any]) -> Errors:
    """受理: 一次性告知 names every missing material at once."""
    if answer.get("outcome") == "supplement" and not answer.get("missing_materials"):
        return {"missing_materials": ["一次性告知须列明全部所缺材料 list every missing material"]}
    return {}


def mail_needs_tracking(answer: Mapping[str, Any]) -> Errors:
    """出件: what is mailed has a courier, a tracking number and an address."""
    if answer.get("method") != "mail":
        return {}
    return {name: [REQUIRED_FOR_MAIL] for name in ("courier", "tracking_no", "address") if not answer.get(name)}


def pickup_names_collector(answer: Mapping[str, Any]) -> Errors:
    """出件: what is handed over at the window names who collected it."""
    if answer.get("method") == "pickup" and not answer.get("collected_by"):
        return {"collected_by": ["现场领取须填写领取人 who collected it"]}
    return {}


def check_is_stated(answer: Mapping[str, Any]) -> Errors:
    """核查: passed or not is always stated. A form-js checkbox sends false unticked, but a
    required checkbox means "must be ticked", so the form cannot require an answer either way."""
    return {} if "passed" in answer else {"passed": [REQUIRED]}


def failure_states_findings(answer: Mapping[str, Any]) -> Errors:
    """核查: a failed check states what was found."""
    if answer.get("passed") is False and not answer.get("findings"):
        return {"findings": ["核查不通过须写明核查情况 a failed check states its findings"]}
    return {}


def uploads_are_named_by_id(answer: Mapping[str, Any]) -> Errors:
    """补正: a material naming an upload names it ``upload:<id>`` (whether that upload may
    be used is engine/uploads/attaching.py's check, when the answer is taken)."""
    materials = answer.get("materials")
    return {f"materials.{index}.reference": [problem]
            for index, material in enumerate(materials if isinstance(materials, list) else [])
            if isinstance(material, dict) and (problem := reference_problem(material.get("reference")))}


RULES: dict[str, tuple[Rule, ...]] = {  # by form name; a form without rules has no entry
    "review": (rejection_states_reason,),
    "supplement": (uploads_are_named_by_id,),
    "intake": (refusal_states_reason, supplement_lists_materials),
    "delivery": (mail_needs_tracking, pickup_names_collector),
    "verification": (check_is_stated, failure_states_findings),
}


# --- the registry ------------------------------------------------------------------------

@dataclass(frozen=True)
class TaskForm:
    """One task form: its form-js schema as the file holds it, compiled, and its rules."""

    name: str
    schema: dict
    form: Form
    rules: tuple[Rule, ...]

    def errors(self, answer: Mapping[str, Any]) -> Errors:
        """Every rule's errors, merged by field."""
        found: Errors = {}
        for rule in self.rules:
            for key, messages in rule(answer).items():
                found.setdefault(key, []).extend(messages)
        return found


def _load(path: Path) -> TaskForm:
    name = path.name.removesuffix(SUFFIX)
    text = path.read_text(encoding="utf-8")
    form = load_form(text, str(path), data_choices=True)
    if form.id != name:
        raise FormDefinitionError(str(path), [f"form id {form.id!r} is not the task form's name {name!r}"])
    return TaskForm(name, json.loads(text), form, RULES.get(name, ()))


def _load_all() -> dict[str, TaskForm]:
    """Every forms/tasks/*.form.json, by name; rules only for forms that exist."""
    loaded = {task_form.name: task_form for task_form in map(_load, sorted(FORMS_DIR.glob(f"*{SUFFIX}")))}
    if stray := sorted(set(RULES) - set(loaded)):
        raise FormDefinitionError(str(FORMS_DIR), [f"rules for task forms that do not exist: {', '.join(stray)}"])
    return loaded


TASK_FORMS: dict[str, TaskForm] = _load_all()


def form_name(task_spec) -> str:
    """The form a user task declares (``taskForm`` property, or Camunda Modeler's
    ``formKey``), or the review form."""
    extensions = getattr(task_spec, "extensions", None) or {}
    properties = extensions.get("properties") or {}
    return properties.get("taskForm") or (extensions.get("camunda") or {}).get("formKey") or DEFAULT_FORM


def check_task_forms(specs: list, filename: str) -> list[Problem]:
    """Deploy-time: every user task names a form this engine has."""
    return [Problem(filename, task_spec.bpmn_id or "", None,
                    f"unknown taskForm {form_name(task_spec)!r}; known: {', '.join(TASK_FORMS)}")
            for spec in specs for task_spec in spec.task_specs.values()
            if getattr(task_spec, "manual", False) and form_name(task_spec) not in TASK_FORMS]


def validate_answer(name: str, answer: Any) -> dict:
    """The cleaned answer, or InvalidInput (422) with every field error at once: first the
    form's own, then, once the form accepts the answer, its rules'. An optional field left
    blank holds its default ("" for a comment, [] for missing materials). An amount is kept
    as the exact number given: an int when whole (engine/policy/grants.py)."""
    task_form = TASK_FORMS[name]
    try:
        cleaned = task_form.form.validate(answer)
    except FormValidationError as exc:
        raise InvalidInput("the task form has errors", exc.errors) from exc
    errors = task_form.errors(cleaned)
    if errors:
        raise InvalidInput("the task form has errors", errors)
    if AMOUNT in cleaned:
        cleaned[AMOUNT] = as_json_number(exact(cleaned[AMOUNT]))
    return cleaned


def describe(name: str) -> dict:
    """The form-js schema of the form, for the clerk page to render with the form-js viewer."""
    return copy.deepcopy(TASK_FORMS[name].schema)
