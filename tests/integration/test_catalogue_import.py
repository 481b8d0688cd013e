"""Importing a matter catalogue export (事项库) as an analyst does: ``onewindow catalogue
import`` as a real process on the suite's database, and ``POST /api/catalogue/import``.

A 300-row CSV with five bad rows (unknown department, promised over legal, no name, a code
twice, a time limit that is no number of days) imports 295 matters and names each bad row
with its reasons, exit 1; importing it again finds the same matters (unchanged, or updated
where a row changed), never duplicates. Material aliases are normalised (身份证 ->
居民身份证); a JSON export and a GB18030 CSV import too; the matters take applications."""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess

import pytest
from sqlalchemy import func, select

from engine.config import REPO_ROOT
from engine.store.models import Matter
from tests.integration.test_worker_process import ONEWINDOW

COLUMNS = ["基本编码", "实施编码", "事项名称", "事项类型", "设定依据", "实施主体", "法定办结时限", "承诺办结时限",
           "申请材料", "办理形式", "到办事现场次数", "收费", "模板", "秒批条件", "备注"]
DEPARTMENTS = ["海口市民政局", "住房和城乡建设局", "三亚市卫生健康委员会", "人力资源和社会保障局", "市场监督管理局"]
TEMPLATES = [("秒批", "年满18周岁;在世"), ("智能审批", ""), ("告知承诺", ""), ("综合窗口", "")]
MATERIALS = ["身份证(政府部门核发);户口本(政府部门核发)", "居民身份证(申请人自备);营业执照副本(政府部门核发)",
             "房产证(政府部门核发);租赁合同(申请人自备,选填)", ""]
# row number (1: the first matter) -> what is wrong with it, and the reason the report gives
BAD_ROWS = {
    11: ({"实施主体": "不存在的局"}, "实施主体: 未知的实施主体「不存在的局」"),
    21: ({"承诺办结时限": "30"}, "承诺办结时限: 承诺办结时限（30个工作日）不得超过法定办结时限（20个工作日）"),
    31: ({"事项名称": ""}, "事项名称: 必填"),
    41: ({"实施编码": "{prefix}-0005"}, "实施编码: 与第6行的事项编码"),
    51: ({"法定办结时限": "二十天左右"}, "法定办结时限: 无法识别的时限「二十天左右」"),
}


def catalogue_rows(prefix: str, count: int = 300, bad: bool = True) -> list[dict]:
    """A 事项库 export of ``count`` matters whose 实施编码 start with ``prefix``, all four
    templates in turn, departments by their Chinese names, materials under their aliases."""
    rows = []
    for i in range(count):
        template, criteria = TEMPLATES[i % len(TEMPLATES)]
        row = {"基本编码": f"000000000000-{i:04d}-0001", "实施编码": f"{prefix}-{i:04d}", "事项名称": f"导入测试事项{i}",
               "事项类型": "行政确认", "设定依据": "《测试管理办法》第五条", "实施主体": DEPARTMENTS[i % len(DEPARTMENTS)],
               "法定办结时限": "20个工作日", "承诺办结时限": str(1 + i % 10), "申请材料": MATERIALS[i % len(MATERIALS)],
               "办理形式": "网上办理", "到办事现场次数": "0", "收费": "否", "模板": template, "秒批条件": criteria,
               "备注": "—"}
        if bad and i + 1 in BAD_ROWS:
            row.update({key: value.format(prefix=prefix) for key, value in BAD_ROWS[i + 1][0].items()})
        rows.append(row)
    return rows


def as_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def onewindow(settings, *args: str) -> subprocess.CompletedProcess:
    """The command on the suite's database. PYTHONPATH: the work tree's packages, installed or not."""
    env = {**os.environ, "ONEWINDOW_DATABASE_URL": settings.database_url, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run([ONEWINDOW, *args], env=env, capture_output=True, text=True, timeout=240)


def row_blocks(stdout: str) -> dict[int, list[str]]:
    """row number -> its line and the indented lines under it."""
    blocks: dict[int, list[str]] = {}
    current = None
    for line in stdout.splitlines():
        if line.startswith("row "):
            current = int(line.split()[1])
            blocks[current] = [line]
        elif line.startswith("  ") and current is not None:
            blocks[current].append(line.strip())
    return blocks


def matters_like(services, prefix: str) -> int:
    with services.sessions() as session:
        return session.scalar(select(func.count()).select_from(Matter).where(Matter.code.like(f"m_{prefix}_%")))


@pytest.fixture(scope="module")
def imported(settings, services, tmp_path_factory):
    """The 300-row file imported once by the real command: (file, its result)."""
    path = tmp_path_factory.mktemp("catalogue") / "catalogue.csv"
    path.write_text(as_csv(catalogue_rows("cli")), encoding="utf-8-sig")  # as exported from Excel: with a BOM
    return path, onewindow(settings, "catalogue", "import", str(path))


def test_a_300_row_export_imports_every_good_row_and_names_each_bad_one(imported, services):
    _, done = imported
    assert done.returncode == 1, done.stderr[-3000:]  # some rows were refused
    assert done.stdout.splitlines()[-1] == "300 rows: 295 created, 0 updated, 0 unchanged, 5 refused"
    blocks = row_blocks(done.stdout)
    assert len(blocks) == 300
    for number, (_, reason) in BAD_ROWS.items():
        assert blocks[number][0].startswith(f"row {number} refused"), blocks[number]
        assert any(line.startswith(reason) for line in blocks[number][1:]), blocks[number]
    assert blocks[1][0] == "row 1 created: m_cli_0000 v1 导入测试事项0"
    assert "ignored columns: 备注" in done.stdout
    assert "importing" in done.stderr  # the progress bar
    assert matters_like(services, "cli") == 295


def test_material_aliases_are_normalised_and_reported(imported, services):
    _, done = imported
    blocks = row_blocks(done.stdout)
    assert "normalised 身份证 -> 居民身份证" in blocks[1] and "normalised 户口本 -> 户口簿" in blocks[1]
    assert "normalised 房产证 -> 不动产权证书" in blocks[3] and "normalised 租赁合同 -> 房屋租赁合同" in blocks[3]
    with services.sessions() as session:
        first, third = session.get(Matter, "m_cli_0000"), session.get(Matter, "m_cli_0002")
        assert first.elements["materials"] == [
            {"name": "居民身份证", "required": True, "source": "population_registry"},
            {"name": "户口簿", "required": True, "source": "population_registry"}]
        assert third.elements["materials"][1] == {"name": "房屋租赁合同", "required": False, "source": "applicant"}
        assert (first.department, first.region) == ("civil_affairs", "460100")
        assert session.get(Matter, "m_cli_0002").region == "460200"  # 三亚市卫生健康委员会
        assert session.get(Matter, "m_cli_0001").elements["template"] == "data_comparison"


def test_importing_again_updates_what_changed_and_duplicates_nothing(imported, settings, services):
    path, _ = imported
    rows = catalogue_rows("cli")
    for i in (0, 1, 2):
        rows[i]["事项名称"] += "（修订）"
    path.write_text(as_csv(rows), encoding="utf-8-sig")
    again = onewindow(settings, "catalogue", "import", str(path))
    assert again.returncode == 1
    assert again.stdout.splitlines()[-1] == "300 rows: 0 created, 3 updated, 292 unchanged, 5 refused"
    assert row_blocks(again.stdout)[1][0] == "row 1 updated: m_cli_0000 v2 导入测试事项0（修订）"
    assert matters_like(services, "cli") == 295
    with services.sessions() as session:
        assert session.get(Matter, "m_cli_0000").name == "导入测试事项0（修订）"


def test_every_row_in_exits_0(settings, tmp_path):
    path = tmp_path / "good.csv"
    path.write_text(as_csv(catalogue_rows("good", 4, bad=False)), encoding="utf-8")
    done = onewindow(settings, "catalogue", "import", str(path), "--template", "window")
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    assert done.stdout.splitlines()[-1] == "4 rows: 4 created, 0 updated, 0 unchanged, 0 refused"


def test_a_gb18030_export_imports(settings, services, tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes(as_csv(catalogue_rows("gbk", 3, bad=False)).encode("gb18030"))
    done = onewindow(settings, "catalogue", "import", str(path))
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    with services.sessions() as session:
        assert session.get(Matter, "m_gbk_0001").name == "导入测试事项1"
        assert session.get(Matter, "m_gbk_0001").department == "housing"


def test_an_unreadable_file_is_one_line_and_exit_1(settings, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("[{\"事项名称\": ", encoding="utf-8")
    done = onewindow(settings, "catalogue", "import", str(path))
    assert done.returncode == 1 and "JSON 格式有误" in done.stderr and "Traceback" not in done.stderr


def test_a_json_export_imports_through_the_api(api, new_user):
    analyst = new_user("analyst")
    rows = catalogue_rows("json", 8, bad=False)
    rows[1]["申请材料"] = [{"材料名称": "身份证件", "来源渠道": "政府部门核发"},
                       {"材料名称": "委托书", "来源渠道": "申请人自备", "是否必要": "否"}]
    rows[2]["法定办结时限"], rows[2]["承诺办结时限"] = 15, "即办"
    rows[5]["实施主体"] = "公安分局"
    body = {"format": "json", "template": "window", "content": json.dumps(rows, ensure_ascii=False)}
    reply = api.post("/api/catalogue/import", analyst, json=body)
    assert reply.status_code == 200, reply.get_json()
    report = reply.get_json()
    assert report["total"] == 8 and report["counts"] == {"created": 7, "updated": 0, "unchanged": 0, "refused": 1}
    assert sum(report["counts"].values()) == len(report["rows"]) == 8
    second = report["rows"][1]
    assert second["normalised"] == [{"from": "身份证件", "to": "居民身份证"}, {"from": "委托书", "to": "授权委托书"}]
    refused = report["rows"][5]
    assert (refused["status"], refused["code"]) == ("refused", "m_json_0005")
    assert refused["reasons"] == ["实施主体: 未知的实施主体「公安分局」：事项目录中没有这个部门（processes/catalogue.yaml 的 departments）"]
    guide = api.get("/api/matters/m_json_0002/guide", analyst).get_json()["guide"]
    assert (guide["legal_days"], guide["promised_days"]) == (15, 1)

    again = api.post("/api/catalogue/import", analyst, json=body).get_json()
    assert again["counts"] == {"created": 0, "updated": 0, "unchanged": 7, "refused": 1}


def test_an_uploaded_file_imports_in_gb18030_too(api, services, new_user):
    analyst = new_user("analyst")
    content = as_csv(catalogue_rows("upload", 2, bad=False)).encode("gb18030")
    reply = api.post("/api/catalogue/import/file?template=window", analyst, content_type="multipart/form-data",
                     data={"file": (io.BytesIO(content), "事项库导出.csv")})
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json()["counts"]["created"] == 2
    with services.sessions() as session:
        assert session.get(Matter, "m_upload_0000").name == "导入测试事项0"
    unnamed = api.post("/api/catalogue/import/file", analyst, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(content), "export.txt")})
    assert unnamed.status_code == 422 and "format" in unnamed.get_json()["errors"]


def test_what_is_no_catalogue_is_422(api, new_user):
    analyst = new_user("analyst")
    for body in ({"format": "json", "content": "{\"事项名称\": \"x\"}"}, {"format": "json", "content": "[1, 2"},
                 {"format": "csv", "content": ",".join(COLUMNS) + "\n"}, {"format": "xml", "content": "<a/>"}):
        reply = api.post("/api/catalogue/import", analyst, json=body)
        assert reply.status_code == 422, (body, reply.get_json())
    too_many = as_csv(catalogue_rows("many", 501, bad=False))
    reply = api.post("/api/catalogue/import", analyst, json={"format": "csv", "content": too_many})
    assert reply.status_code == 422 and "onewindow catalogue import" in str(reply.get_json()["errors"])
    rows = api.post("/api/catalogue/import", analyst, json={"format": "json", "content": "[1, {\"x\": 2}]"}).get_json()
    assert [r["status"] for r in rows["rows"]] == ["refused", "refused"]


def test_imported_matters_take_applications(api, imported, resident, applicant_for):
    person = resident(40)
    applicant = applicant_for(person)
    data = {"id_number": person, "phone": "13800138000"}
    instant = api.post("/api/applications", applicant, json={"matter": "m_cli_0000", "data": data})
    assert instant.status_code == 201 and instant.get_json()["outcome"] == "approve", instant.get_json()
    window = api.post("/api/applications", applicant, json={"matter": "m_cli_0003",
                                                             "data": {**data, "delivery_method": "mail"}})
    assert window.status_code == 202, window.get_json()
