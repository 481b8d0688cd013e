"""The supervision dashboard (电子监察) in a real browser: a supervisor sees a red overdue case
named as a person reads it, the 四减 chart of a matter over its table, exports CSV; ratings
with their rectifications; a clerk is refused and sees no figures."""
from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

from engine.store.models import Application, utcnow
from tests.browser.conftest import accessible, sign_in
from tests.browser.test_workbench import an_applicant, apply_for_subsidy
from tests.integration.test_ratings import ROAD_WORKS


def overdue_case(site) -> dict:
    """A 临时占用城市道路许可 waiting at the comprehensive window, claimed by clerk_window, its
    promised limit run out ten days ago (its due date moved back in the database, as the
    deadline tests move the clock), then swept red."""
    username, id_number = an_applicant(site, 40)
    reply = site.api.post("/api/applications", username, json={
        "matter": "road_occupation", "data": {"id_number": id_number, **ROAD_WORKS}})
    assert reply.status_code in (201, 202), reply.get_json()
    case = reply.get_json()
    assert case["status"] == "waiting", case
    task = next(t for t in site.api.get("/api/tasks", "clerk_window").get_json() if t["application_id"] == case["id"])
    assert site.api.post(f"/api/tasks/{task['id']}/claim", "clerk_window").status_code == 200
    with site.services.sessions() as session:
        application = session.get(Application, case["id"])
        application.due_at = utcnow() - timedelta(days=10)
        application.yellow_at = utcnow() - timedelta(days=12)
        session.commit()
    site.services.supervision.sweep()
    return case


def four_reductions_of(page, matter_name: str) -> None:
    page.goto("/supervision/four-reductions")
    page.wait_for_selector("body[data-loaded='reductions']")
    page.get_by_label("事项或一件事").select_option(label=matter_name)
    page.get_by_role("button", name="查看").click()
    page.wait_for_selector("body[data-reductions='1']")


def drawn(page, canvas: str) -> bool:
    """The canvas has pixels painted (Chart.js drew into it), not only a box."""
    return page.evaluate("""selector => { const canvas = document.querySelector(selector);
        const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) return true;
        return false; }""", canvas)


def test_a_supervisor_sees_a_red_overdue_case_and_the_four_reductions_of_a_matter(page, shot, site):
    case = overdue_case(site)
    approved = apply_for_subsidy(site, 82)  # finished at once: measured in 四减
    assert approved["outcome"] == "approve"

    sign_in(page, "supervisor")
    page.wait_for_url("**/supervision")
    page.wait_for_selector("body[data-loaded='deadlines']")
    row = page.locator(f"#overdue-table tr[data-application='{case['id']}']")
    assert row.get_attribute("data-colour") == "red"
    text = row.inner_text()
    for shown in (case["tracking_no"], "临时占用城市道路许可", "住房和城乡建设局", "综合受理窗口", "已超期", "个工作日"):
        assert shown in text, (shown, text)
    assert "road_occupation" not in text and "housing" not in text  # names, not codes
    assert row.locator(".badge").evaluate("node => getComputedStyle(node).backgroundColor") == "rgb(217, 45, 32)"
    assert page.locator(f"#near-due-table tr[data-application='{case['id']}']").count() == 0
    department = page.locator("#by-department-table tbody tr", has_text="住房和城乡建设局")
    assert department.count() == 1 and int(department.locator("td").nth(2).inner_text()) >= 1  # its red column
    assert page.locator("#by-clerk-table tbody tr", has_text="综合受理窗口").count() == 1
    assert drawn(page, "#by-department-chart") and drawn(page, "#by-clerk-chart")
    accessible(page, "supervision: deadlines")
    shot("deadlines_overdue_red")

    four_reductions_of(page, "高龄老人长寿补贴")
    for reduction in ("time", "steps", "materials", "trips"):
        assert page.get_attribute(f"#reductions-{reduction}-chart", "data-drawn") == "1"
        assert drawn(page, f"#reductions-{reduction}-chart")
        rows = page.locator(f"#reductions-{reduction}-table tbody tr")
        assert rows.count() == 1 and rows.first.get_attribute("data-matter") == "elderly_subsidy"
        assert "高龄老人长寿补贴" in rows.first.inner_text()
    time_row = page.locator("#reductions-time-table tbody tr").inner_text()
    assert "减少" in time_row  # 20 working days before the reform, 5 promised now
    accessible(page, "supervision: four reductions of a matter")
    shot("four_reductions_elderly_subsidy")


def test_the_four_reductions_and_a_table_export_as_csv(page, shot, site):
    apply_for_subsidy(site, 83)
    sign_in(page, "supervisor")
    four_reductions_of(page, "高龄老人长寿补贴")
    with page.expect_download() as waiting:
        page.get_by_role("button", name="导出四减数据（CSV）").click()
    report = waiting.value
    assert report.suggested_filename == "four-reductions.csv"
    rows = list(csv.DictReader(io.StringIO(Path(report.path()).read_text(encoding="utf-8-sig"))))
    assert [(r["事项编码"], r["名称"]) for r in rows] == [("elderly_subsidy", "高龄老人长寿补贴")]
    assert int(rows[0]["已办结件数"]) >= 1

    with page.expect_download() as waiting:  # the table under a chart, as it reads
        page.locator("#reductions-materials-csv").click()
    table = Path(waiting.value.path()).read_text(encoding="utf-8-sig")
    assert table.splitlines()[0].startswith("事项 / 一件事,类型,改革前（份材料）")
    assert "高龄老人长寿补贴,事项," in table
    shot("four_reductions_exported")

    page.goto("/supervision/four-reductions")  # every matter and bundle
    page.wait_for_selector("body[data-loaded='reductions']")
    assert int(page.get_attribute("body", "data-reductions")) > 10
    assert page.locator("#reductions-trips-table tbody tr[data-kind='bundle']").count() >= 1
    accessible(page, "supervision: four reductions of every matter")
    shot("four_reductions_all")


def test_ratings_rectifications_and_incidents_for_a_supervisor(page, shot, site):
    username, id_number = an_applicant(site, 40)  # too young: refused at once, then rated badly
    refused = site.api.post("/api/applications", username, json={
        "matter": "elderly_subsidy", "data": {"id_number": id_number, "phone": "13800138000"}}).get_json()
    assert refused["status"] == "completed", refused
    assert site.api.post(f"/api/applications/{refused['reference']}/rating", username,
                         json={"level": 1, "comment": "没说清楚为什么不批"}).status_code == 201

    sign_in(page, "supervisor")
    page.goto("/supervision/ratings")
    page.wait_for_selector("body[data-loaded='ratings']")
    rectification = page.locator("#rectifications-table tbody tr", has_text="没说清楚为什么不批")
    assert rectification.count() == 1
    for shown in ("高龄老人长寿补贴", "民政局", "非常不满意", "待整改"):
        assert shown in rectification.inner_text()
    department = page.locator("#ratings-by-department-table tbody tr", has_text="民政局")
    assert department.count() == 1 and drawn(page, "#ratings-by-department-chart")
    assert page.locator("#ratings-by-matter-table tbody tr", has_text="高龄老人长寿补贴").count() == 1
    assert page.locator("#incidents-table").count() == 1
    accessible(page, "supervision: ratings and incidents")
    shot("ratings_rectifications_incidents")

    sign_in(page, "admin")  # admins supervise too, and may open the incidents themselves
    page.goto("/supervision/ratings")
    page.wait_for_selector("body[data-loaded='ratings']")
    assert page.get_by_role("link", name="查看异常详情并重试").get_attribute("href") == "/analyst/incidents"


def test_a_clerk_opening_the_dashboard_is_refused_and_sees_no_figures(page, shot, site):
    page.answers_expected.add(403)
    sign_in(page, "clerk_civil")
    for path in ("/supervision", "/supervision/ratings", "/supervision/four-reductions"):
        page.goto(path)
        page.wait_for_selector("#page-error")
        assert "没有权限" in page.locator("#page-error").inner_text()
        assert page.locator("table, canvas").count() == 0
        assert page.locator("form, .figure").filter(visible=True).count() == 0
        accessible(page, f"supervision refused: {path}")
    shot("clerk_refused")


def test_a_period_that_ends_before_it_starts_is_said_and_not_asked(page, shot, site):
    """四减 over 2030 → 2020: the page says what is wrong in Chinese and sends nothing (the
    API would refuse it with a 422 whose detail is English)."""
    sign_in(page, "supervisor")
    page.goto("/supervision/four-reductions")
    page.wait_for_selector("body[data-loaded='reductions']")
    asked = []
    page.on("request", lambda request: asked.append(request.url) if "four-reductions" in request.url else None)
    page.get_by_label("申请提交自").fill("2030-01-01")
    page.get_by_label("至（不含）").fill("2020-01-01")
    page.get_by_role("button", name="查看", exact=True).click()
    page.wait_for_selector("#status:has-text('须晚于')")
    page.get_by_role("button", name="导出四减数据（CSV）").click()
    assert asked == []
    shot("wrong_period")
