// 差评整改: the bad reviews of my department to answer (GET /api/rectifications), each
// resolved with the department's answer (POST /api/rectifications/{id}/resolve).
import { lastDay, when } from "./workbench.js";

const { api, el, say, describe, user } = OneWindow;
const $ = (id) => document.getElementById(id);
const LEVELS = { 5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意" };

export const showRectifications = () => OneWindow.page(async () => {
  $("rectification-status").addEventListener("change", () => load().catch((problem) => say(describe(problem), "error")));
  await load();
});

async function load() {
  const status = $("rectification-status").value;
  const list = await api(`/api/rectifications?status=${status}`);
  const clerk = user().role === "clerk";
  $("rectifications").replaceChildren(...(list.length ? list.map((item) => card(item, clerk)) :
    [el("p", { class: "muted card" }, status === "open" ? "没有待整改的差评" : "没有已整改的记录")]));
  document.body.dataset.rectifications = String(list.length);
}

function card(item, clerk) {
  const rating = item.rating || {};
  const answerId = `answer-${item.id}`;
  const overdue = item.status === "open" && new Date(item.due_at) < new Date();
  return el("section", { class: "card", "data-rectification": item.id, "aria-label": `整改 ${item.id}` },
    el("h2", {}, `${rating.matter_name || rating.matter || ""} · ${LEVELS[rating.level] || rating.level}`),
    el("p", {}, `评价内容：${rating.comment || "（未填写）"}`),
    el("p", { class: "muted" }, `${item.department_name || item.department} · 评价时间 ${when(rating.created_at)} · 整改期限 ${lastDay(item.due_at)}`,
      overdue ? el("span", { class: "deadline-badge red" }, " 已超期") : ""),
    item.status === "open" && clerk ? el("div", {},
      el("label", { for: answerId }, "整改说明"),
      el("textarea", { id: answerId, rows: 3, maxlength: 2000, class: "wide" }),
      el("button", { type: "button", onclick: () => resolve(item.id, answerId) }, "提交整改"))
      : el("p", {}, `整改说明：${item.answer || "—"}（${item.resolved_by || ""} ${when(item.resolved_at)}）`));
}

async function resolve(id, answerId) {
  const answer = $(answerId).value.trim();
  if (!answer) {
    say("请填写整改说明", "error");
    return;
  }
  try {
    await api(`/api/rectifications/${id}/resolve`, { method: "POST", body: { answer } });
    say("已提交整改", "ok");
    await load();
  } catch (problem) {
    say(describe(problem), "error");
  }
}
