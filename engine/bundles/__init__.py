"""一件事一次办: bundles of matters ordered together with one form and answered as one.

- ``policy.py``: a bundle's members, how its one form feeds theirs (一表申请), selection,
  what a refusal does to the others; the member step of a bundle's BPMN.
- ``members.py``: the run side — starting member applications when their steps are ready,
  completing the steps when they are answered, withdrawing the rest when the bundle stops.
- ``orders.py``: the applicant's use cases — submit a bundle, order a cart (政务超市), the
  combined status.
- ``cart.py``: which matters may be ordered together, and their merged form.
"""
