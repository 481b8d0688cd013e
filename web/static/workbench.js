// What the workbench pages share: words for statuses and colours, dates in Beijing time,
// a deadline badge, and a file fetched with the bearer token shown in the page.
const { api, el } = OneWindow;

export const COLOURS = { green: "正常", yellow: "临近到期", red: "已超期" };
export const TASK_STATUS = { open: "待认领", claimed: "已认领", completed: "已办结", cancelled: "已撤回" };
export const APPLICATION_STATUS = { running: "处理中", waiting: "办理中", completed: "已办结", failed: "转人工处理" };
export const OUTCOMES = { approve: "准予", reject: "不予批准", revoked: "已撤销", partial: "部分办结",
                          withdrawn: "已撤回", manual: "转人工审核" };
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
