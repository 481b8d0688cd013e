"""Authoring matters without hand-writing BPMN, rules and forms (the analyst's workbench).

- ``templates.py``: the four templates (秒批, 智能审批, 告知承诺, 综合窗口) and the files each makes
- ``criteria.py``: what a template's rules check (秒批 criteria, 智能审批 comparisons)
- ``guide.py``: the guide (办事指南) an analyst fills in, checked with every problem at once
- ``matters.py``: creating a matter from a template, editing its guide (a new version)
- ``materials.py``: material names normalised against processes/materials_dictionary.yaml
- ``catalogue_import.py``: a national catalogue export (事项库, JSON or CSV) imported row by row
"""
