"""免证办 certificate-free handling: materials the e-licence library (电子证照库) holds are
fetched and attached; the applicant is asked only for the rest.

A matter lists its materials in the catalogue, each with its source; a material whose
source is ``licence_library`` names its ``licence_type``. ``certificate_free.holder_field``
says which form field identifies the holder (resident ID or credit code). The result is
recorded on the application: what was fetched (with licence numbers), what the applicant
must still hand in, and how many materials the applicant was spared.
"""
from __future__ import annotations

from datetime import date
from typing import Any, Mapping

from engine.errors import SourceUnavailable
from engine.sources import Source

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
    try:
        record = sources[LIBRARY].lookup(holder)
    except SourceUnavailable:
        return {}, "unavailable"
    return (record.data or {}).get("licences", {}), "ok"


def _valid(licence: Mapping[str, Any], today: date) -> bool:
    until = licence.get("valid_until")
    return until is None or date.fromisoformat(until) >= today
