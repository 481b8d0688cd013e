"""Authoring in the browser: a matter made from the 秒批 template and decided at once for an
applicant; a 事项库 export imported through the page with its per-row report."""
from __future__ import annotations

from tests.browser.conftest import sign_in
from tests.browser.test_workbench import an_applicant


def field(page, name: str):
    return page.locator(f"#guide [data-field='{name}']")


def test_an_analyst_creates_an_instant_matter_and_an_applicant_is_decided_at_once(page, shot, site):
    page.answers_expected.add(422)  # the refused guide below
    sign_in(page, "analyst")
    page.goto("/analyst/new")
    page.get_by_role("radio", name="秒批").check()
    field(page, "code").locator("input").fill("senior_bath_voucher")
    field(page, "name").locator("input").fill("老年人助浴补贴")
    field(page, "type").locator("select").select_option(label="行政给付")
    field(page, "legal_basis").locator("input").fill("《海口市老年人助浴服务办法》（演示）")
    field(page, "department").locator("select").select_option(label="民政局")
    field(page, "legal_days").locator("input").fill("10")
    field(page, "promised_days").locator("input").fill("12")  # more than the legal days: refused, named
    field(page, "conditions").locator("textarea").fill("年满70周岁\n本地户籍")
    field(page, "materials").get_by_label("材料名称").fill("身份证")
    criteria = field(page, "criteria")
    criteria.get_by_label("条件种类").select_option(label="年满N周岁")
    criteria.get_by_label("年龄").fill("70")
    criteria.get_by_role("button", name="添加一项").click()
    criteria.get_by_label("条件种类").nth(1).select_option(label="本地户籍")
    page.get_by_role("button", name="创建并部署").click()
    error = field(page, "promised_days").locator(".field-error")
    error.wait_for()
    assert "法定" in error.inner_text()
    shot("guide_refused")

    field(page, "promised_days").locator("input").fill("1")
    page.get_by_role("button", name="创建并部署").click()
    page.wait_for_selector("#created[data-matter='senior_bath_voucher']")
    assert "v1" in page.locator("#created h2").inner_text()
    shot("created")

    old_enough, old_id = an_applicant(site, 75)
    approved = site.api.post("/api/applications", old_enough, json={
        "matter": "senior_bath_voucher", "data": {"id_number": old_id, "phone": "13800138000"}})
    assert approved.status_code == 201, approved.get_json()
    assert approved.get_json()["outcome"] == "approve"
    young, young_id = an_applicant(site, 60)
    refused = site.api.post("/api/applications", young, json={
        "matter": "senior_bath_voucher", "data": {"id_number": young_id, "phone": "13800138000"}}).get_json()
    decision = site.api.get(f"/api/applications/{refused['id']}", "analyst").get_json()["decision"]  # staff only
    assert refused["outcome"] == "reject" and "70" in str(decision["reasons"])

    page.get_by_role("link", name="在建模器中打开").click()  # the new matter opens as drawn
    page.wait_for_selector("body[data-opened-ms]")
    assert page.locator("#canvas g.djs-shape").count() >= 3
    shot("created_in_modeller")


def test_a_catalogue_export_is_imported_through_the_page_with_a_report(page, shot, tmp_path):
    export = tmp_path / "事项库导出.csv"
    export.write_text(
        "基本编码,实施编码,事项名称,事项类型,设定依据,实施主体,法定办结时限,承诺办结时限,申请材料,办理形式,到办事现场次数,收费\n"
        "000000000000-0090-0001,,临时救助金申领,行政给付,《社会救助暂行办法》,民政局,20个工作日,5,"
        "身份证(申请人自备);户口本(申请人自备),窗口办理,1,否\n"
        "000000000000-0090-0002,,无主体事项,行政确认,《某办法》,不存在局,20,5,身份证(申请人自备),窗口办理,1,否\n",
        encoding="utf-8")
    sign_in(page, "analyst")
    page.goto("/analyst/import")
    page.get_by_label("文件").set_input_files(str(export))
    page.get_by_label("模板").select_option(label="综合窗口")
    page.get_by_role("button", name="导入").click()
    report = page.locator("#report[data-total]")
    report.wait_for()
    assert (report.get_attribute("data-total"), report.get_attribute("data-created"),
            report.get_attribute("data-refused")) == ("2", "1", "1")
    refused = page.locator("#rows tr[data-status='refused']")
    assert "不存在局" in refused.inner_text()
    created = page.locator("#rows tr[data-status='created']")
    assert "身份证 → 居民身份证" in created.inner_text() and "户口本 → 户口簿" in created.inner_text()
    shot("import_report")
