// What the workbench pages share: words for statuses and colours, dates in Beijing time,
// a deadline badge, and a file fetched with the bearer token shown in the page.
const { api, el } = OneWindow;

export const COLOURS = { green: "正常", yellow: "临近到期", red: "已超期" };
export const TASK_STATUS = { open: "待认领", claimed: "已认领", completed: "已办结", cancelled: "已撤回" };
export const APPLICATION_STATUS = { running: "处理中", waiting: "办理中", completed: "已办结", failed: "转人工处理" };
export const OUTCOMES = { approve: "准予", reject: "不予批准", revoked: "已撤销", partial: "部分办结",
                          withdrawn: "已撤回", manual: "转人工审核" };
// The data-sharing sources a fact is read from, and how a reading went (engine/sources).
export const SOURCES = { form: "申请表", population_registry: "人口库", death_records: "死亡登记",
                         property_registry: "不动产登记", subsidy_register: "补贴发放名册", credit_registry: "信用信息库",
                         debtor_list: "失信被执行人名单", licence_library: "电子证照库" };
export const READINGS = { no_record: "无记录", unavailable: "未能查询" };
// Who did something when it was no person: the engine itself.
export const SYSTEM_ACTORS = { engine: "系统", system: "系统" };
export const DECIDED_BY = { rules: "规则自动判断", clerk: "工作人员", credit: "信用核查", intake: "窗口受理",
                            holding: "已享受核查", system: "系统" };

const ZONE = { timeZone: "Asia/Shanghai" };

export function when(iso) {
  return iso ? new Date(iso).toLocaleString("zh-CN", { ...ZONE, hour12: false }) : "";
}

export function day(iso) {
  return iso ? new Date(iso).toLocaleDateString("zh-CN", ZONE) : "";
}

// The deadline in colour (电子监察) with its words, so colour is never the only sign.
export function deadlineBadge(colour, dueAt) {
  const name = colour || "green";
  return el("span", { class: `deadline-badge ${name}`, "data-colour": name },
    `${COLOURS[name] || name}${dueAt ? ` · ${day(dueAt)}` : ""}`);
}

// Each cell of a table's body named by its column's heading (data-label), so a narrow screen
// can show every row as a card of "heading value" lines (workbench.css, table.cards).
export function labelCells(table) {
  const headings = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
  for (const row of table.querySelectorAll("tbody tr")) {
    [...row.children].forEach((cell, index) => {
      if (!cell.hasAttribute("colspan") && headings[index]) cell.dataset.label = headings[index];
    });
  }
}

// A file of the API (an upload's bytes, a receipt) as a blob: URL the page can show or open.
export async function fileUrl(path) {
  return URL.createObjectURL(await api(path, { blob: true }));
}

// Names of a form-js schema's fields: key -> label.
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

// The words of a form-js schema's choices: key -> { value -> label } (radio, select, checklist).
export function choicesOf(schema) {
  const choices = {};
  (function walk(components) {
    for (const c of components || []) {
      if (c.key && Array.isArray(c.values)) choices[c.key] = Object.fromEntries(c.values.map((v) => [v.value, v.label]));
      walk(c.components);
    }
  })(schema && schema.components);
  return choices;
}

// A value as a person reads it: lists joined, objects as "key: value" lines.
export function shown(value) {
  if (value === null || value === undefined || value === "") return "—";
  if (Array.isArray(value)) return value.map(shown).join("、");
  if (typeof value === "object") return Object.entries(value).map(([k, v]) => `${k}: ${shown(v)}`).join("；");
  if (value === true) return "是";
  if (value === false) return "否";
  return String(value);
}

// A form's answers as the API takes them: blank optional fields left out.
export function answers(data) {
  return Object.fromEntries(Object.entries(data).filter(([, value]) =>
    value !== "" && value !== null && value !== undefined && !(Array.isArray(value) && value.length === 0)));
}
