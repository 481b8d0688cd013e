"""The runtime side (SpiffWorkflow's spec/runtime separation): compiled versions
(compiled.py), service-task dispatch to the operations (dispatch.py), the one place
workflows run (run.py), what a run projects outside the workflow state (projection.py),
the applicant's answer (decision.py) and a change's transaction (transaction.py)."""
