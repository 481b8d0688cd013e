"""Task forms (办理表单): what a clerk (or, for 补正, the applicant) fills to complete a BPMN
user task, as form-js schemas — ``<name>.form.json``, the name a user task gives in its
``taskForm`` property. An analyst edits them in the form-js editor like the applicant forms
beside this package; engine/definitions/task_forms.py loads them with the same compiler
(forms/definition.py) and adds the rules between fields that form-js cannot state.
"""
