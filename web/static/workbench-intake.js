// 一窗受理: the front desk's screen. Intake tasks of any matter are accepted here, each
// acceptance giving a printable 受理凭证 (PDF, GET /api/tasks/{id}/receipt); incomplete
// materials (一次性告知) and refusals are answered on the case page; results are handed out
// (出件) there too, the form prefilled with the applicant's address.
import { deadlineBadge, fileUrl, labelCells, when } from "./workbench.js";

const { api, el, say, describe, user } = OneWindow;
const $ = (id) => document.getElementById(id);
const ACCEPTED = "accept";

export const showIntake = () => OneWindow.page(load);

async function load() {
  const [active, done] = await Promise.all([api("/api/tasks?limit=500"), api("/api/tasks?status=completed&mine=true&sort=-created_at&limit=50")]);
  fill("intake", active.filter((task) => task.form_name === "intake"), (task) => [
    el("button", { type: "button", onclick: () => accept(task) }, `受理 ${task.applicant_name}`), " ",
    el("a", { href: `/clerk/tasks/${task.id}` }, "补正告知或不予受理")]);
  fill("delivery", active.filter((task) => task.form_name === "delivery"), (task) => [
    el("a", { href: `/clerk/tasks/${task.id}` }, "出件")]);
  const accepted = done.filter((task) => task.form_name === "intake" && task.result && task.result.outcome === ACCEPTED);
  $("accepted").querySelector("tbody").replaceChildren(...(accepted.length ? accepted.map((task) => el("tr", {},
    el("td", {}, task.matter_name), el("td", {}, task.applicant_name), el("td", {}, when(task.completed_at)),
    el("td", {}, el("button", { type: "button", class: "secondary", onclick: () => receipt(task) }, "补打受理凭证")))) :
    [el("tr", {}, el("td", { colspan: 4, class: "muted" }, "暂无"))]));
  labelCells($("accepted"));
  document.body.dataset.intakeShown = String(Number(document.body.dataset.intakeShown || 0) + 1);
}

function fill(table, tasks, actions) {
  const me = user();
  $(table).querySelector("tbody").replaceChildren(...(tasks.length ? tasks.map((task) => el("tr", { "data-task": task.id },
    el("td", {}, deadlineBadge(task.colour, task.colour_label, task.due_at)), el("td", {}, task.matter_name), el("td", {}, task.applicant_name),
    el("td", {}, when(task.created_at)),
    el("td", {}, task.status === "claimed" && task.assignee_id !== me.id ? "他人已认领" : task.status_label),
    el("td", {}, ...actions(task)))) : [el("tr", {}, el("td", { colspan: 6, class: "muted" }, "暂无"))]));
  labelCells($(table));
}

async function accept(task) {
  try {
    if (task.status === "open") await api(`/api/tasks/${task.id}/claim`, { method: "POST" });
    await api(`/api/tasks/${task.id}/complete`, { method: "POST", body: { outcome: ACCEPTED } });
    say(`已受理：${task.matter_name}（${task.applicant_name}）`, "ok");
    await receipt(task);
    await load();
  } catch (problem) {
    say(describe(problem), "error");
  }
}

async function receipt(task) {
  try {
    const url = await fileUrl(`/api/tasks/${task.id}/receipt`);
    $("receipt").hidden = false;
    $("receipt-text").textContent = `${task.matter_name} · 申请人 ${task.applicant_name}：受理凭证已生成，请打印后交申请人留存。`;
    $("receipt-link").href = url;
    $("receipt-frame").src = url;
    document.body.dataset.receiptFor = String(task.id);
  } catch (problem) {
    say(describe(problem), "error");
  }
}
