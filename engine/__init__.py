"""The OneWindow engine: BPMN matters run on SpiffWorkflow, one noun per module.

engine/README.md maps each domain word to its module; ``engine.services.Services`` is what
the API and the workers use. Nothing here imports Flask or RQ.
"""
