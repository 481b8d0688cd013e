"""The analyst's workbench in a real browser: model, validate, replay, deploy; the version
history with its diff and roll-back; the incidents page."""
from __future__ import annotations

import re

from lxml import etree

from tests.browser.conftest import sign_in
from tests.integration.conftest import _new_resident, _verified_account

RULE_80 = "    when: {age: {lt: 80}}\n    outcome: reject\n    message: 申请人未满80周岁"
RULE_85 = "    when: {age: {lt: 85}}\n    outcome: reject\n    message: 申请人未满85周岁"
BAND_80 = "when: {all: [{age: {gte: 80}}, {age: {lt: 90}}]}"
BAND_85 = "when: {all: [{age: {gte: 85}}, {age: {lt: 90}}]}"


def an_applicant(site, age: int) -> tuple[str, str]:
    """A verified resident of ``age`` with an account: (username, id number)."""
    with site.services.sessions() as session:
        id_number = _new_resident(session, age)
        user = _verified_account(session, id_number)
        session.commit()
        return user.username, id_number


def apply_for_subsidy(site, age: int) -> dict:
    username, id_number = an_applicant(site, age)
    reply = site.api.post("/api/applications", username, json={
        "matter": "elderly_subsidy", "data": {"id_number": id_number, "phone": "13800138000"}})
    assert reply.status_code in (201, 202), reply.get_json()
    return reply.get_json()


def open_modeller(page, code: str) -> None:
    page.goto(f"/analyst/modeller/{code}")
    page.wait_for_selector("body[data-opened-ms]")


def validations(page) -> int:
    return int(page.get_attribute("body", "data-validations") or 0)


def validate(page) -> None:
    before = validations(page)
    page.get_by_role("button", name="校验").click()
    page.wait_for_selector(f"body[data-validations='{before + 1}']")


def element(page, element_id: str):
    return page.locator(f"g.djs-element[data-element-id='{element_id}']")


def select(page, element_id: str) -> None:
    """Select an element as a click on it does (a connection's line is too thin to hit
    reliably by coordinates): the context pad and the properties panel follow."""
    page.evaluate("id => { const viewer = window.modeller.bpmn;"
                  " viewer.get('selection').select(viewer.get('elementRegistry').get(id)); }", element_id)


def test_an_analyst_changes_validates_breaks_fixes_replays_and_deploys_the_elderly_subsidy(page, shot, site):
    eighty_two = apply_for_subsidy(site, 82)  # approved by the shipped rules (80-89: 100 yuan)
    assert eighty_two["outcome"] == "approve"
    version = next(d["version"] for d in site.api.get("/api/definitions", "analyst").get_json()
                   if d["matter"] == "elderly_subsidy")

    sign_in(page, "analyst")
    open_modeller(page, "elderly_subsidy")
    assert element(page, "Gateway_review").count() == 1  # the shipped diagram is drawn
    shot("opened")

    # a label: select the review task on the canvas, rename it in the properties panel
    element(page, "Task_review").click()
    name = page.locator("#properties").get_by_label("名称")
    name.fill("人工审核（民政局）")
    name.press("Enter")
    name.blur()
    assert element(page, "Task_review").text_content() == "人工审核（民政局）"

    # the age threshold, in the rule set
    page.get_by_role("tab", name="规则").click()
    rules = page.get_by_label("规则集（YAML）")
    text = rules.input_value()
    assert RULE_80 in text and BAND_80 in text
    rules.fill(text.replace(RULE_80, RULE_85).replace(BAND_80, BAND_85))
    validate(page)
    assert page.locator("#problems li.error").count() == 0
    assert "校验通过" in page.locator("#status").inner_text()
    shot("changed_and_valid")

    # break it: the review gateway loses both outgoing flows
    page.get_by_role("tab", name="流程（BPMN）").click()
    for flow in ("Flow_review_approve", "Flow_review_reject"):
        select(page, flow)
        page.locator(".djs-context-pad .entry[data-action='delete']").click()
    validate(page)
    assert "problem-marker" in element(page, "Gateway_review").get_attribute("class")
    problem = page.locator("#problems li[data-element='Gateway_review']")
    assert "no outgoing sequence flow" in problem.inner_text()
    shot("broken_gateway_marked")

    # fix it: undo both deletions
    page.get_by_role("button", name="撤销").click()
    page.get_by_role("button", name="撤销").click()
    validate(page)
    assert page.locator("#problems li.error").count() == 0
    assert "problem-marker" not in (element(page, "Gateway_review").get_attribute("class") or "")
    assert element(page, "Task_review").text_content() == "人工审核（民政局）"  # the label stays

    # replay: the 82-year-old's approval would become a refusal
    page.get_by_role("button", name="回放（对比已有申请）").click()
    changed = page.locator(f"#replay-changes tr[data-application='{eighty_two['id']}']")
    changed.wait_for()
    assert "批准 → 不予批准" in changed.inner_text() and "未满85周岁" in changed.inner_text()
    shot("replayed")

    # deploy
    page.get_by_role("button", name="部署新版本").click()
    page.wait_for_selector(f"#status:has-text('已部署为 v{version + 1}')")
    assert page.locator("#base-version").inner_text() == f"v{version + 1}"
    shot("deployed")

    # a new application through the API takes the new version and its threshold
    after = apply_for_subsidy(site, 82)
    assert after["definition_version"] == version + 1 and after["outcome"] == "reject"
    deployed = site.api.get(f"/api/definitions/elderly_subsidy/versions/{version + 1}", "analyst").get_json()
    assert 'name="人工审核（民政局）"' in deployed["bpmn"] and "lt: 85" in deployed["ruleset"]

    # the history shows the change, and a roll-back makes the old rules current again
    page.goto("/analyst/matters/elderly_subsidy")
    page.wait_for_selector("body[data-history-shown]")
    page.get_by_role("button", name="比较").click()
    diff = page.locator("#diff")
    diff.locator("[data-part='rules'] li").first.wait_for()
    assert "rule:under_80" in diff.inner_text() and "Task_review" in diff.inner_text()
    shot("history_diff")
    page.once("dialog", lambda dialog: dialog.accept())  # 把 v… 部署为新的当前版本？
    page.get_by_role("button", name=f"回退到 v{version}").click()
    page.wait_for_selector(f"#status:has-text('部署为新版本 v{version + 2}')")
    assert apply_for_subsidy(site, 82)["outcome"] == "approve"
    shot("rolled_back")


def test_the_matters_list_searches_and_filters(page, shot):
    sign_in(page, "analyst")
    page.goto("/analyst/matters")
    rows = page.locator("#matters tbody tr")
    rows.first.wait_for()
    everything = rows.count()
    assert everything >= 20
    page.get_by_label("搜索").fill("老人")
    assert 1 <= rows.count() < everything
    assert all("老人" in name for name in rows.locator("td:first-child a").all_inner_texts())
    page.get_by_label("搜索").fill("")
    page.get_by_label("部门").select_option(label="税务局")
    assert re.search(r"共 \d+ 项", page.locator("#count").inner_text())
    assert set(rows.locator("td:nth-child(2)").all_inner_texts()) == {"税务局"}
    shot("matters_by_department")


def test_the_incidents_page_shows_the_failed_element_and_retries(page, shot, site):
    from engine.definitions.catalogue import read_catalogue, upload_for, upsert_matter

    elderly = next(e for e in read_catalogue() if e["code"] == "elderly_subsidy")
    files = upload_for(elderly)
    step = "amount = decision['values'].get('amount', 0)"
    code = "scratch_incident"
    with site.services.sessions() as session:
        upsert_matter(session, {**elderly, "code": code, "name": "测试异常事项"})
        session.commit()

    def deploy(script: str) -> None:
        reply = site.api.post("/api/definitions", "analyst", json={
            "matter": code, "bpmn": files.bpmn.replace(step, script), "form": files.form,
            "ruleset": files.ruleset.replace("matter: elderly_subsidy", f"matter: {code}")})
        assert reply.status_code == 201, reply.get_json()

    deploy("amount = 1 // 0")
    username, id_number = an_applicant(site, 85)
    failed = site.api.post("/api/applications", username, json={
        "matter": code, "data": {"id_number": id_number, "phone": "13800138000"}}).get_json()

    sign_in(page, "analyst")
    page.goto("/analyst/incidents")
    row = page.locator(f"#incidents tr:has-text('{code}')")
    row.wait_for()
    assert "Task_grant" in row.inner_text() and "ZeroDivisionError" in row.inner_text()
    row.get_by_role("button", name="在流程图中查看").click()
    page.wait_for_selector("body[data-shown-incident]")
    assert "problem-marker" in element(page, "Task_grant").get_attribute("class")
    shot("incident_on_diagram")

    deploy(step)  # the fix
    row.get_by_role("button", name="重试").click()
    page.wait_for_selector(f"#status:has-text('申请 {failed['id']}')")
    detail = site.api.get(f"/api/applications/{failed['id']}", "analyst").get_json()  # the decision: staff only
    assert detail["status"] == "completed" and detail["decision"]["outcome"] == "approve", detail
    shot("incident_retried")


def _shipped_matters() -> list[str]:
    from engine.definitions.catalogue import read_catalogue
    return [entry["code"] for entry in read_catalogue()]


def test_every_shipped_matter_opens_as_drawn_with_its_form_and_tables(page, shot):
    """Each shipped BPMN opens from its diagram interchange (no layout), its form in the
    form-js editor and its DMN tables in dmn-js, with no console error."""
    sign_in(page, "analyst")
    for code in _shipped_matters():
        open_modeller(page, code)
        assert page.locator("#canvas [role=alert]").count() == 0, code  # no "layout failed"
        assert page.locator("#canvas g.djs-shape").count() >= 3, code
        page.get_by_role("tab", name="申请表单").click()
        page.wait_for_selector("body[data-form-opened]")
        assert page.locator("#form-editor .fjs-editor-container").count() == 1, code
        if code == "resident_pension":
            page.get_by_role("tab", name="决策表（DMN）").click()
            page.locator("#dmn-editor .tjs-table").wait_for()
            shot("resident_pension_dmn")
    shot("last_matter_form_editor")


def test_the_properties_panel_edits_the_engines_own_extensions(page, shot, site):
    """A timer in working days, a user task's form, a lane's department and a service
    operation's parameters, edited in the panel, reach the deployed BPMN; a rule-set problem
    is marked on its line."""
    sign_in(page, "analyst")
    open_modeller(page, "hygiene_licence")
    panel = page.locator("#properties")

    element(page, "Timer_verification_due").click()
    panel.get_by_label("等待工作日数").fill("7")
    panel.get_by_label("等待工作日数").press("Enter")
    panel.get_by_label("等待工作日数").blur()

    element(page, "Task_review").click()
    assert panel.get_by_label("任务表单").input_value() == "review"
    panel.get_by_label("任务表单").select_option("verification")
    panel.get_by_label("任务表单").select_option("review")  # and back: the property is rewritten, not doubled

    select(page, "Lane_department")
    panel.get_by_label("部门 / 角色（泳道名）").select_option("health")

    select(page, "Task_credit")
    assert panel.get_by_label("服务操作").input_value() == "credit.check"
    panel.get_by_label("参数（每行 名称 = 表达式）").fill("subject = form['credit_code']")
    panel.get_by_label("参数（每行 名称 = 表达式）").blur()
    shot("panel_service_task")

    page.get_by_role("tab", name="规则").click()
    rules = page.get_by_label("规则集（YAML）")
    text = rules.input_value()
    first_rule = text.split("\n").index(next(line for line in text.split("\n") if line.strip().startswith("- id:")))
    broken = text.split("\n")
    broken[first_rule + 1] = broken[first_rule + 1].replace("when:", "whan:")
    rules.fill("\n".join(broken))
    validate(page)
    assert page.locator("#gutter .bad").count() >= 1
    shot("rule_line_marked")
    rules.fill(text)
    validate(page)
    assert page.locator("#problems li.error").count() == 0, page.locator("#problems").inner_text()

    page.get_by_role("button", name="部署新版本").click()
    page.wait_for_selector("#status:has-text('已部署为 v')")
    version = int(page.locator("#base-version").inner_text().lstrip("v"))
    bpmn = site.api.get(f"/api/definitions/hygiene_licence/versions/{version}", "analyst").get_json()["bpmn"]
    assert "working_days_later(7)" in bpmn
    review = etree.fromstring(bpmn.encode()).find(".//{*}userTask[@id='Task_review']")
    assert [p.get("value") for p in review.iterfind(".//{*}property[@name='taskForm']")] == ["review"]  # not doubled
    assert '<bpmn:lane id="Lane_department" name="health">' in bpmn
    assert '<spiffworkflow:parameter id="subject" type="any" value="form[&#39;credit_code&#39;]"' in bpmn, bpmn[:3000]
    site.api.post("/api/definitions/hygiene_licence/rollback", "analyst", json={"version": version - 1})


def test_a_page_says_what_went_wrong_instead_of_staying_blank(page, shot):
    page.answers_expected.update({403, 404})
    sign_in(page, "clerk_civil")  # no analyst: the API answers 403
    page.goto("/analyst/matters")
    assert "没有权限" in page.locator("#page-error").inner_text()
    assert page.get_by_role("link", name="按模板新建事项").is_hidden()  # not offered to a clerk
    shot("clerk_on_analyst_page")
    sign_in(page, "analyst")
    for where in ("/analyst/modeller/no_such_matter", "/analyst/modeller/elderly_subsidy?version=abc",
                  "/analyst/modeller/elderly_subsidy?version=99999"):
        page.goto(where)
        assert "未找到" in page.locator("#page-error").inner_text(), where


def test_the_login_page_returns_only_to_a_page_of_this_site(page, base_url):
    for outside in ("https://evil.example/phish", "//evil.example/phish"):
        page.goto(f"/login?next={outside}")
        page.get_by_label("用户名").fill("analyst")
        page.get_by_label("密码").fill("demo-password")
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(lambda url: "/login" not in url)
        assert page.url.startswith(base_url + "/") and "evil" not in page.url
