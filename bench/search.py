"""The portal's matter search by everyday words over 500 matters: ``bench/run.py search``.

Target (issue 17): "The portal's matter search answers in ≤ 100 ms p99 over 500 matters".

A fresh database (a SQLite file; with ``--backend postgres`` a scratch schema of the
database ``bench``) holds the shipped catalogue's matters and generated ones up to 500,
upserted as the catalogue is (engine/definitions/catalogue.py ``upsert_matter``): names
made of a department's objects and actions (个体工商户设立登记, 城市道路占用挖掘许可,
二级建造师执业资格认定…), each with an everyday alias and keywords, conditions and
materials; one in ten is a Sanya variant. The search reads only the catalogue rows, so the
generated matters are not deployed.

Measured: the index build (reading the rows and building ``MatterSearch``), the search
alone, ``GET /api/matters/search`` in this process through the Flask test client, and over
HTTP against a real ``onewindow serve`` (waitress, 8 threads; embedded on SQLite) — 50
everyday queries, each many times, sequentially and from concurrent clients.
"""
from __future__ import annotations

import statistics
import sys
import threading
import time
from itertools import cycle

import common
import servers
from engine.store.db import make_engine, make_session_factory

MATTERS = 500
TARGET_P99_MS = 100.0
SCHEMA = "bench_search"
PORT = 5081  # bench/run.py uses 5078, bench/modeller.py 5079
# department -> (objects, actions): a name is object + action
DEPARTMENTS = {
    "market_regulation": (["个体工商户", "农民专业合作社", "有限责任公司", "合伙企业", "食品经营", "小餐饮", "食品生产",
                           "特种设备使用", "广告发布", "计量器具", "药品零售", "工业产品生产"],
                          ["设立登记", "变更登记", "注销登记", "许可", "许可证延续", "备案"]),
    "housing": (["城市道路占用挖掘", "建筑工程施工", "商品房预售", "房屋建筑工程竣工验收", "物业服务", "燃气经营",
                 "户外广告设置", "建筑起重机械"], ["许可", "备案", "许可延续", "变更", "注销"]),
    "health": (["医疗机构执业", "医师执业", "护士执业", "母婴保健技术服务", "放射诊疗", "饮用水供水单位卫生",
                "出生医学证明", "公共场所卫生"], ["注册", "变更", "许可", "校验", "补发", "注销"]),
    "social_security": (["失业保险金", "工伤保险待遇", "职工基本养老保险", "医疗保险关系", "生育津贴", "就业创业证",
                         "技能人员职业资格", "二级建造师执业资格", "社会保障卡", "退休人员待遇"],
                        ["申领", "认定", "转移接续", "核定", "补办", "变更"]),
    "civil_affairs": (["结婚", "离婚", "收养", "社会团体", "民办非企业单位", "殡葬补贴", "最低生活保障", "特困人员救助供养",
                       "残疾人两项补贴", "临时救助", "婚姻登记档案", "养老机构"],
                      ["登记", "申请", "变更登记", "注销登记", "审核确认", "补领"]),
    "public_security": (["居民身份证", "户口迁移", "居住证", "出入境证件", "机动车驾驶证", "犬只", "剧毒化学品购买",
                         "公章刻制"], ["申领", "换领", "补领", "登记", "许可", "备案"]),
    "tax": (["增值税", "个人所得税", "房产税", "城镇土地使用税", "印花税", "车船税", "发票"],
            ["申报", "减免备案", "退税", "代开", "汇算清缴", "缴纳证明开具"]),
    "culture": (["营业性演出", "娱乐场所", "互联网上网服务营业场所", "出版物批发", "印刷经营", "旅行社", "导游证",
                 "文物保护单位修缮"], ["许可", "变更", "注销", "年度核验", "备案", "换发"]),
    "real_estate": (["国有建设用地使用权", "房屋所有权", "抵押权", "预告", "查封", "地役权"],
                    ["首次登记", "转移登记", "变更登记", "注销登记", "更正登记", "信息查询"]),
    "housing_fund": (["住房公积金", "公积金贷款", "公积金缴存基数"], ["提取", "转移", "调整", "申请", "还款", "证明开具"]),
}
# how people say an action
SPOKEN = {"设立登记": "开办", "注销登记": "注销", "变更登记": "变更", "许可": "办证", "许可证延续": "证件延期",
          "申领": "领取", "补领": "补办", "换领": "换证", "补发": "补办", "申报": "报税", "提取": "取出",
          "认定": "认证", "登记": "办理", "年度核验": "年检", "转移登记": "过户", "汇算清缴": "汇算"}
# what people call an object
NICKNAMES = {"最低生活保障": ["低保"], "互联网上网服务营业场所": ["网吧"], "机动车驾驶证": ["驾照"], "小餐饮": ["饭店", "餐馆"],
             "个人所得税": ["个税"], "失业保险金": ["失业金"], "居民身份证": ["身份证"], "个体工商户": ["个体户"],
             "特困人员救助供养": ["五保户"], "犬只": ["养狗"], "出入境证件": ["护照", "港澳通行证"]}
TYPES = ["行政许可", "行政确认", "行政给付", "公共服务", "其他行政权力"]
MATERIALS = [["居民身份证", "申请表"], ["营业执照", "法定代表人身份证明", "申请书"], ["不动产权证书", "身份证明", "合同"],
             ["居民身份证", "户口簿", "近期免冠照片"], ["单位证明", "经办人身份证明", "相关许可证件"]]
QUERIES = [
    "老人补贴", "我家老人80岁了能领什么补贴", "长寿金", "敬老卡", "老年证", "开公司", "营业执照", "房子过户", "租房备案",
    "卫生许可证", "占道", "刻章", "第一次领发票", "社保开户", "公积金开户", "交契税", "燃气过户", "水表过户", "领养老金",
    "书店年检", "个体户注册", "开个体店", "注销公司", "办结婚证", "离婚登记", "身份证丢了怎么补办", "换驾照", "户口迁移",
    "办居住证", "失业金怎么领", "工伤待遇认定", "生育津贴", "公积金提取", "公积金贷款还款", "退税", "个税汇算",
    "房产税申报", "抵押登记", "查封登记", "开饭店要什么证", "小餐饮许可", "医师执业注册", "出生证明补办", "导游证换发",
    "开网吧", "旅行社许可", "低保申请", "残疾人补贴", "挖马路", "火星移民签证",
]


def generated_entries(count: int) -> list[dict]:
    """``count`` catalogue entries, the departments' objects and actions taken in turn."""
    from engine.people.organisation import read_departments

    names = read_departments()
    by_department = {department: [(o, a) for o in objects for a in actions]
                     for department, (objects, actions) in DEPARTMENTS.items()}
    entries, turns = [], cycle(list(by_department))
    while len(entries) < count:
        department = next(turns)
        if not by_department[department]:
            if not any(by_department.values()):
                raise ValueError(f"the tables make fewer than {count} names")
            continue
        thing, action = by_department[department].pop(0)
        i = len(entries)
        sanya = i % 10 == 9
        entries.append({
            "code": f"bench_search_{i:03d}", "national_code": f"000000000000-{8000 + i:04d}-0001",
            "name": thing + action + ("（三亚市）" if sanya else ""), "aliases": [thing + SPOKEN.get(action, action)],
            "keywords": [thing, SPOKEN.get(action, action), *NICKNAMES.get(thing, [])], "type": TYPES[i % len(TYPES)],
            "legal_basis": f"《{thing}管理办法》第{i % 30 + 1}条", "department": department,
            "department_name": names.get(department, department), "region": "460200" if sanya else "460100",
            "conditions": [f"申请人符合{thing}{action}的条件", "材料齐全、符合法定形式"],
            "materials": [{"name": name, "required": True} for name in MATERIALS[i % len(MATERIALS)]],
            "legal_days": 20, "promised_days": 1 + i % 10, "fee": 0})
    return entries


def prepare(settings, total: int) -> int:
    """The schema, the demo users, the shipped matters and generated ones up to ``total``."""
    from engine.definitions.catalogue import read_catalogue, upsert_matter

    common.prepare_database(settings.database_url)
    database = make_engine(settings.database_url)
    with make_session_factory(database)() as session:
        shipped = read_catalogue()
        for entry in shipped + generated_entries(total - len(shipped)):
            upsert_matter(session, entry)
        session.commit()
    database.dispose()
    return total


def index_build(settings, runs: int = 20) -> dict:
    """Reading the rows and building the index, as the first search after a change does."""
    from sqlalchemy import select

    from engine.search import MatterSearch
    from engine.store.models import Matter

    database = make_engine(settings.database_url)
    factory = make_session_factory(database)
    read, built = [], []
    for _ in range(runs):
        with factory() as session:
            started = time.perf_counter()
            matters = list(session.scalars(select(Matter)))
            loaded = time.perf_counter()
            index = MatterSearch.of_matters(matters)
            done = time.perf_counter()
        read.append((loaded - started) * 1000)
        built.append((done - loaded) * 1000)
    database.dispose()
    terms = len(index.postings)
    alone = []
    for query in QUERIES * 20:
        started = time.perf_counter()
        index.search(query)
        alone.append((time.perf_counter() - started) * 1000)
    return {"matters_indexed": len(index), "terms": terms, "postings": sum(map(len, index.postings.values())),
            "read_rows_ms": round(statistics.median(read), 1), "build_ms": round(statistics.median(built), 1),
            "build_max_ms": round(max(built), 1), "search_alone_ms": common.percentiles(alone)}


def in_process(settings, repetitions: int) -> dict:
    """GET /api/matters/search through the Flask test client (no socket): the first request
    (it builds the index), then every query ``repetitions`` times."""
    from api import create_app
    from engine import caches
    from onewindow.wiring import build_services

    caches.reset()
    client = create_app(build_services(settings), settings).test_client()
    started = time.perf_counter()
    first = client.get("/api/matters/search", query_string={"q": QUERIES[0]})
    cold = (time.perf_counter() - started) * 1000
    assert first.status_code == 200 and first.get_json()[0]["code"] == "elderly_subsidy", first.get_data()
    latencies, found = [], {}
    for _ in range(repetitions):
        for query in QUERIES:
            started = time.perf_counter()
            reply = client.get("/api/matters/search", query_string={"q": query})
            latencies.append((time.perf_counter() - started) * 1000)
            assert reply.status_code == 200, reply.get_data()
            found[query] = [hit["code"] for hit in reply.get_json()[:3]]
    return {"cold_first_request_ms": round(cold, 1), "latency_ms": common.percentiles(latencies), "top3": found}


def over_http(base: str, repetitions: int, clients: int) -> dict:
    """The same queries over HTTP: one client in turn, then ``clients`` at once."""
    import requests

    def run(queries: list[str], out: list[float]) -> None:
        with requests.Session() as http:
            for query in queries:
                started = time.perf_counter()
                reply = http.get(f"{base}/api/matters/search", params={"q": query}, timeout=10)
                out.append((time.perf_counter() - started) * 1000)
                if reply.status_code != 200:
                    raise RuntimeError(f"{query}: {reply.status_code} {reply.text[:200]}")
    run(QUERIES, [])  # warm: connections, the index
    sequential: list[float] = []
    started = time.perf_counter()
    run(QUERIES * repetitions, sequential)
    sequential_seconds = time.perf_counter() - started
    concurrent: list[list[float]] = [[] for _ in range(clients)]
    threads = [threading.Thread(target=run, args=(QUERIES * repetitions, concurrent[k])) for k in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    concurrent_seconds = time.perf_counter() - started
    merged = [value for values in concurrent for value in values]
    return {"sequential": {"latency_ms": common.percentiles(sequential),
                           "per_second": round(len(sequential) / sequential_seconds, 1)},
            "concurrent": {"clients": clients, "latency_ms": common.percentiles(merged),
                           "per_second": round(len(merged) / concurrent_seconds, 1)}}


def measure(backend: str, args) -> dict:
    settings = common.settings_for(backend, SCHEMA)
    try:
        prepare(settings, args.matters)
        built = index_build(settings)
        local = in_process(settings, args.repetitions)
        server = servers.start_serve(settings, PORT, "serve-search")
        try:
            remote = over_http(f"http://127.0.0.1:{PORT}", args.repetitions, args.clients)
        finally:
            server.stop()
    finally:
        if backend == "postgres":
            common.drop_schema(SCHEMA)
    server = "onewindow serve (waitress, 8 threads" + (", embedded)" if settings.embedded else ")")
    return {"backend": backend, "server": server, "matters": args.matters, "queries": len(QUERIES),
            "repetitions": args.repetitions, "index": built, "in_process": local, "http": remote,
            "within_target": max(local["latency_ms"]["p99"], remote["sequential"]["latency_ms"]["p99"],
                                 remote["concurrent"]["latency_ms"]["p99"]) <= TARGET_P99_MS}


def scenario(args) -> None:
    runs = []
    for backend in args.backends or ["sqlite"]:
        run = measure(backend, args)
        runs.append(run)
        print(f"{backend}: index of {run['index']['matters_indexed']} matters built in {run['index']['build_ms']} ms "
              f"(rows read in {run['index']['read_rows_ms']} ms); in process p50/p99 "
              f"{run['in_process']['latency_ms']['p50']}/{run['in_process']['latency_ms']['p99']} ms; HTTP p50/p99 "
              f"{run['http']['sequential']['latency_ms']['p50']}/{run['http']['sequential']['latency_ms']['p99']} ms, "
              f"{args.clients} clients p99 {run['http']['concurrent']['latency_ms']['p99']} ms", file=sys.stderr)
    common.save("search", {"target_p99_ms": TARGET_P99_MS, "runs": runs})


def add_arguments(parser) -> None:
    parser.add_argument("--backend", dest="backends", action="append", choices=("sqlite", "postgres"),
                        help="sqlite and/or postgres (repeat the option); default: sqlite only")
    parser.add_argument("--matters", type=int, default=MATTERS)
    parser.add_argument("--repetitions", type=int, default=20, help="times each of the 50 queries is asked")
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients")
    parser.set_defaults(backends=None)
