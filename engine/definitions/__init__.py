"""The spec side: deploy and version definitions (BPMN/DMN parsing, structure
checks, matter policy, task forms), the catalogue, replay of candidates, guides."""
