// The case page (办理): the application's answers, its materials and uploaded files (shown in
// the page), the reasons of its decision with the facts and their sources, its steps and
// history, the process diagram with the current step marked, and the task's own form
// (form-js) to complete it; claim, release, send back (退回), pause and resume the clock,
// delegate (转办).
import { answers, choicesOf, deadlineBadge, fileUrl, labelsOf, lastDay, shown, when } from "./workbench.js";

const { api, el, say, describe, plain, user } = OneWindow;
const $ = (id) => document.getElementById(id);
// A step's outcome in words (the task forms' choices: forms/tasks/*.form.json).
const STEP_OUTCOMES = { approve: "批准", reject: "不予批准", accept: "受理", refuse: "不予受理",
                        supplement: "材料不全，一次性告知补正" };
const FILE_KINDS = { pdf: "PDF", jpeg: "图片", png: "图片", ofd: "OFD 版式文件" };

let taskId;
let task;
let application;
let form;
let viewer;
let formLabels = {};
let formChoices = {};
let shownTimes = 0;

export const showCase = (id) => OneWindow.page(async () => {
  taskId = id;
  bind();
  try {
    await refresh();
  } catch (problem) {
    $("case").hidden = true;  // no task to work: no empty form and buttons under the error
    throw problem;
  }
});

function bind() {
  $("claim").addEventListener("click", () => act(`/api/tasks/${taskId}/claim`, {}, "已认领"));
  $("release").addEventListener("click", () => act(`/api/tasks/${taskId}/release`, {}, "已退回待办池"));
  $("complete").addEventListener("click", complete);
  $("send-back").addEventListener("click", () => act(`/api/tasks/${taskId}/send-back`,
    { to: $("send-back-to").value, reason: $("send-back-reason").value.trim() }, "已退回",
    { missing: !$("send-back-reason").value.trim() && "请填写退回理由", field: "send-back-reason" }));
  $("pause").addEventListener("click", () => act(`/api/tasks/${taskId}/pause`,
    { reason: $("pause-reason").value, note: $("pause-note").value.trim() }, "已暂停计时"));
  $("resume").addEventListener("click", () => act(`/api/tasks/${taskId}/resume`, {}, "已恢复计时"));
  $("delegate").addEventListener("click", () => act(`/api/tasks/${taskId}/delegate`,
    { to: $("delegate-to").value.trim() }, "已转办",
    { missing: !$("delegate-to").value.trim() && "请填写要转给的同事的账号", field: "delegate-to",
      refused: `本部门没有账号为“${$("delegate-to").value.trim()}”的同事，请核对后再转办` }));
}

async function refresh() {
  task = await api(`/api/tasks/${taskId}`);
  application = await api(`/api/applications/${task.application_id}`);
  const matter = await api(`/api/matters/${encodeURIComponent(application.matter)}`);
  formLabels = labelsOf(matter.form);
  formChoices = choicesOf(matter.form);
  header();
  answersOf();
  reasons();
  steps();
  controls();
  await Promise.all([materials(), diagram(), taskForm()]);
  document.body.dataset.caseShown = String(++shownTimes);
}

function header() {
  document.title = `${task.matter_name} · ${task.title} · 一网通办`;
  $("case-title").textContent = `${task.matter_name} · ${task.title}`;
  const paused = !application.due_at && application.status !== "completed";
  $("case-summary").replaceChildren(
    `办件编号 ${application.tracking_no} · 申请人 ${task.applicant_name} · ${task.department_name} · `,
    paused ? el("span", { class: "deadline-badge yellow" }, "计时暂停") : deadlineBadge(task.colour, task.colour_label, application.due_at),
    ` · 任务${task.status_label} · 办件${application.status_label}`);
}

function answersOf() {
  $("answers").replaceChildren(...Object.entries(application.form_data || {}).flatMap(([key, value]) =>
    [el("dt", {}, formLabels[key] || key), el("dd", {}, shown(chosen(key, value)))]));
}

// A choice's words instead of its stored value ("mail" -> 邮寄送达).
function chosen(key, value) {
  const words = formChoices[key];
  if (!words) return value;
  return Array.isArray(value) ? value.map((one) => words[one] ?? one) : words[value] ?? value;
}

function reasons() {
  const decision = application.decision || {};
  const list = application.reasons || [];
  const box = $("reasons");
  if (!application.outcome && !(decision.reasons || []).length) return;
  // Rules that only advise the clerk (预审) have decided nothing yet: the application has no outcome.
  box.replaceChildren(el("p", {}, application.outcome ? `结果：${application.outcome_label}` : "规则预审意见（尚未作出决定）："),
    ...list.map((reason) => el("div", { class: "reason" },
      el("p", {}, reason.text),
      el("p", { class: "muted" }, `${reason.by_label}${reason.basis ? ` · 依据：${reason.basis}` : ""}`),
      reason.detail && Object.keys(reason.detail).length
        ? el("pre", { "aria-label": "技术细节" }, JSON.stringify(reason.detail, null, 2)) : null)),
    ...(!list.length ? (decision.reasons || []).map((r) => el("p", { class: "reason" }, plain(r.message),
      el("span", { class: "muted" }, `（规则 ${r.rule}）`))) : []));
  const facts = application.facts || [];
  $("facts").querySelector("tbody").replaceChildren(...(facts.length ? facts.map((fact) => el("tr", {},
    el("td", {}, fact.label), el("td", {}, shown(fact.value)),
    el("td", {}, `${fact.source_label || "—"}${fact.status !== "ok" ? `（${fact.status_label}）` : ""}`),
    el("td", {}, when(fact.read_at))))
    : [el("tr", {}, el("td", { colspan: 4, class: "muted" }, "没有核验数据"))]));
}

function steps() {
  $("steps").querySelector("tbody").replaceChildren(...(application.steps || []).map((step) => el("tr", {},
    el("td", {}, step.title), el("td", {}, step.status_label),
    el("td", {}, when(step.created_at)), el("td", {}, when(step.completed_at)),
    el("td", {}, step.result ? stepResult(step.result) : ""))));
  $("history").replaceChildren(...(application.history || []).map((event) => el("li", {},
    `${when(event.at)} · ${event.actor_label} · ${event.label || "办理记录"}`,
    event.data && event.data.reason ? `：${event.data.label || event.data.reason}${event.data.note ? `（${event.data.note}）` : ""}` : "")));
}

// A finished step's result: its outcome in words and the clerk's comment.
function stepResult(result) {
  const outcome = result.outcome ? STEP_OUTCOMES[result.outcome] || result.outcome : "";
  const words = result.comment || result.findings || "";
  return [outcome, words ? shown(words) : ""].filter(Boolean).join("：") || "—";
}

function controls() {
  const me = user();
  const active = task.status === "open" || task.status === "claimed";
  const mine = task.status === "claimed" && task.assignee_id === me.id;
  const workable = task.status === "open" || mine;
  const paused = (application.clock_pauses || []).some((p) => !p.end);
  $("claim").disabled = task.status !== "open";
  $("release").disabled = !mine;
  $("complete").disabled = !workable || !task.form;
  $("send-back-box").hidden = !task.send_back_to.length;
  $("send-back-to").replaceChildren(...task.send_back_to.map((step) => el("option", { value: step.element }, step.title || step.element)));
  $("send-back").disabled = !workable;
  $("pause").disabled = !active || paused;
  $("resume").disabled = !active || !paused;
  $("delegate").disabled = !workable;
  $("clock").textContent = paused ? "计时已暂停" : application.due_at ? `承诺办结期限：${lastDay(application.due_at)}（含当日）` : "";
}

async function materials() {
  const uploads = await api(`/api/applications/${application.id}/uploads`);
  const fetched = (application.materials && application.materials.fetched) || [];
  const items = [
    ...uploads.map((upload) => el("li", { "data-upload": upload.id },
      `${upload.name}（${FILE_KINDS[upload.kind] || upload.kind}，${Math.ceil(upload.size / 1024)} KB） `,
      el("button", { type: "button", class: "secondary", onclick: () => view(upload) }, `查看 ${upload.name}`))),
    ...fetched.map((material) => el("li", {}, `${material.name || shown(material)}（电子证照库调取）`)),
  ];
  $("materials").replaceChildren(...(items.length ? items : [el("li", { class: "muted" }, "没有上传的材料文件")]));
}

async function view(upload) {
  try {
    const url = await fileUrl(`/api/uploads/${encodeURIComponent(upload.id)}/content`);
    const shownFile = upload.kind === "pdf" ? el("iframe", { src: url, title: upload.name })
      : upload.kind === "ofd" ? el("a", { href: url, download: upload.name }, `下载 ${upload.name}`)
      : el("img", { src: url, alt: upload.name });
    $("viewer").replaceChildren(el("h3", {}, upload.name), shownFile);
    document.body.dataset.viewedUpload = upload.id;
  } catch (problem) {
    say(describe(problem), "error");
  }
}

async function diagram() {
  const drawn = await api(`/api/applications/${task.application_id}/diagram`);  // the portal's too
  viewer = viewer || new BpmnJS({ container: "#diagram" });
  await viewer.importXML(drawn.bpmn);
  const canvas = viewer.get("canvas");
  const registry = viewer.get("elementRegistry");
  canvas.zoom("fit-viewport");
  for (const id of drawn.done) if (registry.get(id)) canvas.addMarker(id, "done-marker");
  for (const id of drawn.current) if (registry.get(id)) canvas.addMarker(id, "current-marker");
}

async function taskForm() {
  const container = $("form");
  if (form) form.destroy();
  form = null;
  container.replaceChildren();
  if (!task.form) {
    const active = task.status === "open" || task.status === "claimed";
    container.append(el("p", { class: "muted" }, active
      ? "这是系统异常后转来的人工处理任务：流程由分析员修复后重试，系统随即继续办理，此处无需填写。"
      : "本任务已办结或已撤回，无需办理。"));
    return;
  }
  form = await FormViewer.createForm({ container, schema: task.form, data: task.prefill || {} });
}

async function complete() {
  $("form-errors").replaceChildren();
  for (const input of document.querySelectorAll("#form input, #form textarea")) input.blur();  // form-js debounces typing
  const { data, errors } = form.submit();
  if (Object.keys(errors).length) {
    say("请按提示填写办理意见", "error");
    return;
  }
  try {
    const result = await api(`/api/tasks/${taskId}/complete`, { method: "POST", body: answers(data) });
    await refresh();
    say(`已提交：办件${result.status_label}${result.outcome ? `，${result.outcome_label}` : ""}`, "ok");
  } catch (problem) {
    const labels = labelsOf(task.form);
    const fields = (problem.body && problem.body.errors) || {};
    $("form-errors").replaceChildren(...Object.entries(fields).map(([field, messages]) =>
      el("li", {}, `${labels[field] || field}：${[].concat(messages).flat().map(plain).join("；")}`)));
    await failed(problem, describe(problem));
  }
}

// An action on the task. check.missing: what the clerk must fill in first (said, nothing sent);
// check.refused: the words for the API refusing the input (422). When the task changed
// meanwhile (another clerk claimed or completed it: 409), the page shows it as it is now.
async function act(path, body, done, check = {}) {
  if (check.missing) {
    say(check.missing, "error");
    $(check.field).focus();
    return;
  }
  try {
    await api(path, { method: "POST", body });
    await refresh();
    say(done, "ok");
  } catch (problem) {
    await failed(problem, problem.status === 422 && check.refused ? check.refused : describe(problem));
  }
}

// Something refused: the page redrawn from the task as it is now, then why.
async function failed(problem, words) {
  if (problem.status === 409) {
    try {
      await refresh();
    } catch (again) {
      say(describe(again), "error");
      return;
    }
  }
  say(words, "error");
}
