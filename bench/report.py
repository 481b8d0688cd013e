"""Write the measured tables of bench/RESULTS.md from bench/results/*.json.

Only the part between the two markers is generated; the prose around it (analysis, the
profile's proposed fixes) is written by hand, so a rerun refreshes figures, never words.
"""
from __future__ import annotations

import argparse
import json

import common

RESULTS_MD = common.ROOT / "bench" / "RESULTS.md"
START, END = "<!-- tables:start (bench/run.py report) -->", "<!-- tables:end -->"


MIXED_REQUESTS = (("submit, instant (201)", "instant"), ("submit, to clerk (202)", "manual"),
                  ("clerk: list queue", "clerk_list"), ("clerk: claim", "clerk_claim"),
                  ("clerk: complete", "clerk_complete"))


def _load(name: str) -> dict | None:
    path = common.RESULTS_DIR / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _lat(summary: dict) -> str:
    return f"{summary.get('p50', '–')} / {summary.get('p95', '–')} / {summary.get('p99', '–')}"


def _where(doc: dict) -> str:
    return f"{doc['date']}, commit `{doc['commit']}`, `{doc['command'].replace('bench/run.py', 'run.py')}`"


def tables() -> str:
    out: list[str] = []
    any_doc = next((d for d in map(_load, ("engine", "http_straight_postgres", "queue_postgres")) if d), None)
    if any_doc:
        m = any_doc["machine"]
        out += ["### Machine", "",
                f"{m['nproc']} cores, {m['cpu']}, {m['ram_gb']} GB RAM; Python {m['python']}, "
                f"SpiffWorkflow {m['spiffworkflow']}, kernel {m['kernel']}. Each table names the date, "
                "commit (`+dirty`: the work tree had uncommitted changes) and command of its run.", ""]

    engine = _load("engine")
    if engine:
        b = engine["baseline"]
        out += ["### In-process engine vs bare SpiffWorkflow (scenarios 1 and 2 without HTTP)", "", _where(engine), "",
                "| scenario | backend | applications | per second | ms / application | bare SpiffWorkflow ms | ours / baseline |",
                "|---|---|---:|---:|---:|---:|---:|"]
        for kind, label in (("straight_through", "straight-through"), ("mixed", "mixed 70/30, clerk completes")):
            for backend, r in engine[kind].items():
                out.append(f"| {label} | {backend} | {r['applications']} | {r['per_second']} | "
                           f"{r['ms_per_application']} | {b[kind]['ms_per_application']} | **{r['ours_over_baseline']}×** |")
        floors = {backend: r["persisted_floor"] for backend, r in engine["straight_through"].items()
                  if "persisted_floor" in r}
        if floors:
            out += ["", "Persisted floor (`baseline.persisted_floor`: the bare run + SpiffWorkflow's serializer + one "
                    "INSERT and durable COMMIT through the raw driver; no ORM, audit rows, lookups or validation):", "",
                    "| backend | floor ms / application | floor / bare | ours / floor |", "|---|---:|---:|---:|",
                    *(f"| {backend} | {f['ms_per_application']} | {f['over_baseline']}× | {f['ours_over_floor']}× |"
                      for backend, f in floors.items())]
        out.append("")

    for backend in ("postgres", "sqlite"):
        doc = _load(f"http_straight_{backend}")
        if not doc:
            continue
        c = doc["closed_loop"]
        out += [f"### HTTP straight-through, {backend} ({doc['server']})", "", _where(doc), "",
                "| mode | offered | achieved approvals/s | latency p50 / p95 / p99 ms | statuses | server CPU s |",
                "|---|---|---:|---|---|---:|",
                f"| closed loop, {c['concurrency']} clients, {c['seconds']} s | as fast as answered | {c['per_second']} | "
                f"{_lat(c['latency_ms'])} | {c['statuses']} | {c['server_cpu_seconds']} |"]
        out += [f"| open loop, {o['send_seconds']} s | {o['offered_per_second']}/s ({o['offered']}) | "
                f"{o['achieved_per_second']} | {_lat(o['latency_ms'])} | {o['statuses']} | {o['server_cpu_seconds']} |"
                for o in doc["open_loop"]]
        if "cpu_per_approval" in c:
            cpu = c["cpu_per_approval"]
            out += ["", "CPU per approval in the closed loop, ms: " + ", ".join(
                f"{part} {ms}" for part, ms in cpu["parts_ms"].items()) + f" — **{cpu['total_ms']} ms** in all, "
                f"so {cpu['cores']} cores allow at most **{cpu['ceiling_per_second']}/s** however the work is spread."]
        out += ["", f"Baseline (bare SpiffWorkflow, in process): {doc['baseline']['per_second']}/s "
                f"({doc['baseline']['ms_per_application']} ms each); ours (closed loop) / baseline time per "
                f"application: **{doc['ours_over_baseline']}×**.", ""]

    for backend in ("postgres", "sqlite"):
        doc = _load(f"http_mixed_{backend}")
        if not doc:
            continue
        out += [f"### HTTP mixed 70% instant / 30% clerk review, {backend} ({doc['server']})", "", _where(doc), "",
                f"Offered {doc['offered_per_second']}/s for {doc['send_seconds']} s ({doc['offered']} applications), "
                f"{doc['clerks']} clerks claiming and completing concurrently; all manual applications decided: "
                f"{doc['all_manual_decided']} (clerks finished {doc['drain_seconds']} s after the last submission); "
                f"decided overall {doc['decided_per_second']}/s; server CPU {doc['server_cpu_seconds']} s.", "",
                "| request | count | latency p50 / p95 / p99 ms | statuses |", "|---|---:|---|---|",
                *(f"| {label} | {doc[key]['latency_ms'].get('n', 0)} | {_lat(doc[key]['latency_ms'])} | "
                  f"{doc[key]['statuses']} |" for label, key in MIXED_REQUESTS),
                "", f"Clerk conflicts (409, a colleague took the task first): {doc['clerk_conflicts_409']}. "
                f"Baseline (bare SpiffWorkflow, same 70/30 mix with the review completed in memory): "
                f"{doc['baseline']['per_second']}/s ({doc['baseline']['ms_per_application']} ms each).", ""]

    for backend in ("postgres", "sqlite"):
        doc = _load(f"queue_{backend}")
        if not doc:
            continue
        b = doc["baseline"]
        out += [f"### Queue listing, {backend}: {doc['applications']:,} applications, {doc['open_tasks']:,} open tasks "
                f"({doc['open_tasks_in_department']:,} in the clerk's department)", "", _where(doc), "",
                "| listing (100 rows) | via | calls | p50 / p95 / p99 ms |", "|---|---|---:|---|"]
        for name, summary in doc["engine"].items():
            out.append(f"| {name} | Engine.queue_for | {summary['n']} | {_lat(summary)} |")
        for name, summary in doc["api"].items():
            out.append(f"| {name} | GET /api/tasks (test client, incl. auth + JSON) | {summary['n']} | {_lat(summary)} |")
        out += [f"| open_by_due | baseline: scan of {b['workflows_in_memory']:,} bare SpiffWorkflow workflows in memory | "
                f"{b['open_by_due']['n']} | {_lat(b['open_by_due'])} |", "",
                f"Fill time (set-wise SQL): {doc['fill_seconds']} s.", ""]

    for backend in ("postgres", "sqlite"):
        doc = _load(f"soak_{backend}")
        if not doc:
            continue
        g, bg = doc["growth"], doc["baseline"]["growth"]
        out += [f"### Soak, {backend}: {doc['applications']:,} applications through one worker", "", _where(doc), "",
                f"RSS sampled: {doc['sampled']}. {doc['per_second']}/s decided "
                f"(bare SpiffWorkflow: {doc['baseline']['per_second']}/s; ours/baseline {doc['ours_over_baseline']}×).", "",
                "| process | RSS at application | RSS at application | growth |", "|---|---|---|---:|",
                f"| ours | {g['from_rss_mb']} MB at {g['from_applications']:,} | {g['to_rss_mb']} MB at {g['to_applications']:,} | **{g['growth_percent']}%** |",
                f"| bare SpiffWorkflow + durable-rules | {bg['from_rss_mb']} MB at {bg['from_applications']:,} | "
                f"{bg['to_rss_mb']} MB at {bg['to_applications']:,} | {bg['growth_percent']}% |", "",
                "RSS curve (applications decided → MB): " +
                ", ".join(f"{p['applications']:,}→{p['rss_mb']}" for p in doc["curve"]), "",
                "Baseline curve: " + ", ".join(f"{p['applications']:,}→{p['rss_mb']}" for p in doc["baseline"]["curve"]), ""]

    for backend in ("postgres", "sqlite"):
        doc = _load(f"statements_{backend}")
        if not doc:
            continue
        out += [f"### Round trips of one straight-through approval, {backend} (Engine.submit)", "", _where(doc), "",
                f"{doc['statements_per_application']} statements and transaction commands per application "
                f"(mean of {doc['applications']}):", "", "| statement | per application |", "|---|---:|"]
        out += [f"| {kind} | {count} |" for kind, count in doc["by_kind"].items()]
        out.append("")

    for backend in ("postgres", "sqlite"):
        doc = _load(f"profile_straight_{backend}")
        if not doc:
            continue
        out += [f"### Profile of the straight-through request path, {backend} (pyinstrument)", "", _where(doc), "",
                f"{doc['applications']} POST /api/applications on the Flask test client, {doc['ms_per_application']} ms "
                f"each under the profiler; full tree: `bench/results/{doc['tree']}`.", "",
                "| cumulative % | function |", "|---:|---|"]
        out += [f"| {row['percent']} | `{row['function']}` |" for row in doc["top_cumulative"][:22]]
        out += ["", "| own time % | function |", "|---:|---|"]
        out += [f"| {row['percent']} | `{row['function']}` |" for row in doc["top_own_time"][:15]]
        out.append("")
    return "\n".join(out)


def scenario(_: argparse.Namespace | None = None) -> None:
    generated = f"{START}\n\n{tables()}\n{END}"
    text = RESULTS_MD.read_text() if RESULTS_MD.exists() else f"# Benchmark results\n\n{START}\n{END}\n"
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    RESULTS_MD.write_text(head + generated + tail)
    print(f"wrote {RESULTS_MD.relative_to(common.ROOT)}")


if __name__ == "__main__":
    scenario()
