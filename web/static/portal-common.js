// What the portal's pages share: statuses and outcomes in the API's words (``*_label``,
// engine/words.py), matter and department names, the reasons of a decision, the result, and the form viewer.
const { api, el } = OneWindow;


let catalogue;  // code -> {name, department_name}: the public catalogue, read once per page
export async function matterNames() {
  if (!catalogue) {
    const matters = await api("/api/matters");
    catalogue = Object.fromEntries(matters.map((m) => [m.code, {
      name: m.name, department_name: (m.guide && m.guide.department_name) || "" }]));
  }
  return catalogue;
}

export function matterName(application, names) {
  return application.matter_name || (names[application.matter] || {}).name || "（事项）";
}

export function departmentName(application, names) {
  return application.department_name || (names[application.matter] || {}).department_name || "";
}

export function date(value) {
  return value ? new Date(value).toLocaleDateString("zh-CN") : "";
}

export function dateTime(value) {
  return value ? new Date(value).toLocaleString("zh-CN", { hour12: false }) : "";
}

// The reasons of a decision in plain Chinese, with their basis: the API's one explanation
// per decision, whoever decided (rules, a clerk, the credit check…).
export function reasonsOf(application) {
  return (application.reasons || []).map((r) => ({ text: r.text, basis: r.basis || null }));
}

export function reasonList(application) {
  const reasons = reasonsOf(application);
  if (!reasons.length) return null;
  return el("ul", { class: "reasons" }, reasons.map((r) => el("li", {}, r.text,
    r.basis ? el("span", { class: "basis" }, `依据：${r.basis}`) : null)));
}

const UNITS = { "CNY/month": (n) => `每月${n}元`, "CNY/year": (n) => `每年${n}元`, CNY: (n) => `${n}元` };

// The result as lines an applicant reads: an amount, when it starts, the document's number.
export function resultLines(application) {
  const result = application.result || {};
  const lines = [];
  if (result.amount !== undefined && result.amount !== null) {
    lines.push(["金额", (UNITS[result.unit] || ((n) => `${n}元`))(result.amount)]);
  }
  if (result.start_month) lines.push(["起始月份", result.start_month]);
  if (application.result_no) lines.push(["结果文书编号", application.result_no]);
  if (result.delivery) {
    const d = result.delivery;
    lines.push(["出件", d.method === "mail" ? `邮寄 ${d.courier || ""} ${d.tracking_no || ""}` : "窗口领取"]);
  }
  return lines;
}

export function resultTable(application) {
  const lines = resultLines(application);
  if (!lines.length) return null;
  return el("dl", { class: "facts" }, lines.flatMap(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]));
}

export function deadline(application) {
  if (application.status === "completed") return null;
  if (!application.due_at) return el("span", { class: "deadline paused" }, "计时暂停（等待补正）");
  const colour = application.colour || "green";
  return el("span", { class: `deadline ${colour}` }, `承诺办结：${date(application.due_at)}（${application.colour_label || ""}）`);
}

export function statusBadge(application) {
  const words = application.outcome && application.status === "completed"
    ? application.outcome_label : application.status_label;
  const kind = application.outcome === "reject" ? "bad" : application.outcome === "approve" ? "good" : "info";
  return el("span", { class: `badge ${kind}` }, words);
}

// form-js's viewer for a form-js schema, filled with `data`; `submit()` -> {data, errors}.
export async function formViewer(container, schema, data = {}) {
  container.replaceChildren();
  return FormViewer.createForm({ container, schema, data });
}

// A form's answers as the API takes them: blank optional fields left out.
export function answers(data) {
  return Object.fromEntries(Object.entries(data).filter(([, value]) => value !== "" && value !== null && value !== undefined));
}

// Field errors of a 422 (problem.body.errors) as list items, each with its field's label.
export function fieldErrors(problem, labels = {}) {
  const errors = (problem.body && problem.body.errors) || {};
  return Object.entries(errors).map(([field, messages]) => el("li", {},
    `${labels[field] || field}：${[].concat(messages).flat().join("；")}`));
}

export function labelsOf(schema) {
  const labels = {};
  (function walk(components) {
    for (const c of components || []) {
      if (c.key) labels[c.key] = c.label || c.dateLabel || c.key;
      walk(c.components);
    }
  })(schema && schema.components);
  return labels;
}

// Upload a file (POST /api/uploads): its reference `upload:<id>` once the server took it.
export async function upload(file) {
  const form = new FormData();
  form.append("file", file);
  return api("/api/uploads", { method: "POST", form });
}

// A public page's start (no sign-in needed): what goes wrong is said in the page.
export async function publicPage(start) {
  try {
    await start();
  } catch (problem) {
    document.querySelector("main").prepend(
      OneWindow.el("p", { class: "error card", role: "alert", id: "page-error" }, OneWindow.describe(problem)));
    OneWindow.say(OneWindow.describe(problem), "error");
  }
}

// Replace a node's children: nested lists flattened, absent parts (null) left out.
export function put(node, ...children) {
  node.replaceChildren(...children.flat(Infinity).filter((child) => child !== null && child !== undefined && child !== false));
}
