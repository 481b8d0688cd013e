// 我的待办: the department's queue (or the tasks I hold), filtered, sorted and paged as the
// API offers (GET /api/tasks), deadlines in colour, several tasks claimed at once.
import { deadlineBadge, labelCells, when } from "./workbench.js";

const { api, el, say, describe, user } = OneWindow;
const $ = (id) => document.getElementById(id);
let offset = 0;
let shownTasks = [];

export const showQueue = () => OneWindow.page(start);

async function start() {
  const me = user();
  $("filters").addEventListener("submit", (event) => { event.preventDefault(); offset = 0; load(); });
  $("previous").addEventListener("click", () => { offset = Math.max(0, offset - pageSize()); load(); });
  $("next").addEventListener("click", () => { offset += pageSize(); load(); });
  $("select-all").addEventListener("change", (event) => {
    for (const box of document.querySelectorAll("#queue tbody input[type=checkbox]:not(:disabled)")) box.checked = event.target.checked;
    counted();
  });
  $("claim-selected").addEventListener("click", claimSelected);
  await load();
  matters(me);  // the filter's names arrive after the first rows are drawn
}

function pageSize() { return Number($("page-size").value); }

function query() {
  const params = new URLSearchParams({ status: $("status-filter").value, sort: $("sort").value,
                                       limit: String(pageSize()), offset: String(offset) });
  if ($("scope").value === "mine") params.set("mine", "true");
  if ($("matter").value) params.set("matter", $("matter").value);
  if ($("applicant").value.trim()) params.set("applicant", $("applicant").value.trim());
  if ($("due-before").value) params.set("due_before", new Date(`${$("due-before").value}T00:00:00+08:00`).toISOString());
  return params;
}

async function load() {
  try {
    shownTasks = await api(`/api/tasks?${query()}`);
  } catch (problem) {
    say(describe(problem), "error");
    return;
  }
  draw();
}

function draw() {
  const me = user();
  const rows = shownTasks.map((task) => el("tr", { "data-task": task.id, class: `colour-${task.colour}` },
    el("td", {}, el("input", { type: "checkbox", value: task.id, "aria-label": `选择：${task.matter_name} ${task.applicant_name}`,
                               disabled: task.status !== "open", onchange: counted })),
    el("td", {}, deadlineBadge(task.colour, task.colour_label, task.due_at)),
    el("td", {}, task.matter_name),
    el("td", {}, task.applicant_name),
    el("td", {}, task.title),
    el("td", {}, task.department_name),
    el("td", {}, task.status === "claimed" && task.assignee_id !== me.id ? "他人已认领"
      : task.status === "claimed" ? "我已认领" : task.status_label),
    el("td", {}, when(task.created_at)),
    el("td", {}, el("a", { href: `/clerk/tasks/${task.id}` }, "办理"))));
  $("queue").querySelector("tbody").replaceChildren(
    ...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 9, class: "muted" }, "没有符合条件的任务"))]));
  labelCells($("queue"));
  const page = Math.floor(offset / pageSize()) + 1;
  $("page-number").textContent = `第 ${page} 页`;
  $("queue-caption").textContent = `任务列表，第 ${page} 页，本页 ${shownTasks.length} 件`;
  $("previous").disabled = offset === 0;
  $("next").disabled = shownTasks.length < pageSize();
  $("select-all").checked = false;
  counted();
  requestAnimationFrame(() => {  // the rows are laid out: what the bench measures
    document.body.dataset.renderedMs = String(Math.round(performance.now()));
    document.body.dataset.rows = String(shownTasks.length);
  });
}

function selected() {
  return [...document.querySelectorAll("#queue tbody input[type=checkbox]:checked")].map((box) => Number(box.value));
}

function counted() {
  const count = selected().length;
  $("claim-selected").disabled = count === 0;
  $("selected-count").textContent = count ? `已选择 ${count} 件` : "未选择任务";
}

async function claimSelected() {
  const ids = selected();
  try {
    const outcome = await api("/api/tasks/claim", { method: "POST", body: { task_ids: ids } });
    await load();
    say(`已认领 ${outcome.claimed.length} 件` + (outcome.refused.length ? `，${outcome.refused.length} 件已被他人认领或已办结` : ""),
        outcome.refused.length ? "error" : "ok");
  } catch (problem) {
    say(describe(problem), "error");
  }
}

async function matters(me) {
  const department = (await api("/api/departments")).find((d) => d.code === me.department);
  $("department").textContent = department ? `· ${department.name}` : "";
  const all = await api("/api/matters");
  const mine = me.department === "front_desk" ? all : all.filter((m) => m.department === me.department);
  $("matter").append(...(mine.length ? mine : all).map((m) => el("option", { value: m.code }, m.name)));
}
