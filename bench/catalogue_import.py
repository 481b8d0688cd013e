"""Importing a matter catalogue export (事项库) at the size of a city's: ``bench/run.py
catalogue-import``.

A generated 300-row export — the four templates in turn (秒批 rows with their criteria),
departments by their Chinese names, materials under their aliases — is written as CSV
and as JSON and imported by the real command (``onewindow catalogue import``, a process
of its own) into a fresh database: a SQLite file, and with ``--backend postgres`` a
scratch schema of the database ``bench`` (created if missing). The import's wall time is
the figure (target ≤ 60 s for 300 rows); then one application is submitted to every
imported matter through the API (the app in this process, the demo outlet's staff
applying for a resident who authorised it) and each answer counted: accepted is an
instant decision (201) or a queued case (202).
"""
from __future__ import annotations

import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common
from engine.store.db import make_engine, make_session_factory

ROWS = 300
TARGET_SECONDS = 60.0
VENV_BIN = Path(sys.executable).parent
SCHEMA = "bench_catalogue"
DEPARTMENTS = ["海口市民政局", "住房和城乡建设局", "三亚市卫生健康委员会", "人力资源和社会保障局", "市场监督管理局",
               "税务局", "公安局", "文化广电旅游局（新闻出版）"]
TEMPLATES = [("秒批", "年满18周岁;本地户籍;在世"), ("智能审批", ""), ("告知承诺", ""), ("综合窗口", "")]
MATERIALS = ["身份证(政府部门核发);户口本(政府部门核发)", "居民身份证(申请人自备);营业执照副本(政府部门核发)",
             "房产证(政府部门核发);租赁合同(申请人自备,选填)", "身份证件;委托书(申请人自备,选填);申请表(在线填写)"]
COLUMNS = ["基本编码", "实施编码", "事项名称", "事项类型", "设定依据", "实施主体", "法定办结时限", "承诺办结时限",
           "申请材料", "办理形式", "到办事现场次数", "收费", "模板", "秒批条件"]
TYPES = ["行政许可", "行政给付", "行政确认", "公共服务", "其他行政权力"]
APPLICANT_AGE = 40
FORM_BY_TEMPLATE = {"instant": {}, "data_comparison": {"applicant_name": "bench"},  # register_residents' name
                    "commitment": {"commitment": "signed"}, "window": {"delivery_method": "pickup"}}


def catalogue_rows(count: int = ROWS) -> list[dict]:
    rows = []
    for i in range(count):
        template, criteria = TEMPLATES[i % len(TEMPLATES)]
        rows.append({"基本编码": f"000000000000-{7000 + i:04d}-0001", "实施编码": f"11460100BENCH{i:05d}",
                     "事项名称": f"基准测试事项{i:03d}", "事项类型": TYPES[i % len(TYPES)],
                     "设定依据": f"《基准测试管理办法》第{i % 40 + 1}条", "实施主体": DEPARTMENTS[i % len(DEPARTMENTS)],
                     "法定办结时限": "20个工作日", "承诺办结时限": str(1 + i % 15), "申请材料": MATERIALS[i % len(MATERIALS)],
                     "办理形式": "网上办理" if template != "综合窗口" else "窗口办理",
                     "到办事现场次数": "1" if template == "综合窗口" else "0", "收费": "否" if i % 7 else "20元",
                     "模板": template, "秒批条件": criteria})
    return rows


def write_files(directory: Path, rows: list[dict]) -> dict[str, Path]:
    paths = {"csv": directory / "catalogue.csv", "json": directory / "catalogue.json"}
    with paths["csv"].open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    paths["json"].write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    return paths


def _settings(backend: str):
    if backend == "postgres":
        common.ensure_bench_database()
    settings = common.settings_for(backend, SCHEMA)
    if not settings.embedded:
        common.flush_redis()
    common.prepare_database(settings.database_url)  # schema, demo users (the applying outlet's staff)
    return settings


def run_import(settings, path: Path, fmt: str) -> dict:
    """The real command, timed from start to exit."""
    env = {**common.env_for(settings), "PYTHONPATH": str(common.ROOT)}
    started = time.perf_counter()
    done = subprocess.run([str(VENV_BIN / "onewindow"), "catalogue", "import", str(path), "--format", fmt],
                          env=env, capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - started
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    if done.returncode != 0:
        raise RuntimeError(f"onewindow catalogue import exited {done.returncode}: {summary}\n{done.stderr[-2000:]}")
    return {"seconds": round(seconds, 2), "ms_per_row": round(seconds * 1000 / ROWS, 1), "summary": summary,
            "normalised_names": done.stdout.count("  normalised ")}


def apply_to_every_matter(settings) -> dict:
    """One application per imported matter through the API; 201 and 202 are accepted."""
    from dataclasses import replace

    from api import create_app
    from engine.demo import DEMO_PASSWORD
    from engine.store.models import Matter
    from onewindow.wiring import build_services
    from sqlalchemy import select

    [resident] = common.resident_ids(1, age=APPLICANT_AGE)
    database = make_engine(settings.database_url)
    with make_session_factory(database)() as session:
        common.register_residents(session, [resident])
        matters = session.execute(select(Matter.code, Matter.elements).where(Matter.code.like("m_%"))
                                  .order_by(Matter.code)).all()
        session.commit()
    database.dispose()
    unlimited = replace(settings, submit_limit="1000000 per minute", login_limit="1000000 per minute")
    client = create_app(build_services(unlimited), unlimited).test_client()
    token = client.post("/api/auth/login", json={"username": common.SUBMITTER,
                                                 "password": DEMO_PASSWORD}).get_json()["token"]
    statuses: dict[int, int] = {}
    latencies = []
    for code, elements in matters:
        data = {"id_number": resident, "phone": "13800138000", **FORM_BY_TEMPLATE[elements["template"]]}
        started = time.perf_counter()
        reply = client.post("/api/applications", json={"matter": code, "data": data},
                            headers={"Authorization": f"Bearer {token}"})
        latencies.append((time.perf_counter() - started) * 1000)
        statuses[reply.status_code] = statuses.get(reply.status_code, 0) + 1
        if reply.status_code not in (201, 202):
            print(f"{code}: {reply.status_code} {reply.get_data(as_text=True)[:300]}", file=sys.stderr)
    return {"matters": len(matters), "accepted": statuses.get(201, 0) + statuses.get(202, 0),
            "instant_201": statuses.get(201, 0), "queued_202": statuses.get(202, 0),
            "statuses": {str(k): v for k, v in sorted(statuses.items())}, "latency_ms": common.percentiles(latencies)}


def measure(backend: str, fmt: str, path: Path) -> dict:
    settings = _settings(backend)
    try:
        imported = run_import(settings, path, fmt)
        again = run_import(settings, path, fmt)  # the same file again: every matter found, none duplicated
        applied = apply_to_every_matter(settings)
    finally:
        if backend == "postgres":
            common.drop_schema(SCHEMA)
    return {"backend": backend, "format": fmt, "rows": ROWS, "import": imported, "import_again": again,
            "applications": applied, "within_target": imported["seconds"] <= TARGET_SECONDS}


def scenario(args) -> None:
    directory = Path(tempfile.mkdtemp(prefix="onewindow-catalogue-"))
    paths = write_files(directory, catalogue_rows())
    runs = []
    for backend in args.backends:
        for fmt in ("csv", "json"):
            run = measure(backend, fmt, paths[fmt])
            runs.append(run)
            print(f"{backend} {fmt}: import {run['import']['seconds']} s ({run['import']['summary']}); again "
                  f"{run['import_again']['seconds']} s ({run['import_again']['summary']}); applications accepted "
                  f"{run['applications']['accepted']} of {run['applications']['matters']} "
                  f"(201: {run['applications']['instant_201']}, 202: {run['applications']['queued_202']})",
                  file=sys.stderr)
    common.save("catalogue_import", {"target_seconds": TARGET_SECONDS, "runs": runs})


def add_arguments(parser) -> None:
    parser.add_argument("--backend", dest="backends", action="append", choices=("sqlite", "postgres"),
                        help="sqlite and/or postgres (repeat the option); default: sqlite only")
    parser.set_defaults(backends=None)


def run(args) -> None:
    args.backends = args.backends or ["sqlite"]
    scenario(args)
