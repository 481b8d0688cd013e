"""场景式服务 scenario-based guides: a matter's guide asks about the applicant's situation,
and the materials that apply follow from the answers.

The catalogue entry lists its questions (``scenarios``: id, question, options) and marks a
material with ``when: {question: answer}`` when it applies only in that situation, so the
applicant sees exactly what to prepare instead of every material any case might need.
"""
from __future__ import annotations

from typing import Any, Mapping

from engine.errors import InvalidInput


def materials_for(elements: Mapping[str, Any], answers: Mapping[str, Any]) -> dict:
    """The materials and conditions for these answers; every question must be answered
    with one of its options (422 naming each question that is not)."""
    questions = {q["id"]: q for q in elements.get("scenarios", [])}
    errors = {key: ["不是本事项的情形问题 not a question of this matter's guide"]
              for key in answers if key not in questions}
    for key, question in questions.items():
        if str(answers.get(key)) not in question["options"]:
            errors[key] = [f"{question['question']} 请选择 one of: {', '.join(question['options'])}"]
    if errors:
        raise InvalidInput("the situation answers have errors", errors)
    chosen = {key: str(value) for key, value in answers.items()}
    materials = [_material(m) for m in elements.get("materials", [])
                 if all(chosen.get(k) == str(v) for k, v in (m.get("when") or {}).items())]
    return {"answers": chosen, "materials": materials, "conditions": list(elements.get("conditions", []))}


def _material(material: Mapping[str, Any]) -> dict:
    return {"name": material["name"], "required": bool(material.get("required")),
            "form": material.get("form"), "source": material.get("source")}
