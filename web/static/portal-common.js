// What the portal's pages share: statuses and outcomes in the API's words (``*_label``,
// engine/words.py), matter and department names, the reasons of a decision, the result, and the form viewer.
const { api, el } = OneWindow;

export { answers, labelsOf } from "./forms.js";


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

// Beijing time, whatever the device's zone (app.js); a deadline as its last allowed day.
export const { day: date, when: dateTime, lastDay } = OneWindow;

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
  return el("span", { class: `deadline ${colour}` }, `承诺办结：${lastDay(application.due_at)}（${application.colour_label || ""}）`);
}

export function statusBadge(application) {
  const words = application.outcome && application.status === "completed"
    ? application.outcome_label : application.status_label;
  const kind = application.outcome === "reject" ? "bad" : application.outcome === "approve" ? "good" : "info";
  return el("span", { class: `badge ${kind}` }, words);
}

// form-js's viewer for a form-js schema, filled with `data`; `submit()` -> {data, errors}.
// form-js says its checks and a few controls in English: they are said in Chinese here, and the
// form's own title headings sit under the page's (one h1 per page).
export async function formViewer(container, schema, data = {}) {
  container.replaceChildren();
  const form = await FormViewer.createForm({ container, schema: underPage(schema), data });
  const validator = form.get("validator");
  for (const method of ["validateField", "validateFieldInstance"]) {
    const check = validator[method].bind(validator);
    validator[method] = (...args) => check(...args).map(checkWords);
  }
  controlWords(container);
  new MutationObserver(() => controlWords(container)).observe(container,
    { childList: true, subtree: true, characterData: true, attributes: true, attributeFilter: ["aria-label", "placeholder"] });
  return form;
}

const CHECKS = [
  [/^Field is required\.$/, () => "此项必填"],
  [/^Field must have minimum length of (\S+)\.$/, (n) => `至少填写${n}个字`],
  [/^Field must have maximum length of (\S+)\.$/, (n) => `最多填写${n}个字`],
  [/^Field must have minimum value of (\S+)\.$/, (n) => `不能小于${n}`],
  [/^Field must have maximum value of (\S+)\.$/, (n) => `不能大于${n}`],
  [/^Field must match pattern /, () => "格式不正确"],
  [/^Field must be a valid email\.$/, () => "请填写正确的电子邮箱"],
  [/international phone number/, () => "请填写正确的电话号码"],
  [/^Value is not a number\.$/, () => "请填写数字"],
  [/^Value is expected to be an integer\.$/, () => "请填写整数"],
  [/^Value is expected to have at most (\d+) decimal/, (n) => `最多保留${n}位小数`],
  [/^Please select a valid value, the two nearest valid values are (\S+) and (\S+)\.$/, (a, b) => `请填写有效的数值，如${a}或${b}`],
];

function checkWords(message) {
  for (const [pattern, words] of CHECKS) {
    const found = pattern.exec(message);
    if (found) return words(...found.slice(1));
  }
  return /[\u4e00-\u9fff]/.test(message) ? message : "填写有误";
}

const CONTROLS = { Increment: "增加", Decrement: "减少", Search: "搜索", Select: "请选择", "No results": "无匹配项",
                   "All values selected": "已全部选择", "Previous page": "上一页", "Next page": "下一页",
                   Month: "月", Year: "年" };

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                "November", "December"];
const DAY = new RegExp(`^(${MONTHS.join("|")}) (\\d{1,2}), (\\d{4})$`);  // the date picker's days

function controlWord(value) {
  const day = DAY.exec(value || "");
  if (day) return `${day[3]}年${MONTHS.indexOf(day[1]) + 1}月${day[2]}日`;
  return CONTROLS[value];
}

function controlWords(container) {
  for (const node of container.querySelectorAll("[aria-label], [placeholder]")) {
    for (const attribute of ["aria-label", "placeholder"]) {
      const words = controlWord(node.getAttribute(attribute));
      if (words) node.setAttribute(attribute, words);
    }
  }
  const walker = document.createTreeWalker(container, NodeFilter.SHOW_TEXT);
  for (let text = walker.nextNode(); text; text = walker.nextNode()) {
    const words = CONTROLS[text.nodeValue.trim()];
    if (words) text.nodeValue = words;
  }
}

// A form's markdown titles ("# …", "## …") one level below the page's h2 "填写申请表".
function underPage(schema) {
  const demote = (components) => (components || []).map((c) => ({ ...c,
    ...(c.type === "text" && typeof c.text === "string" ? { text: c.text.replace(/^#{1,2} /gm, "### ") } : {}),
    ...(c.components ? { components: demote(c.components) } : {}) }));
  return schema ? { ...schema, components: demote(schema.components) } : schema;
}

// After a refused submit: the keyboard (and a screen reader) at the first field to put right,
// once form-js has drawn its errors.
export function focusFirstError(container) {
  requestAnimationFrame(() => {
    const first = container.querySelector([".fjs-has-errors input:not([type=hidden])", ".fjs-has-errors textarea",
                                           ".fjs-has-errors select"].join(", "));
    if (first) first.focus();
  });
}

// While a form's answers are on their way: the button says so and cannot be pressed again.
export function busy(button, on, idle) {
  button.disabled = on;
  button.textContent = on ? "正在提交…" : idle;
  document.getElementById("filling").setAttribute("aria-busy", String(on));
}

// Field errors of a 422 (problem.body.errors) as list items, each with its field's label.
export function fieldErrors(problem, labels = {}) {
  const errors = (problem.body && problem.body.errors) || {};
  return Object.entries(errors).map(([field, messages]) => {
    const name = labels[field] || labels[field.split(".")[0]] || labels[field.split(".").pop()];
    const text = [].concat(messages).flat().map(chinese).join("；");
    return el("li", {}, name ? `${name}：${text}` : text);  // never a field's code
  });
}

// A field error without its English tail for developers; all-Chinese text is left whole
// (OneWindow.plain would take a closing "）" for part of a tail).
function chinese(message) {
  return /[A-Za-z]/.test(message) ? OneWindow.plain(message) : String(message);
}

// Where 一件事 (a bundle) and the cart are applied for: the 政务超市 page (that bundle opened),
// not the one-matter form; null for an ordinary matter.
export async function cartPath(code) {
  if (code === "cart") return "/portal/cart";
  const bundles = await api("/api/bundles");
  return bundles.some((b) => b.code === code) ? `/portal/cart?bundle=${encodeURIComponent(code)}` : null;
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
