"""免证办 certificate-free handling: materials the e-licence library (电子证照库) holds are
fetched and attached; the applicant is asked only for the rest.

A matter lists its materials in the catalogue, each with its source; a material whose
source is ``licence_library`` names its ``licence_type``. ``certificate_free.holder_field``
says which form field identifies the holder (resident ID or credit code). The result is
recorded on the application: what was fetched (with licence numbers), what the applicant
must still hand in, and how many materials the applicant was spared.

Operation ``materials.fetch``: needs the ``certificate_free`` policy, reads the library
(deferred when the library is configured so); effect: the record on the application.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Mapping

from engine.oversight.deadlines import local_day
from engine.events import EventKind, record
from engine.operations.base import EffectTarget, Operation, OperationContext, Result
from engine.sources import ReadStatus, Source, read

LIBRARY = "licence_library"
FORM = "form"  # the application form itself is the material (e.g. an annual report's figures)


def fetch(elements: Mapping[str, Any], data: Mapping[str, Any], sources: Mapping[str, Source],
          today: date) -> dict:
    """Attach every library material the holder has (valid on ``today``); list the others."""
    holder = str(data.get((elements.get("certificate_free") or {}).get("holder_field", ""), ""))
    wanted = [m for m in elements.get("materials", []) if m.get("required") and m.get("source") != FORM]
    licences, status = _licences(sources, holder)
    fetched, requested = [], []
    for material in wanted:
        held = licences.get(material.get("licence_type", "")) if material.get("source") == LIBRARY else None
        if held and _valid(held, today):
            fetched.append({"name": material["name"], "licence_no": held["licence_no"], "source": LIBRARY})
        else:
            requested.append(material["name"])
    return {"holder": holder, "fetched": fetched, "requested": requested, "avoided": len(fetched),
            "library": status}


def _licences(sources: Mapping[str, Source], holder: str) -> tuple[dict, str]:
    """The holder's licences, or none when the library does not answer (then the applicant
    hands everything in: nothing is lost, the application just is not certificate-free)."""
    reading = read(sources, LIBRARY, holder)
    if reading.status == ReadStatus.UNAVAILABLE:
        return {}, "unavailable"
    return (reading.data or {}).get("licences", {}), "ok"


def _valid(licence: Mapping[str, Any], today: date) -> bool:
    until = licence.get("valid_until")
    return until is None or date.fromisoformat(until) >= today


@dataclass(frozen=True)
class MaterialsFetched:
    """What came from the library and what is still asked for, on the application (免证办)."""

    result: dict

    def apply(self, target: EffectTarget) -> None:
        target.application.materials = self.result
        record(target.session, EventKind.MATERIALS_FETCHED, target.actor, target.now, self.result,
               application=target.application)


def _fetch(context: OperationContext, params: dict, data: dict) -> Result:
    result = fetch(context.policy, data, context.sources, local_day(context.clock()))
    return Result(result, (MaterialsFetched(result),))


FETCH = Operation("materials.fetch", _fetch, "attach what the e-licence library holds (免证办)",
                  policy="certificate_free", reads=lambda context: (LIBRARY,))
