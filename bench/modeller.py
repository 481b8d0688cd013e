"""The modeller in headless Chromium: how long the largest shipped process takes to open,
and from 校验 to the problem marker on its element (target: both together ≤ 1 s).

A real ``onewindow serve`` (embedded, a fresh SQLite file) serves the page; Playwright drives
Debian's chromium as the browser tests do. Each run is a fresh browser context (nothing
cached: the libraries are fetched again) — a first visit — and the run breaks the diagram as
an analyst does (a gateway's outgoing flows deleted through the context pad), then clicks 校验
and waits for the marker; then the same again in that context (warm cache). Times are wall
clock in this process, from ``page.goto`` to the page's "opened" signal and from the click
to the marker drawn.

    python bench/run.py modeller --runs 10
"""
from __future__ import annotations

import json
import re
import shutil
import sys
import time

import requests
from lxml import etree

import common
import servers

PORT = 5079
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
FLOW_NODE = re.compile(r"(Task|Gateway|Event|subProcess|callActivity|task)$")


def largest_process() -> tuple[str, str, int]:
    """(matter code, the gateway whose outgoing flows are deleted, flow nodes + flows) of the
    shipped matter with the most BPMN elements."""
    import yaml
    catalogue = yaml.safe_load((common.ROOT / "processes" / "catalogue.yaml").read_text(encoding="utf-8"))
    sizes = []
    for entry in catalogue["matters"]:
        root = etree.parse(str(common.ROOT / "processes" / entry["bpmn"])).getroot()
        elements = [e for e in root.iter(f"{BPMN}*")
                    if FLOW_NODE.search(etree.QName(e).localname) or etree.QName(e).localname == "sequenceFlow"]
        gateway = next((e.get("id") for e in root.iter(f"{BPMN}exclusiveGateway") if e.findall(f"{BPMN}outgoing")),
                       None)
        if gateway is not None:
            sizes.append((len(elements), entry["code"], gateway))
    count, code, gateway = max(sizes)
    return code, gateway, count


def scenario(args) -> None:
    from playwright.sync_api import sync_playwright

    code, gateway, size = largest_process()
    settings = common.settings_for("sqlite", "bench_modeller")
    serve = servers.start_serve(settings, PORT)
    base = f"http://127.0.0.1:{PORT}"
    try:
        runs = []
        signed_in = requests.post(f"{base}/api/auth/login", json={"username": "analyst", "password": "demo-password"},
                                  timeout=10).json()  # once: logins are rate-limited
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium")
            for _ in range(args.runs):
                runs.append(_one_run(browser, base, code, gateway, signed_in))
            browser.close()
    finally:
        serve.stop()
    result = {"matter": code, "bpmn_elements": size, "runs": args.runs, "each": runs}
    for cache in ("cold", "warm"):
        result[cache] = {measure: common.percentiles(run[cache][measure] for run in runs)
                         for measure in ("open_ms", "page_script_open_ms", "validate_to_marker_ms", "open_plus_marker_ms")}
    path = common.save("modeller", result)
    for cache in ("cold", "warm"):
        figures = result[cache]
        print(f"{code} ({size} elements), {cache}: open p50 {figures['open_ms']['p50']} ms, marker p50 "
              f"{figures['validate_to_marker_ms']['p50']} ms, together p50 {figures['open_plus_marker_ms']['p50']} "
              f"p95 {figures['open_plus_marker_ms']['p95']} ms", file=sys.stderr)
    print(f"-> {path}", file=sys.stderr)


def _one_run(browser, base: str, code: str, gateway: str, signed_in: dict) -> dict:
    """A fresh context (empty cache) holding the token as the login page leaves it: the first
    open (cold: every library fetched and compiled), then the same page again (warm cache)."""
    context = browser.new_context(base_url=base, viewport={"width": 1400, "height": 900})
    context.add_init_script(f"sessionStorage.setItem('onewindow.token', {json.dumps(signed_in['token'])});"
                            f"sessionStorage.setItem('onewindow.user', {json.dumps(json.dumps(signed_in['user']))});")
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # leaving the broken diagram: 离开此页？
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    cold = _open_and_mark(page, code, gateway)
    warm = _open_and_mark(page, code, gateway)
    context.close()
    if errors:
        raise RuntimeError(f"console errors: {errors}")
    return {"cold": cold, "warm": warm}


def _open_and_mark(page, code: str, gateway: str) -> dict:
    started = time.perf_counter()
    page.goto(f"/analyst/modeller/{code}")
    page.wait_for_selector("body[data-opened-ms]")
    opened = time.perf_counter()
    flows = page.evaluate("id => window.modeller.bpmn.get('elementRegistry').get(id).outgoing.map(f => f.id)", gateway)
    for flow in flows:  # the gateway left with no way out
        page.evaluate("id => { const v = window.modeller.bpmn; v.get('selection').select(v.get('elementRegistry').get(id)); }",
                      flow)
        page.locator(".djs-context-pad .entry[data-action='delete']").click()
    clicked = time.perf_counter()
    page.get_by_role("button", name="校验").click()
    page.wait_for_selector(".problem-marker")
    marked = time.perf_counter()
    open_ms, marker_ms = round((opened - started) * 1000, 1), round((marked - clicked) * 1000, 1)
    return {"open_ms": open_ms, "page_script_open_ms": int(page.get_attribute("body", "data-opened-ms")),
            "validate_to_marker_ms": marker_ms, "open_plus_marker_ms": round(open_ms + marker_ms, 1)}
