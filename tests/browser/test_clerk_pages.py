"""The clerk's workbench (工作台) in a real browser: the queue with its colours and bulk
claim, the case page (an uploaded material shown, the review completed, a send-back), the
front desk accepting a window matter and printing its 受理凭证, delivery prefilled with the
applicant's address, and rectifications."""
from __future__ import annotations

import io
import struct
import zlib

import pytest
from sqlalchemy import update

from engine.store.models import Application, Task
from tests.browser.conftest import accessible, sign_in
from tests.browser.test_workbench import an_applicant
from tests.integration.helpers import with_silent_source

ADDRESS = "海口市美兰区海甸岛人民大道58号"


def png(width: int = 40, height: int = 30) -> bytes:
    """A small valid PNG (a grey picture), as a phone camera's scan would be."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\x99\x99\x99" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def manual_subsidy_case(site, upload: bytes | None = None) -> dict:
    """A 高龄补贴 application the rules cannot verify (the death register does not answer):
    it waits for a civil-affairs clerk; with ``upload``, a material file attached."""
    username, id_number = an_applicant(site, 85)
    uploads = []
    if upload is not None:
        reply = site.api.post("/api/uploads", username, data={"file": (io.BytesIO(upload), "户口簿首页.png", "image/png")},
                              content_type="multipart/form-data")
        assert reply.status_code == 201, reply.get_json()
        uploads.append(reply.get_json()["id"])
    reply = with_silent_source(site.services, "death_records").post("/api/applications", username, json={
        "matter": "elderly_subsidy", "data": {"id_number": id_number, "phone": "13800138000"}, "uploads": uploads})
    body = reply.get_json()
    assert body["status"] == "waiting", body
    return {**body, "username": username}


def window_case(site) -> dict:
    username, id_number = an_applicant(site, 40)
    reply = site.api.post("/api/applications", username, json={"matter": "road_occupation", "data": {
        "id_number": id_number, "phone": "13800138000", "location": "美兰区海甸岛人民大道58号门前", "purpose": "店面装修材料堆放",
        "start_date": "2026-10-12", "end_date": "2026-10-20", "area_m2": 12,
        "materials_provided": ["临时占用城市道路申请书", "申请人身份证明", "占道位置平面示意图", "交通安全保障方案"],
        "delivery_method": "mail", "mail_address": ADDRESS}})
    assert reply.status_code == 202, reply.get_json()
    return {**reply.get_json(), "username": username}


def task_of(site, clerk: str, application_id: int) -> dict:
    return next(t for t in site.api.get("/api/tasks?limit=500", clerk).get_json() if t["application_id"] == application_id)


def complete(site, clerk: str, application_id: int, **answer) -> None:
    task = task_of(site, clerk, application_id)
    reply = site.api.post(f"/api/tasks/{task['id']}/complete", clerk, json=answer)
    assert reply.status_code == 200, reply.get_json()


def show_case(page) -> None:
    before = int(page.get_attribute("body", "data-case-shown") or 0)
    page.wait_for_selector(f"body[data-case-shown='{before + 1}']")


def test_a_clerk_claims_a_manual_case_views_its_upload_and_approves_it(page, shot, site):
    case = manual_subsidy_case(site, upload=png())
    task = task_of(site, "clerk_civil", case["id"])

    sign_in(page, "clerk_civil")
    page.goto("/clerk/queue")
    page.wait_for_selector("body[data-rendered-ms]")
    page.get_by_label("事项").select_option(label="高龄老人长寿补贴")
    page.get_by_role("button", name="查询").click()
    row = page.locator(f"#queue tr[data-task='{task['id']}']")
    row.wait_for()
    assert "高龄老人长寿补贴" in row.inner_text() and task["applicant_name"] in row.inner_text()
    row.get_by_role("checkbox").check()
    page.get_by_role("button", name="认领所选").click()
    page.wait_for_selector("#status:has-text('已认领 1 件')")
    assert "我已认领" in row.inner_text()
    accessible(page, "queue")
    shot("queue_claimed")

    row.get_by_role("link", name="办理").click()
    show_case(page)
    assert "高龄老人长寿补贴" in page.locator("#case-title").inner_text()
    assert page.locator("#diagram .current-marker").count() >= 1  # where the case is, on the diagram
    page.get_by_role("button", name="查看 户口簿首页.png").click()
    picture = page.locator("#viewer img[alt='户口簿首页.png']")
    picture.wait_for()
    assert picture.get_attribute("src").startswith("blob:")
    assert page.evaluate("() => document.querySelector('#viewer img').naturalWidth") == 40  # the bytes really arrived
    accessible(page, "case page")
    shot("case_with_upload")

    page.locator("#form").get_by_label("批准", exact=True).check()
    comment = page.locator("#form").get_by_label("审核意见")
    comment.fill("户口簿首页核对无误，本人在世")
    comment.blur()
    page.get_by_role("button", name="提交办理意见").click()
    page.wait_for_selector("#status:has-text('已提交')")
    final = site.api.get(f"/api/applications/{case['reference']}", case["username"]).get_json()
    assert (final["status"], final["outcome"]) == ("completed", "approve"), final
    assert page.locator("#complete").is_disabled()
    shot("case_approved")


def test_another_clerk_sends_a_case_back(page, shot, site):
    case = window_case(site)
    complete(site, "clerk_window", case["id"], outcome="accept")
    complete(site, "clerk_housing", case["id"], outcome="approve", comment="材料齐全")
    approval = task_of(site, "clerk_housing2", case["id"])
    assert approval["title"] == "部门审批"

    sign_in(page, "clerk_housing2")
    page.goto(f"/clerk/tasks/{approval['id']}")
    show_case(page)
    page.get_by_label("退回到").select_option(label="部门审核")
    page.get_by_label("退回理由").fill("请核实交通安全保障方案")
    accessible(page, "case page before send-back")
    page.get_by_role("button", name="退回", exact=True).click()
    page.wait_for_selector("#status:has-text('已退回')")
    again = task_of(site, "clerk_housing", case["id"])
    assert (again["element_id"], again["status"]) == ("Task_review", "open")
    assert "已撤回" in page.locator("#case-summary").inner_text()
    shot("sent_back")


def test_the_front_desk_accepts_a_window_matter_prints_the_receipt_and_delivers(page, shot, site):
    case = window_case(site)
    intake = task_of(site, "clerk_window", case["id"])
    assert intake["form_name"] == "intake"

    sign_in(page, "clerk_window")
    page.goto("/clerk/intake")
    page.wait_for_selector("body[data-intake-shown]")
    row = page.locator(f"#intake tr[data-task='{intake['id']}']")
    assert "临时占用城市道路许可" in row.inner_text()
    accessible(page, "intake")
    shot("intake_waiting")

    with page.expect_response(lambda r: r.url.endswith(f"/api/tasks/{intake['id']}/receipt")) as answer:
        row.get_by_role("button", name=f"受理 {intake['applicant_name']}").click()
    receipt = answer.value
    assert receipt.status == 200 and receipt.headers["content-type"] == "application/pdf"
    # the same answer fetched again with the page's own token (Chromium keeps no body of a fetch read as a blob)
    token = page.evaluate("() => sessionStorage.getItem('onewindow.token')")
    again = page.request.get(receipt.url, headers={"Authorization": f"Bearer {token}"})
    assert again.status == 200 and again.headers["content-type"] == "application/pdf"
    pdf = again.body()
    assert pdf.startswith(b"%PDF-") and f"({case['tracking_no']}) Tj".encode() in pdf
    page.wait_for_selector(f"body[data-receipt-for='{intake['id']}']")
    assert page.locator("#receipt-frame").get_attribute("src").startswith("blob:")
    assert page.get_by_role("link", name="打开并打印受理凭证（PDF）").get_attribute("href").startswith("blob:")
    assert page.locator(f"#accepted td:has-text('{intake['applicant_name']}')").count() >= 1
    accessible(page, "intake with receipt")
    shot("receipt")

    # the back office approves; the result is handed out at the window, by mail to the applicant's address
    complete(site, "clerk_housing", case["id"], outcome="approve")
    complete(site, "clerk_housing2", case["id"], outcome="approve")
    delivery = task_of(site, "clerk_window", case["id"])
    page.reload()
    page.wait_for_selector("body[data-intake-shown]")
    page.locator(f"#delivery tr[data-task='{delivery['id']}']").get_by_role("link", name="出件").click()
    show_case(page)
    form = page.locator("#form")
    assert form.get_by_label("邮寄地址").input_value() == ADDRESS  # prefilled by the task's API
    assert form.get_by_label("邮寄送达").is_checked()
    form.get_by_label("快递公司").fill("EMS")
    tracking = form.get_by_label("快递单号")
    tracking.fill("EA123456789CN")
    tracking.blur()
    accessible(page, "delivery")
    shot("delivery_prefilled")
    page.get_by_role("button", name="提交办理意见").click()
    page.wait_for_selector("#status:has-text('已提交')")
    final = site.api.get(f"/api/applications/{case['reference']}", case["username"]).get_json()
    assert final["status"] == "completed" and final["result"]["delivery"]["address"] == ADDRESS


def test_the_queue_shows_an_overdue_case_in_red_and_rectifications_are_answered(page, shot, site):
    late, fresh = manual_subsidy_case(site), manual_subsidy_case(site)
    with site.services.sessions() as session:  # two days past its promised limit
        session.execute(update(Application).where(Application.id == late["id"]).values(
            due_at=Application.created_at, yellow_at=Application.created_at))
        session.execute(update(Task).where(Task.application_id == late["id"]).values(due_at=Task.created_at))
        session.commit()
    late_task, fresh_task = task_of(site, "clerk_civil", late["id"]), task_of(site, "clerk_civil", fresh["id"])

    sign_in(page, "clerk_civil")
    page.goto("/clerk/queue")
    page.wait_for_selector("body[data-rendered-ms]")
    red = page.locator(f"#queue tr[data-task='{late_task['id']}'] .deadline-badge")
    assert red.get_attribute("data-colour") == "red" and "已超期" in red.inner_text()
    assert page.locator(f"#queue tr[data-task='{fresh_task['id']}'] .deadline-badge").get_attribute("data-colour") \
        in ("green", "yellow")
    # colour from the stylesheet: red is drawn red
    assert page.evaluate("() => getComputedStyle(document.querySelector('.deadline-badge.red')).color") == "rgb(164, 14, 38)"
    accessible(page, "queue with an overdue case")
    shot("queue_red")

    # a bad review of the department opens a rectification the clerk answers
    username, id_number = an_applicant(site, 82)
    approved = site.api.post("/api/applications", username, json={
        "matter": "elderly_subsidy", "data": {"id_number": id_number, "phone": "13800138000"}}).get_json()
    assert approved["outcome"] == "approve"
    rated = site.api.post(f"/api/applications/{approved['reference']}/rating", username,
                          json={"level": 1, "comment": "窗口电话一直打不通"})
    assert rated.status_code == 201, rated.get_json()
    page.goto("/clerk/rectifications")
    page.wait_for_selector("body[data-rectifications]")
    item = page.locator("[data-rectification]", has_text="窗口电话一直打不通")
    item.wait_for()
    accessible(page, "rectifications")
    shot("rectifications")
    item.get_by_label("整改说明").fill("已增设咨询电话专线并安排专人接听")
    item.get_by_role("button", name="提交整改").click()
    page.wait_for_selector("#status:has-text('已提交整改')")
    assert page.locator("[data-rectification]", has_text="窗口电话一直打不通").count() == 0


def test_a_clerk_who_loses_a_claim_sees_the_task_as_it_now_is_in_words(page, shot, site):
    """Another clerk claims the task while this page is open: the refused claim redraws the page
    (claimed, nothing left to do here) instead of leaving live buttons; choices, sources and
    steps read as words, not stored codes; empty inputs are said before anything is sent."""
    case = window_case(site)
    complete(site, "clerk_window", case["id"], outcome="accept")
    review = task_of(site, "clerk_housing", case["id"])

    sign_in(page, "clerk_housing2")
    page.goto(f"/clerk/tasks/{review['id']}")
    show_case(page)
    assert "邮寄送达" in page.locator("#answers").inner_text()  # the choice's words, not "mail"
    facts = page.locator("#facts").inner_text()
    assert "申请表" in facts and "占用面积（平方米）" in facts and "form" not in facts
    assert "综合窗口受理" in page.locator("#steps").inner_text() and "受理" in page.locator("#steps td").nth(4).inner_text()
    assert "accept" not in page.locator("#steps").inner_text()
    assert page.locator("#reasons").inner_text().startswith("规则预审意见")  # the rules advised; nobody decided yet
    assert "(duration" not in page.locator("#reasons").inner_text()

    page.get_by_role("button", name="转办").click()  # nothing typed: said, nothing sent
    page.wait_for_selector("#status:has-text('请填写要转给的同事的账号')")

    assert site.api.post(f"/api/tasks/{review['id']}/claim", "clerk_housing").status_code == 200
    page.answers_expected.add(409)
    page.get_by_role("button", name="认领").click()
    page.wait_for_selector("#status:has-text('当前状态下不能这样操作')")
    page.wait_for_function("() => document.querySelector('#claim').disabled")
    assert "任务已认领" in page.locator("#case-summary").inner_text()
    assert page.locator("#complete").is_disabled() and page.locator("#delegate").is_disabled()
    accessible(page, "case page after a lost claim")
    shot("lost_claim")


def test_a_task_address_that_is_no_task_says_so_in_chinese(page, shot, site):
    page.answers_expected.add(404)
    sign_in(page, "clerk_civil")
    reply = page.goto("/clerk/tasks/abc")
    assert reply.status == 404 and "没有这个任务" in page.locator("h1").inner_text()  # a page, not the API's JSON
    accessible(page, "no task")
    page.goto("/clerk/tasks/999999")
    page.wait_for_selector("#page-error")
    assert not page.locator("#case").is_visible()  # no form or buttons under the error
    shot("no_task")


@pytest.mark.phone
def test_the_queue_fits_a_phone_in_large_text(page, shot, site):
    window_case(site)
    sign_in(page, "clerk_window")
    page.goto("/clerk/queue")
    page.wait_for_selector("body[data-rendered-ms]")
    page.get_by_role("button", name="大字模式").click()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    row = page.locator("#queue tbody tr[data-task]").first
    assert row.locator("td[data-label='事项']").inner_text() == "临时占用城市道路许可"
    accessible(page, "queue on a phone")
    shot("queue_phone_large_text")
    page.evaluate("() => localStorage.removeItem('onewindow.large-text')")
