"""One command per benchmark scenario; each writes bench/results/<scenario>.json.

    python bench/run.py engine                                   # in-process, both backends, + bare SpiffWorkflow
    python bench/run.py http --backend postgres --rate 100 50 --duration 30
    python bench/run.py mixed --backend postgres --rate 40 --duration 30 --clerks 4
    python bench/run.py queue --applications 1000000 --tasks 200000 [--backend sqlite]
    python bench/run.py soak --backend postgres --applications 200000   # the full size is this flag
    python bench/run.py profile                                  # pyinstrument of the request path
    python bench/run.py modeller --runs 10                       # the largest process in headless Chromium
    python bench/run.py catalogue-import [--backend sqlite] [--backend postgres]   # 300-row 事项库 import
    python bench/run.py search [--backend sqlite] [--backend postgres]   # matter search by everyday words, 500 matters
    python bench/run.py clerk-queue --tasks 10000 --runs 20     # the clerk's queue page in headless Chromium
    python bench/run.py report                                   # tables into bench/RESULTS.md

PostgreSQL runs use scratch schemas in the database ``bench`` (dropped afterwards) and
Redis db 13; SQLite runs use a temporary file. Every run also measures the baseline —
the same BPMN in bare SpiffWorkflow, in one process, with no persistence (baseline.py).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys

import common  # noqa: F401 - puts the repo root on sys.path
import baseline
import http_load
import servers
import straight_through
from engine.people import users
from engine.store.db import make_engine, make_session_factory

BACKENDS = ("sqlite", "postgres")
PORT = 5078


def _ratio(ours_ms: float, baseline_ms: float) -> float:
    return round(ours_ms / baseline_ms, 1)


# --- scenario 1 and 2 in process -------------------------------------------------------

def engine_scenario(args: argparse.Namespace) -> None:
    """Engine.submit in one process on each backend against the bare-SpiffWorkflow baseline:
    the engine-overhead target (persisted <= 2x bare) is read off here."""
    result: dict = {"straight_through": {}, "mixed": {}}
    bare = baseline.straight_through(common.resident_ids(args.n + 20))
    bare_mixed = baseline.mixed(common.resident_ids(args.n - int(args.n * 0.3) + 20),
                                common.resident_ids(int(args.n * 0.3), age=common.MANUAL_AGE))
    result["baseline"] = {"straight_through": bare, "mixed": bare_mixed}
    for backend in args.backends:
        schema = "bench_engine"
        try:
            ours = straight_through.measure(common.settings_for(backend, schema), args.n)
            ours["ours_over_baseline"] = _ratio(ours["ms_per_application"], bare["ms_per_application"])
            floor = baseline.persisted_floor(common.resident_ids(args.n + 20),
                                             common.settings_for(backend, "bench_floor").database_url)
            ours["persisted_floor"] = {**floor, "over_baseline": _ratio(floor["ms_per_application"],
                                                                        bare["ms_per_application"]),
                                       "ours_over_floor": _ratio(ours["ms_per_application"],
                                                                 floor["ms_per_application"])}
            result["straight_through"][backend] = ours
            mixed = straight_through.measure_mixed(common.settings_for(backend, schema), args.n)
            mixed["ours_over_baseline"] = _ratio(mixed["ms_per_application"], bare_mixed["ms_per_application"])
            result["mixed"][backend] = mixed
        finally:
            if backend == "postgres":
                common.drop_schema(schema)
                common.drop_schema("bench_floor")
        print(backend, result["straight_through"][backend]["per_second"], "/s straight-through,",
              result["mixed"][backend]["per_second"], "/s mixed", file=sys.stderr)
    common.save("engine", result)


# --- HTTP ------------------------------------------------------------------------------

def _http_setup(backend: str, schema: str, residents: list[str], clerks: int = 0):
    """A prepared database with residents and clerk users, and its settings."""
    settings = common.settings_for(backend, schema)
    if not settings.embedded:
        common.flush_redis()
    common.prepare_database(settings.database_url)
    database = make_engine(settings.database_url)
    with make_session_factory(database)() as session:
        common.register_residents(session, residents)
        for k in range(clerks):
            users.create_user(session, f"bench_clerk_{k}", "bench-password", "clerk", "civil_affairs")
        session.commit()
    database.dispose()
    return settings


def _starters(settings, workers: int) -> list:
    starters = [lambda: servers.start_api(settings, PORT, workers)]
    if not settings.embedded:
        starters.append(lambda: servers.start_worker(settings))
    return starters


def http_scenario(args: argparse.Namespace) -> None:
    """Straight-through instant approvals over HTTP: closed-loop maximum, then open loop at --rate."""
    schema = "bench_http"
    bare = baseline.straight_through(common.resident_ids(2020))
    warm, most = 600, int(400 * args.duration)  # no server here does 400/s: enough fresh people
    ids = common.resident_ids(warm + most + int(sum(args.rate) * args.duration))
    settings = _http_setup(args.backend, schema, ids)
    base = f"http://127.0.0.1:{PORT}"
    try:
        with servers.running(*_starters(settings, args.workers)) as started:
            api = started[0]

            async def go() -> dict:
                token, _ = await _sign_in(base)
                warm_up = await http_load.closed_loop(base, token, ids[:warm], 4, 3)
                assert warm_up["approved_201"] == warm_up["applications"] > 0, warm_up
                cpu, parts = api.tree_cpu(), servers.cpu_by_part(started)
                closed = await http_load.closed_loop(base, token, ids[warm:warm + most], args.concurrency,
                                                     args.duration)
                closed["server_cpu_seconds"] = round(api.tree_cpu() - cpu, 1)
                closed["cpu_per_approval"] = servers.cpu_per_approval(parts, servers.cpu_by_part(started),
                                                                      closed["approved_201"])
                opened, rest = [], ids[warm + most:]
                for rate in args.rate:
                    await asyncio.sleep(2)
                    cpu = api.tree_cpu()
                    phase = await http_load.open_loop_straight(base, token, rest, rate, args.duration)
                    phase["server_cpu_seconds"] = round(api.tree_cpu() - cpu, 1)
                    rest = rest[phase["offered"]:]
                    opened.append(phase)
                return {"closed_loop": closed, "open_loop": opened}
            measured = asyncio.run(go())
    finally:
        if args.backend == "postgres":
            common.drop_schema(schema)
    closed = measured["closed_loop"]
    result = {"backend": args.backend, "server": "embedded (Flask threaded, 1 process)" if args.backend == "sqlite"
              else f"gunicorn {args.workers} sync workers + 1 onewindow worker",
              **measured, "baseline": bare,
              "ours_over_baseline": _ratio(1000 / closed["per_second"], bare["ms_per_application"])}
    common.save(f"http_straight_{args.backend}", result)
    print(f"{args.backend}: closed {closed['per_second']}/s p99 {closed['latency_ms']['p99']} ms; " + "; ".join(
        f"open @{o['offered_per_second']}/s p99 {o['latency_ms']['p99']} ms" for o in measured["open_loop"]),
        file=sys.stderr)


async def _sign_in(base: str, clerks: int = 0) -> tuple[str, list[str]]:
    """The applying outlet staff member's token (every bench resident authorised the outlet)
    and the bench clerks' tokens."""
    import aiohttp
    async with aiohttp.ClientSession() as http:
        token = await http_load.login(http, base, common.SUBMITTER)
        return token, [await http_load.login(http, base, f"bench_clerk_{k}", "bench-password") for k in range(clerks)]


def mixed_scenario(args: argparse.Namespace) -> None:
    """70% instant approvals, 30% to the civil-affairs queue (residents whose 在世 the API's
    death register cannot verify: common.UnverifiableElders), clerks completing concurrently."""
    schema = "bench_mixed"
    total = int(args.rate * args.duration)
    manual = int(total * 0.3)
    instant, unverifiable = common.resident_ids(total - manual), common.resident_ids(manual, age=common.MANUAL_AGE)
    order = baseline.interleave(instant, unverifiable)
    bare = baseline.mixed(common.resident_ids(700 + 20), common.resident_ids(300, age=common.MANUAL_AGE))
    settings = _http_setup(args.backend, schema, instant + unverifiable, clerks=args.clerks)
    base = f"http://127.0.0.1:{PORT}"
    os.environ[common.UNVERIFIABLE_AGE_ENV] = str(common.MANUAL_AGE)  # the API process started below inherits it
    try:
        with servers.running(*_starters(settings, args.workers)) as started:
            api = started[0]

            async def go() -> dict:
                token, clerk_tokens = await _sign_in(base, args.clerks)
                cpu = api.tree_cpu()
                measured = await http_load.mixed(base, token, clerk_tokens, order, args.rate, args.duration,
                                                 drain_seconds=args.drain)
                measured["server_cpu_seconds"] = round(api.tree_cpu() - cpu, 1)
                return measured
            measured = asyncio.run(go())
    finally:
        if args.backend == "postgres":
            common.drop_schema(schema)
    result = {"backend": args.backend, "server": "embedded (Flask threaded, 1 process)" if args.backend == "sqlite"
              else f"gunicorn {args.workers} sync workers + 1 onewindow worker", **measured, "baseline": bare}
    common.save(f"http_mixed_{args.backend}", result)
    print(f"{args.backend}: instant p99 {measured['instant']['latency_ms'].get('p99')} ms, "
          f"clerks completed {measured['clerk_tasks_completed']}", file=sys.stderr)


# --- bundles (一件事) and the cart ------------------------------------------------------

def bundle_scenario(args: argparse.Namespace) -> None:
    """企业开办 submitted over HTTP at --rate bundles per second (open loop)."""
    import bundles
    schema = "bench_bundle"
    ids = common.resident_ids(40 + int(args.rate * args.duration), age=bundles.ADULT_AGE)
    settings = _http_setup(args.backend, schema, ids)
    bundles.deploy(settings.database_url, bundles.BUNDLE_MATTERS)
    base = f"http://127.0.0.1:{PORT}"
    try:
        with servers.running(*_starters(settings, args.workers)):
            async def go() -> dict:
                token, _ = await _sign_in(base)
                warm = await bundles.open_loop_bundles(base, token, ids[:40], 10, 4)
                assert warm["accepted_202"] == 40, warm
                return await bundles.open_loop_bundles(base, token, ids[40:], args.rate, args.duration)
            measured = asyncio.run(go())
    finally:
        if args.backend == "postgres":
            common.drop_schema(schema)
    common.save(f"bundle_{args.backend}", {"backend": args.backend, "server": "embedded (Flask threaded, 1 process)"
                                           if args.backend == "sqlite" else
                                           f"gunicorn {args.workers} sync workers + 1 onewindow worker", **measured})
    print(f"{args.backend}: 企业开办 @{args.rate}/s p99 {measured['latency_ms'].get('p99')} ms, "
          f"accepted {measured['accepted_202']} of {measured['offered']}", file=sys.stderr)


def cart_scenario(args: argparse.Namespace) -> None:
    """One cart order of --members matters: every bundle step's time and the state's size."""
    import bundles
    schema = "bench_cart"
    try:
        result = bundles.cart_stress(common.settings_for(args.backend, schema), args.members)
    finally:
        if args.backend == "postgres":
            common.drop_schema(schema)
    common.save(f"cart_{args.backend}", {"backend": args.backend, **result})
    print(f"{args.backend}: cart of {args.members}: max step {result['max_step_ms']} ms, "
          f"state max {result['state_bytes']['max']} bytes, {result['outcome']}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description="OneWindow benchmarks")
    commands = parser.add_subparsers(dest="command", required=True)

    engine = commands.add_parser("engine", help="in-process straight-through and mixed, + baseline")
    engine.add_argument("-n", type=int, default=1000)
    engine.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    engine.set_defaults(run=engine_scenario)

    for name, function, rate in (("http", http_scenario, 100.0), ("mixed", mixed_scenario, 40.0)):
        command = commands.add_parser(name)
        command.add_argument("--backend", choices=BACKENDS, default="postgres")
        if name == "http":
            command.add_argument("--rate", type=float, nargs="+", default=[rate],
                                 help="offered applications per second; one open-loop phase per value")
        else:
            command.add_argument("--rate", type=float, default=rate, help="offered applications per second")
        command.add_argument("--duration", type=float, default=30, help="seconds per measured phase")
        command.add_argument("--workers", type=int, default=4, help="gunicorn workers (postgres)")
        command.set_defaults(run=function)
        if name == "http":
            command.add_argument("--concurrency", type=int, default=8, help="closed-loop clients")
        else:
            command.add_argument("--clerks", type=int, default=4)
            command.add_argument("--drain", type=float, default=30, help="seconds clerks get after submissions end")

    bundle = commands.add_parser("bundle", help="企业开办 submitted over HTTP, open loop")
    bundle.add_argument("--backend", choices=BACKENDS, default="postgres")
    bundle.add_argument("--rate", type=float, default=20.0, help="offered bundles per second")
    bundle.add_argument("--duration", type=float, default=30)
    bundle.add_argument("--workers", type=int, default=4, help="gunicorn workers (postgres)")
    bundle.set_defaults(run=bundle_scenario)

    cart = commands.add_parser("cart", help="one cart order of many matters, in process")
    cart.add_argument("--backend", choices=BACKENDS, default="postgres")
    cart.add_argument("--members", type=int, default=200)
    cart.set_defaults(run=cart_scenario)

    import queue_listing
    queue = commands.add_parser("queue", help="queue listing at scale")
    queue_listing.add_arguments(queue)
    queue.set_defaults(run=queue_listing.scenario)

    import soak
    soaking = commands.add_parser("soak", help="worker memory over many applications")
    soak.add_arguments(soaking)
    soaking.set_defaults(run=soak.scenario)

    import profile_path
    profiling = commands.add_parser("profile", help="pyinstrument of the straight-through request path")
    profile_path.add_arguments(profiling)
    profiling.set_defaults(run=profile_path.scenario)

    import modeller
    modelling = commands.add_parser("modeller", help="the modeller in headless Chromium: open + validation marker")
    modelling.add_argument("--runs", type=int, default=10)
    modelling.set_defaults(run=modeller.scenario)

    import catalogue_import
    importing = commands.add_parser("catalogue-import", help="a 300-row 事项库 export through onewindow catalogue import")
    catalogue_import.add_arguments(importing)
    importing.set_defaults(run=catalogue_import.run)

    import clerk_queue
    queueing = commands.add_parser("clerk-queue", help="the clerk's queue page, 10,000 open tasks, headless Chromium")
    queueing.add_argument("--tasks", type=int, default=10_000)
    queueing.add_argument("--runs", type=int, default=20)
    queueing.set_defaults(run=clerk_queue.scenario)

    import search
    searching = commands.add_parser("search", help="the portal's matter search over 500 matters, in process and over HTTP")
    search.add_arguments(searching)
    searching.set_defaults(run=search.scenario)

    import report
    reporting = commands.add_parser("report", help="write the tables of bench/RESULTS.md")
    reporting.set_defaults(run=report.scenario)

    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
