"""Application forms (申请表): form-js definitions validated with marshmallow, plus ID checks.

Shipped forms live next to this file as ``<matter>.form.json`` so they can be opened and
edited in the bpmn.io form-js editor.
"""
from forms.definition import Form, FormDefinitionError, FormValidationError, load_form, load_form_file
from forms.identifiers import (birth_date_from_id, credit_code_problem, is_valid_credit_code,
                               is_valid_resident_id, make_credit_code, make_resident_id,
                               resident_id_problem)

__all__ = [
    "Form",
    "FormDefinitionError",
    "FormValidationError",
    "birth_date_from_id",
    "credit_code_problem",
    "is_valid_credit_code",
    "is_valid_resident_id",
    "load_form",
    "load_form_file",
    "make_credit_code",
    "make_resident_id",
    "resident_id_problem",
]
