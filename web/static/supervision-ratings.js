// 电子监察 · 好差评与异常: ratings per department and per matter, the rectifications of bad
// reviews, and open incidents (failed runs sent to manual handling) counted per matter.
import { dateTime, figure, lastDay, list, percent } from "./supervision.js";

const { api, el, user } = OneWindow;
const LEVELS = ["非常满意", "满意", "基本满意", "不满意", "非常不满意"];
const LEVEL_COLOURS = ["#1a7f37", "#4ac26b", "#8c959f", "#d4a72c", "#d92d20"];
const RECTIFICATION_WORDS = { open: "待整改", resolved: "已整改" };
const INCIDENT_KINDS = { script_error: "脚本出错", budget_exceeded: "超出运行预算", no_end_event: "流程未到达结束事件" };

export const showRatings = () => OneWindow.page(load);

async function load() {
  const [statistics, open, resolved, incidents] = await Promise.all([
    api("/api/ratings/statistics"), api("/api/rectifications?status=open"),
    api("/api/rectifications?status=resolved"), api("/api/supervision/incidents")]);
  ratings("ratings-by-department", "各部门好差评", "部门", statistics.departments, statistics.department_names);
  ratings("ratings-by-matter", "各事项好差评", "事项", statistics.matters, statistics.matter_names);
  rectifications([...open, ...resolved]);
  incidentCounts(incidents);
  document.body.dataset.loaded = "ratings";
}

function ratings(id, title, who, summaries, names) {
  const rows = Object.entries(summaries).map(([code, summary]) => ({ code, name: names[code] || code, ...summary }))
    .sort((a, b) => b.bad - a.bad || b.count - a.count || a.name.localeCompare(b.name, "zh-CN"));
  figure(id, {
    title, rows, stacked: true, horizontal: true, counted: true, unit: "条评价", empty: "还没有评价",
    label: (row) => row.name,
    series: LEVELS.map((level, index) => ({ label: level, value: (row) => row.levels[level] || 0,
                                            colour: LEVEL_COLOURS[index] })),
    columns: [
      { label: who, value: (row) => row.name },
      { label: "评价数", value: (row) => row.count, number: true },
      ...LEVELS.map((level) => ({ label: level, value: (row) => row.levels[level] || 0, number: true })),
      { label: "差评", value: (row) => row.bad, number: true },
      { label: "满意率", value: (row) => percent(row.satisfaction, 1), number: true },
    ],
  });
}

function rectifications(rows) {
  list("rectifications", {
    title: "差评整改", empty: "没有差评整改任务",
    note: "差评由承办部门在整改期限内答复；待整改的按期限先后排列，已整改的列在其后。",
    rows: rows.map((row) => ({ ...row, attributes: { "data-rectification": row.id, "data-status": row.status } })),
    columns: [
      { label: "事项", value: (row) => row.rating.matter_name },
      { label: "部门", value: (row) => row.department_name },
      { label: "评价", value: (row) => LEVELS[5 - row.rating.level] },
      { label: "评价内容", value: (row) => row.rating.comment || "—" },
      { label: "整改期限", value: (row) => lastDay(row.due_at) },
      { label: "状态", value: (row) => RECTIFICATION_WORDS[row.status] || row.status },
      { label: "整改答复", value: (row) => row.answer || "—" },
    ],
  });
}

function incidentCounts(rows) {
  const section = list("incidents", {
    title: "运行异常（转人工处理）", empty: "没有未处理的运行异常",
    note: "系统自动办理失败的申请已转人工处理；这里只计件数，错误详情由分析员处理。",
    rows,
    columns: [
      { label: "事项", value: (row) => row.matter_name },
      { label: "部门", value: (row) => row.department_name },
      { label: "类型", value: (row) => INCIDENT_KINDS[row.kind] || row.kind },
      { label: "未处理件数", value: (row) => row.open, number: true },
      { label: "最早发生", value: (row) => dateTime(row.oldest_at) },
    ],
  });
  if (user()?.role === "admin") {
    section.append(el("p", {}, el("a", { href: "/analyst/incidents" }, "查看异常详情并重试")));
  }
}
