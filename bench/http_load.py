"""The HTTP load generator: concurrent applicants (and clerks) against a running API.

Built on aiohttp (one event loop, one process) so the client costs little CPU next to the
server on the same two cores. Two ways of offering load:

- closed loop: ``concurrency`` clients, each sending its next application when the last
  is answered — the maximum throughput the server sustains;
- open loop: applications sent at a fixed offered rate whatever the server does, each
  latency measured from the moment it was *due* to be sent, so a server that falls behind
  cannot hide its queue (no coordinated omission).

Clerks (mixed scenario) list their open queue, claim a random task and complete it,
concurrently with the applicants, until every manual application is decided.
"""
from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Awaitable, Callable

import aiohttp

import common
from engine.demo import DEMO_PASSWORD

MATTER = "elderly_subsidy"
REVIEW = {"outcome": "approve", "amount": 100, "comment": "bench: 户籍经派出所核实"}
TIMEOUT = aiohttp.ClientTimeout(total=60)


@dataclass
class Tally:
    """Latencies (ms) and statuses of one kind of request."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)

    def add(self, status: int, ms: float) -> None:
        self.statuses[status] += 1
        self.latencies.append(ms)

    def summary(self) -> dict:
        return {"latency_ms": common.percentiles(self.latencies),
                "statuses": {str(k): v for k, v in sorted(self.statuses.items())}}


async def login(http: aiohttp.ClientSession, base: str, username: str, password: str = DEMO_PASSWORD) -> str:
    async with http.post(f"{base}/api/auth/login", json={"username": username, "password": password}) as reply:
        body = await reply.json()
        if reply.status != 200:
            raise RuntimeError(f"login {username}: {reply.status} {body}")
        return body["token"]


def _auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


async def submit(http: aiohttp.ClientSession, base: str, token: str, id_number: str) -> tuple[int, dict]:
    payload = {"matter": MATTER, "data": common.subsidy_form(id_number)}
    async with http.post(f"{base}/api/applications", json=payload, headers=_auth(token)) as reply:
        return reply.status, await reply.json(content_type=None)


def _connector() -> aiohttp.TCPConnector:
    return aiohttp.TCPConnector(limit=1024, force_close=False)


# --- applicants ------------------------------------------------------------------------

async def closed_loop(base: str, token: str, ids: list[str], concurrency: int, seconds: float) -> dict:
    """``concurrency`` clients submit back to back for ``seconds``; every reply must be 201."""
    tally, queue = Tally(), iter(ids)
    deadline = time.perf_counter() + seconds

    async def client(http: aiohttp.ClientSession) -> None:
        for id_number in queue:  # shared by all clients; a run ends early if it runs out of people
            if time.perf_counter() >= deadline:
                break
            t0 = time.perf_counter()
            try:
                status, _ = await submit(http, base, token, id_number)
            except (aiohttp.ClientError, asyncio.TimeoutError):
                status = 0
            tally.add(status, (time.perf_counter() - t0) * 1000)

    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=_connector(), timeout=TIMEOUT) as http:
        await asyncio.gather(*(client(http) for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    ok = tally.statuses[201]
    return {"mode": "closed", "concurrency": concurrency, "seconds": round(elapsed, 2),
            "applications": len(tally.latencies), "approved_201": ok,
            "per_second": round(ok / elapsed, 1), **tally.summary()}


async def open_loop(rate: float, seconds: float,
                    send: Callable[[int], Awaitable[tuple[str, int]]]) -> tuple[dict[str, Tally], dict]:
    """Call ``send(i)`` at ``rate`` per second for ``seconds``; ``send`` returns (kind, status).

    Latency runs from the scheduled send time, so time spent queued anywhere counts."""
    tallies: dict[str, Tally] = {}
    total = int(rate * seconds)
    start = time.perf_counter() + 0.05
    behind = 0

    async def one(i: int, due: float) -> None:
        try:
            kind, status = await send(i)
        except (aiohttp.ClientError, asyncio.TimeoutError):
            kind, status = "error", 0
        tallies.setdefault(kind, Tally()).add(status, (time.perf_counter() - due) * 1000)

    tasks = []
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.01:
            behind += 1  # the generator itself was late: reported, so a weak client is visible
        tasks.append(asyncio.create_task(one(i, due)))
    sent_for = time.perf_counter() - start
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    return tallies, {"mode": "open", "offered_per_second": rate, "offered": total,
                     "send_seconds": round(sent_for, 2), "seconds_until_last_reply": round(elapsed, 2),
                     "generator_late_sends": behind}


async def open_loop_straight(base: str, token: str, ids: list[str], rate: float, seconds: float) -> dict:
    async with aiohttp.ClientSession(connector=_connector(), timeout=TIMEOUT) as http:
        async def send(i: int) -> tuple[str, int]:
            status, _ = await submit(http, base, token, ids[i])
            return "instant", status
        tallies, run = await open_loop(rate, seconds, send)
    instant = tallies.get("instant", Tally())
    return {**run, "approved_201": instant.statuses[201],
            "achieved_per_second": round(instant.statuses[201] / run["seconds_until_last_reply"], 1),
            **instant.summary(), "errors": tallies.get("error", Tally()).summary()}


# --- mixed: applicants and clerks ------------------------------------------------------

@dataclass
class ClerkWork:
    list_: Tally = field(default_factory=Tally)
    claim: Tally = field(default_factory=Tally)
    complete: Tally = field(default_factory=Tally)
    completed: int = 0
    conflicts: int = 0


async def _clerk(http: aiohttp.ClientSession, base: str, token: str, work: ClerkWork,
                 finished: Callable[[], bool]) -> None:
    """List the open queue, claim a random task, complete it; a 409 means a colleague won."""
    headers = _auth(token)
    while True:
        t0 = time.perf_counter()
        async with http.get(f"{base}/api/tasks", params={"status": "open", "limit": "50"},
                            headers=headers) as reply:
            tasks = await reply.json() if reply.status == 200 else []
            work.list_.add(reply.status, (time.perf_counter() - t0) * 1000)
        if not tasks:
            if finished():
                return
            await asyncio.sleep(0.5)  # an empty queue: look again shortly, as a clerk's screen refreshes
            continue
        task = random.choice(tasks)
        t0 = time.perf_counter()
        async with http.post(f"{base}/api/tasks/{task['id']}/claim", headers=headers) as reply:
            await reply.read()
            work.claim.add(reply.status, (time.perf_counter() - t0) * 1000)
        if reply.status != 200:
            work.conflicts += 1
            continue
        t0 = time.perf_counter()
        async with http.post(f"{base}/api/tasks/{task['id']}/complete", json=REVIEW, headers=headers) as reply:
            await reply.read()
            work.complete.add(reply.status, (time.perf_counter() - t0) * 1000)
        if reply.status == 200:
            work.completed += 1
        else:
            work.conflicts += 1


async def mixed(base: str, applicant_token: str, clerk_tokens: list[str], order: list[tuple[bool, str]],
                rate: float, seconds: float, drain_seconds: float) -> dict:
    """Applicants at ``rate``/s (``order`` says which are manual); clerks work meanwhile and
    for up to ``drain_seconds`` afterwards until every manual application is decided."""
    work = ClerkWork()
    submitted_manual = 0
    submissions_done = False

    def finished() -> bool:
        return submissions_done and work.completed >= submitted_manual

    async with aiohttp.ClientSession(connector=_connector(), timeout=TIMEOUT) as http:
        async def send(i: int) -> tuple[str, int]:
            nonlocal submitted_manual
            is_manual, id_number = order[i]
            status, body = await submit(http, base, applicant_token, id_number)
            if is_manual and status == 202 and body.get("status") == "waiting":
                submitted_manual += 1
            return ("manual" if is_manual else "instant"), status

        clerks = [asyncio.create_task(_clerk(http, base, token, work, finished)) for token in clerk_tokens]
        started = time.perf_counter()
        tallies, run = await open_loop(rate, seconds, send)
        submissions_done = True
        drain_started = time.perf_counter()
        done, pending = await asyncio.wait(clerks, timeout=drain_seconds)
        for task in pending:
            task.cancel()
        for task in done:
            task.result()  # a clerk that crashed is a harness bug: say so
        drained_in = time.perf_counter() - drain_started
        elapsed = time.perf_counter() - started
    instant, manual = tallies.get("instant", Tally()), tallies.get("manual", Tally())
    return {**run, "clerks": len(clerk_tokens),
            "instant": {"approved_201": instant.statuses[201], **instant.summary()},
            "manual": {"waiting_202": manual.statuses[202], **manual.summary()},
            "errors": tallies.get("error", Tally()).summary(),
            "clerk_tasks_completed": work.completed, "clerk_conflicts_409": work.conflicts,
            "drain_seconds": round(drained_in, 2), "all_manual_decided": work.completed >= submitted_manual,
            "decided_per_second": round((instant.statuses[201] + work.completed) / elapsed, 1),
            "clerk_list": work.list_.summary(), "clerk_claim": work.claim.summary(),
            "clerk_complete": work.complete.summary()}
