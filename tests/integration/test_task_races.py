"""Two clerks acting on one task at the same moment (issue 11, item 6).

Each task action (claim, release, delegate, complete, send back) moves the task's
version, so of two actions released together by a barrier exactly one commits when
they exclude each other, and the other gets 409; an action that may follow the other
(release, then anything) either follows it or gets 409 — the outcome and the audit
trail are always those of one serial order, never a lost update, never a 500.

The task raced for is the housing department's review (部门审核) of a road occupation
application the window has accepted, so send-back has a target (the window's intake).
On PostgreSQL the two requests really run at once; on SQLite writers queue (BEGIN
IMMEDIATE), but complete and send-back end their reads before the workflow runs, so
there too the version column is what keeps the later write from overwriting the first.
"""
from __future__ import annotations

import itertools
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

import pytest
from sqlalchemy import event, select

from engine.people import identity, users
from engine.demo import DEMO_PASSWORD
from engine.store.models import Event, Task, User
from engine.store.registries import RegistryPerson
from forms.identifiers import make_resident_id
from tests.integration.test_comprehensive_window import MATERIALS

EXCLUSIVE_ROUNDS = 10
RELEASE_ROUNDS = 10
# A release is short (read, write) and the other action long (the workflow runs): besides
# the rounds at the same moment, the release starts later and later into the other's
# transaction, where a lost update (a completed task reopened) would happen.
RELEASE_LAGS_MS = (0, 0, 0, 5, 10, 15, 20, 30, 40, 60)
INTAKE, REVIEW, APPROVE = "Task_intake", "Task_review", "Task_approve"


class State(NamedTuple):
    """What the race decides about the task: its status, who holds it, who completed it."""

    status: str
    assignee: str | None = None
    completed_by: str | None = None


@dataclass(frozen=True)
class Action:
    """One clerk's request on the task, and what it does when it is allowed (the model
    the outcome is checked against: engine/applications.py's rules, one at a time)."""

    kind: str  # claim | release | delegate | complete | send-back
    actor: str
    to: str | None = None  # delegate: the colleague
    note: str = ""  # tells the two answers of one kind apart in the stored result

    def request(self, task_id: int) -> tuple[str, dict | None]:
        path = f"/api/tasks/{task_id}/{self.kind}"
        body = {"delegate": {"to": self.to},
                "complete": {"outcome": "approve", "comment": self.note},
                "send-back": {"to": INTAKE, "reason": self.note or "请补充说明"}}.get(self.kind)
        return path, body

    def apply(self, state: State) -> tuple[State, tuple | None] | None:
        """The state after this action and its audit entry; None if it must be refused."""
        mine_or_open = state.status == "open" or (state.status == "claimed" and state.assignee == self.actor)
        if self.kind == "claim":
            if state.status == "claimed" and state.assignee == self.actor:
                return state, None  # claiming one's own task again changes nothing
            return (State("claimed", self.actor), ("task.claimed", self.actor, None)) if state.status == "open" else None
        if self.kind == "release":
            if state.status != "claimed" or state.assignee != self.actor:
                return None
            return State("open"), ("task.released", self.actor, None)
        if not mine_or_open:
            return None
        if self.kind == "delegate":
            return State("claimed", self.to), ("task.delegated", self.actor, self.to)
        if self.kind == "complete":
            return State("completed", state.assignee or self.actor, self.actor), ("task.completed", self.actor, None)
        assert self.kind == "send-back"
        return State("cancelled", state.assignee), ("task.sent_back", self.actor, None)


class Outcome(NamedTuple):
    statuses: tuple[int, int]
    problems: tuple[bool, bool]  # each reply a problem+json body with its own status
    errors: tuple[str | None, str | None]  # an exception raised instead of a response
    state: State
    audit: list[tuple]  # (kind, actor, delegated to) of this task after the race
    active: list[str]  # the application's open or claimed steps (element ids)
    comment: str | None  # the completed review's comment: whose answer was stored


@dataclass
class Desk:
    """The housing department's clerks A and B, colleagues C and D to delegate to, the
    window that accepts intakes, and an applicant (a verified resident applying for themselves)."""

    api: object
    services: object
    a: str
    b: str
    c: str
    d: str
    window: str
    applicant: str
    applicant_id: str  # the applicant's resident ID

    def review_tasks(self, count: int) -> list[tuple[int, int]]:
        """``count`` road occupation applications the window has accepted: (application,
        review task). Made through the engine: the API's submission limit is not raced here."""
        services = self.services
        with services.sessions() as session:
            applicant, window = (session.scalars(select(User).where(User.username == name)).one()
                                 for name in (self.applicant, self.window))
        made = []
        for _ in range(count):
            application, _ = services.applications.submit(applicant, "road_occupation", {
                "id_number": self.applicant_id, "phone": "13800138000",
                "location": "龙华区滨海大道100号北侧人行道", "purpose": "施工材料临时堆放", "start_date": "2026-10-12",
                "end_date": "2026-11-10", "area_m2": 40, "materials_provided": MATERIALS[:3],
                "delivery_method": "pickup"})
            services.tasks.complete(window, self._active_task(application.id, INTAKE), {"outcome": "accept"})
            made.append((application.id, self._active_task(application.id, REVIEW)))
        return made

    def _active_task(self, application_id: int, element: str) -> int:
        with self.services.sessions() as session:
            return session.scalars(select(Task.id).where(Task.application_id == application_id,
                                                         Task.element_id == element,
                                                         Task.status.in_(("open", "claimed")))).one()

    def race(self, application_id: int, task_id: int, first: Action, second: Action, lag: float = 0.0) -> Outcome:
        """Send both requests at the same moment (the first ``lag`` seconds later), each on
        its own client, so each in its own database session."""
        calls = [(self.api.app.test_client(), self.api.headers(action.actor), *action.request(task_id))
                 for action in (first, second)]
        barrier = threading.Barrier(2)
        replies: list = [None, None]
        errors: list[str | None] = [None, None]

        def send(i: int) -> None:
            client, headers, path, body = calls[i]
            try:
                barrier.wait(timeout=30)
                if i == 0 and lag:
                    time.sleep(lag)
                replies[i] = client.post(path, headers=headers, json=body)
            except Exception as exc:  # noqa: BLE001 - reported as the outcome, never hidden
                errors[i] = f"{type(exc).__name__}: {exc}"

        threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        statuses = tuple(r.status_code if r is not None else 0 for r in replies)
        problems = tuple(r is not None and (r.status_code == 200 or (
            r.mimetype == "application/problem+json" and r.get_json().get("status") == r.status_code))
            for r in replies)
        return Outcome(statuses, problems, tuple(errors), *self._after(application_id, task_id))

    def _after(self, application_id: int, task_id: int) -> tuple[State, list[tuple], list[str], str | None]:
        with self.services.sessions() as session:
            task = session.get(Task, task_id)
            names = dict(session.execute(select(User.id, User.username).where(
                User.id.in_([i for i in (task.assignee_id, task.completed_by) if i is not None]))).all())
            state = State(task.status, names.get(task.assignee_id), names.get(task.completed_by))
            events = session.scalars(select(Event).where(Event.application_id == application_id)
                                     .order_by(Event.id)).all()
            audit = [(e.kind, e.actor, e.data.get("to") if e.kind == "task.delegated" else None) for e in events
                     if e.kind.startswith("task.") and e.kind != "task.created" and e.data.get("task") == task_id]
            active = list(session.scalars(select(Task.element_id).where(
                Task.application_id == application_id, Task.status.in_(("open", "claimed"))).order_by(Task.id)))
            comment = (task.result or {}).get("comment") if task.status == "completed" else None
        return state, audit, active, comment


@pytest.fixture(scope="module")
def desk(api, services) -> Desk:
    """One desk for the module: every round races for a task of its own, and signing in
    (a password hash each) is the slow part of making a user."""
    tag = secrets.token_hex(3)

    def make(name: str, role: str, department: str | None = None) -> str:
        username = f"race_{name}_{tag}"
        with services.sessions() as session:
            users.create_user(session, username, DEMO_PASSWORD, role, department)
            session.commit()
        api.headers(username)  # sign in before any race
        return username

    def verified(username: str) -> str:
        """Give the account a fresh resident of the population registry as its verified identity."""
        id_number = make_resident_id("460108", date(1980, 1, 1), f"{int(tag, 16) % 999 + 1:03d}")
        with services.sessions() as session:
            session.add(RegistryPerson(id_number=id_number, name=f"抢办{tag}", household_local=True,
                                       household_region="460100"))
            user = session.scalars(select(User).where(User.username == username)).one()
            identity.verify_account(session, user, f"抢办{tag}", id_number, actor="tests")
            session.commit()
        return id_number

    applicant = make("applicant", "applicant")
    return Desk(api, services, *(make(name, "clerk", "housing") for name in "abcd"),
                window=make("window", "clerk", "front_desk"), applicant=applicant, applicant_id=verified(applicant))


def serial_orders(start: State, prior: list[tuple], actions: list[Action]) -> list[tuple[State, list[tuple]]]:
    """Each order in which ``actions`` can all be allowed one after the other: (final state, audit)."""
    results = []
    for order in itertools.permutations(actions):
        state, audit = start, list(prior)
        for action in order:
            step = action.apply(state)
            if step is None:
                break
            state, entry = step
            audit += [entry] if entry else []
        else:
            results.append((state, audit))
    return results


def steps_after(state: State) -> list[str]:
    """The application's active steps once the review task is in ``state``."""
    return {"completed": [APPROVE], "cancelled": [INTAKE]}.get(state.status, [REVIEW])


def check(outcome: Outcome, start: State, prior: list[tuple], actions: tuple[Action, Action]) -> str | None:
    """What is wrong with the outcome of one round (None: it is one serial order): only
    200s and 409 problems, at least one 200, and the task, its audit entries, the
    application's active steps and the stored answer those of the winners in some order."""
    if any(outcome.errors) or any(s not in (200, 409) for s in outcome.statuses) or not all(outcome.problems):
        return "a failed request"
    won = [action for action, status in zip(actions, outcome.statuses) if status == 200]
    if not won:
        return "nobody won"
    for state, audit in serial_orders(start, prior, won):
        if (outcome.state, outcome.audit) != (state, audit) or outcome.active != steps_after(state):
            continue
        completer = next((a for a in won if a.kind == "complete"), None)
        if completer is None or outcome.comment == completer.note:
            return None
    return "not any serial order of the winners"


def report(pair: str, round_no: int, actions: tuple[Action, Action], outcome: Outcome, problem: str) -> str:
    return (f"{pair} round {round_no}: {problem}; {actions[0].kind} by {actions[0].actor} -> {outcome.statuses[0]}"
            f"{' ' + outcome.errors[0] if outcome.errors[0] else ''}, {actions[1].kind} by {actions[1].actor} -> "
            f"{outcome.statuses[1]}{' ' + outcome.errors[1] if outcome.errors[1] else ''}; task {tuple(outcome.state)}, "
            f"audit {outcome.audit}, active steps {outcome.active}")


def actions_of(desk: Desk, first: str, second: str, first_by: str, second_by: str) -> tuple[Action, Action]:
    """Two actions of the pair; delegations go to C and D, answers say whose they are."""
    targets = iter((desk.c, desk.d))
    return tuple(Action(kind, by, to=next(targets) if kind == "delegate" else None, note=f"{name} {kind}")
                 for kind, by, name in ((first, getattr(desk, first_by), first_by.upper()),
                                        (second, getattr(desk, second_by), second_by.upper())))


EXCLUSIVE = [("claim", "claim"), ("claim", "complete"), ("claim", "delegate"), ("claim", "send-back"),
             ("complete", "complete"), ("complete", "delegate"), ("complete", "send-back"),
             ("delegate", "delegate"), ("delegate", "send-back"), ("send-back", "send-back")]


@pytest.mark.parametrize("first,second", EXCLUSIVE, ids=[f"{a}-{b}" for a, b in EXCLUSIVE])
def test_of_two_exclusive_actions_on_an_open_task_exactly_one_commits(desk, first, second):
    """Clerk A and clerk B at once on an open task: one 200, one 409 problem, and the
    audit and the workflow are the winner's alone (no claim by the loser, one completion)."""
    start, prior = State("open"), []
    wrong = []
    for round_no, (application_id, task_id) in enumerate(desk.review_tasks(EXCLUSIVE_ROUNDS), 1):
        actions = actions_of(desk, first, second, "a", "b")
        outcome = desk.race(application_id, task_id, *actions)
        problem = check(outcome, start, prior, actions)  # both 200 is no serial order here
        if problem:
            wrong.append(report(f"{first}/{second}", round_no, actions, outcome, problem))
    assert not wrong, f"{len(wrong)} of {EXCLUSIVE_ROUNDS} rounds went wrong:\n" + "\n".join(wrong)


RELEASE = [("complete", "a"), ("delegate", "a"), ("send-back", "a"), ("claim", "b")]


@pytest.mark.parametrize("other,by", RELEASE, ids=[f"release-{kind}-by-{by}" for kind, by in RELEASE])
def test_release_against_another_action_is_one_serial_order(desk, other, by):
    """A releases the task A holds while A completes, delegates or sends it back, or B
    claims it — at once, or the release a little later (RELEASE_LAGS_MS): both may commit
    (the release first), or one gets 409 — never a lost update such as a completed task
    reopened, or a delegation undone by a release that read the task before it."""
    wrong = []
    tasks = desk.review_tasks(RELEASE_ROUNDS)
    for round_no, ((application_id, task_id), lag) in enumerate(zip(tasks, RELEASE_LAGS_MS, strict=True), 1):
        assert desk.api.post(f"/api/tasks/{task_id}/claim", desk.a).status_code == 200
        start, prior = State("claimed", desk.a), [("task.claimed", desk.a, None)]
        actions = actions_of(desk, "release", other, "a", by)
        outcome = desk.race(application_id, task_id, *actions, lag=lag / 1000)
        problem = check(outcome, start, prior, actions)
        if problem:
            wrong.append(report(f"release/{other}", round_no, actions, outcome, f"{problem} (release {lag} ms later)"))
    assert not wrong, f"{len(wrong)} of {RELEASE_ROUNDS} rounds went wrong:\n" + "\n".join(wrong)


def test_a_task_completed_twice_in_turn_is_completed_once(desk):
    """The second completion, by the same clerk or a colleague, finds the task done: 409."""
    (application_id, task_id), = desk.review_tasks(1)
    first = Action("complete", desk.a, note="A complete")
    path, body = first.request(task_id)
    assert desk.api.post(path, desk.a, json=body).status_code == 200
    for clerk in (desk.a, desk.b):
        again = desk.api.post(path, clerk, json={**body, "comment": "again"})
        assert again.status_code == 409 and again.mimetype == "application/problem+json", again.get_json()
    state, audit, active, comment = desk._after(application_id, task_id)
    assert (state, audit, active, comment) == (State("completed", desk.a, desk.a), [("task.completed", desk.a, None)],
                                               [APPROVE], "A complete")


class BothHaveRead:
    """Holds each of two completions of the task where its reads end and its writes have
    not begun until the other is there too, so neither sees the other's completion and
    only the version column can refuse the second. Where reads end is per backend: on
    SQLite the commit that ends them (services.applications._end_reads; without holding
    there, writers queue and the later one mostly finds the task done), on PostgreSQL the
    first flush."""

    def __init__(self, task_id: int, dialect: str) -> None:
        self.task_id = task_id
        self.event = "after_commit" if dialect == "sqlite" else "before_flush"
        self.barrier = threading.Barrier(2)
        self.held: set[int] = set()

    def __call__(self, session, *_) -> None:
        holds_the_task = any(isinstance(o, Task) and o.id == self.task_id for o in session.identity_map.values())
        if holds_the_task and threading.get_ident() not in self.held:
            self.held.add(threading.get_ident())
            self.barrier.wait(timeout=30)


@pytest.mark.parametrize("second_by", ["a", "b"])
def test_two_completions_that_both_read_the_open_task_give_one_200_and_one_409(desk, second_by):
    (application_id, task_id), = desk.review_tasks(1)
    both_have_read = BothHaveRead(task_id, desk.services.sessions.kw["bind"].dialect.name)
    event.listen(desk.services.sessions, both_have_read.event, both_have_read)
    try:
        actions = actions_of(desk, "complete", "complete", "a", second_by)
        outcome = desk.race(application_id, task_id, *actions)
    finally:
        event.remove(desk.services.sessions, both_have_read.event, both_have_read)
    assert len(both_have_read.held) == 2, "the two completions did not both reach the end of their reads"
    assert sorted(outcome.statuses) == [200, 409], report("complete/complete", 1, actions, outcome, "statuses")
    assert check(outcome, State("open"), [], actions) is None, report(
        "complete/complete", 1, actions, outcome, "not one serial order")
