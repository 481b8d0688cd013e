// 电子监察 · 办件时限: overdue (red) and near-due (yellow) cases, open cases per department
// and per clerk by colour, and handling time against the promised limit per matter.
import { COLOURS, colourBadge, figure, lastDay, list, percent } from "./supervision.js";

const { api } = OneWindow;
const COLOUR_ORDER = ["green", "yellow", "red"];

export const showDeadlines = () => OneWindow.page(load);

async function load() {
  // Every answer first: without the right to supervise, the page shows nothing but why.
  const [overdue, nearDue, counts, handling] = await Promise.all([
    api("/api/supervision/overdue"), api("/api/supervision/near-due"),
    api("/api/supervision/counts"), api("/api/supervision/handling")]);
  cases("overdue", "逾期办件（红色）", overdue, "没有逾期的办件");
  cases("near-due", "临期办件（黄色）", nearDue, "没有临期的办件");
  byColour("by-department", "各部门在办件数", "部门", counts.departments, counts.department_names,
           counts.colour_names, "在办申请按所属事项的主管部门计。");
  byColour("by-clerk", "各经办人在办件数", "经办人", counts.clerks, counts.clerk_names,
           counts.colour_names, "经办人已认领、尚未办结的任务，按所属申请的颜色计。");
  handlingTimes(handling);
  document.body.dataset.loaded = "deadlines";
}

function clerksOf(row) {
  return row.clerks.length ? row.clerks.map((clerk) => clerk.name).join("、") : "未认领";
}

function overdueWords(row) {
  if (row.paused) return "暂停计时";
  if (row.colour !== "red") return "未逾期";
  return row.days_overdue ? `${row.days_overdue} 个工作日` : "不足 1 个工作日";
}

function cases(id, title, rows, empty) {
  list(id, {
    title, empty, filename: `${id}.csv`,
    rows: rows.map((row) => ({ ...row, attributes: { "data-application": row.application_id, "data-colour": row.colour,
                                                     class: `case colour-${row.colour}` } })),
    columns: [
      { label: "受理编号", value: (row) => row.tracking_no },
      { label: "事项", value: (row) => row.matter_name },
      { label: "部门", value: (row) => row.department_name },
      { label: "经办人", value: clerksOf },
      { label: "办结期限", value: (row) => (row.paused ? "暂停计时" : lastDay(row.due_at)) },
      { label: "状态", value: (row) => colourBadge(row.colour, row.colour_label) },
      { label: "逾期", value: overdueWords },
    ],
  });
}

function byColour(id, title, who, counts, names, colourNames, note) {
  const rows = Object.entries(counts).map(([code, colours]) => ({
    code, name: names[code] || code, ...Object.fromEntries(COLOUR_ORDER.map((c) => [c, colours[c] || 0])),
  })).map((row) => ({ ...row, total: COLOUR_ORDER.reduce((sum, c) => sum + row[c], 0) }))
    .sort((a, b) => b.red - a.red || b.total - a.total || a.name.localeCompare(b.name, "zh-CN"));
  figure(id, {
    title, note, rows, stacked: true, horizontal: true, counted: true, unit: "件", empty: "没有在办的申请",
    label: (row) => row.name,
    series: COLOUR_ORDER.map((c) => ({ label: colourNames[c], value: (row) => row[c], colour: COLOURS[c] })),
    columns: [
      { label: who, value: (row) => row.name },
      ...COLOUR_ORDER.map((c) => ({ label: colourNames[c], value: (row) => row[c], number: true })),
      { label: "合计", value: (row) => row.total, number: true },
    ],
  });
}

function handlingTimes(rows) {
  figure("handling", {
    title: "办理用时与承诺时限", unit: "工作日", horizontal: true, empty: "还没有办结的申请",
    note: "已办结申请从提交到办结的平均用时（工作日），与事项的承诺时限对照。",
    rows, label: (row) => row.name,
    series: [{ label: "平均用时", value: (row) => row.average_working_days, colour: "#0b4f8a" },
             { label: "承诺时限", value: (row) => row.promised_days, colour: "#8c959f" }],
    columns: [
      { label: "事项", value: (row) => row.name },
      { label: "部门", value: (row) => row.department_name },
      { label: "办结件数", value: (row) => row.completed, number: true },
      { label: "平均用时（工作日）", value: (row) => row.average_working_days, number: true },
      { label: "承诺时限（工作日）", value: (row) => row.promised_days, number: true },
      { label: "按时办结", value: (row) => row.within_limit, number: true },
      { label: "按时率", value: (row) => percent(row.within_limit, row.completed), number: true },
    ],
  });
}
