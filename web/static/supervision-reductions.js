// 电子监察 · 四减: per matter and per bundle (一件事), the pre-reform figure beside today's and
// the measured average of finished applications — time, steps, materials, trips. The
// figures come from GET /api/reports/four-reductions; its .csv is the full export.
import { download, figure } from "./supervision.js";

const { api, el, say, describe } = OneWindow;
const REPORT = "/api/reports/four-reductions";
const KINDS = { matter: "事项", bundle: "一件事" };
const BEIJING = "+08:00";  // the platform's working-day calendar is Beijing time

// One chart and table per reduction: which figures it compares.
const REDUCTIONS = [
  { id: "reductions-time", title: "减时间", unit: "工作日", before: "baseline_days", now: "promised_days",
    measured: "average_days", nowLabel: "承诺时限", measuredLabel: "实测平均用时",
    extra: [{ label: "法定时限", key: "legal_days" }, { label: "实测90%用时", key: "p90_days" }] },
  { id: "reductions-steps", title: "减环节", unit: "个环节", before: "baseline_steps", now: "steps",
    measured: "average_steps", nowLabel: "现在的办理环节", measuredLabel: "实测平均环节" },
  { id: "reductions-materials", title: "减材料", unit: "份材料", before: "baseline_materials", now: "materials",
    measured: "average_materials", nowLabel: "现在须提交", measuredLabel: "实测平均提交" },
  { id: "reductions-trips", title: "减跑动", unit: "次", before: "baseline_trips", now: "trips",
    measured: "average_trips", nowLabel: "现在最多跑动", measuredLabel: "实测平均跑动" },
];

export const showReductions = () => OneWindow.page(start);

async function start() {
  const rows = await api(REPORT);
  offer(rows);
  draw(rows);
  const form = document.getElementById("reductions-filter");
  form.hidden = false;  // offered once the figures may be read
  form.addEventListener("submit", (event) => { event.preventDefault(); refresh(); });
  document.getElementById("reductions-csv").addEventListener("click", exportCsv);
}

// The matters and bundles to choose from, by name.
function offer(rows) {
  const select = document.getElementById("reductions-matter");
  for (const kind of Object.keys(KINDS)) {
    const ofKind = rows.filter((row) => row.kind === kind);
    if (ofKind.length) {
      select.append(el("optgroup", { label: KINDS[kind] },
        ofKind.map((row) => el("option", { value: row.matter }, row.name))));
    }
  }
}

function query() {
  const params = new URLSearchParams();
  const matter = document.getElementById("reductions-matter").value;
  const since = document.getElementById("reductions-since").value;
  const until = document.getElementById("reductions-until").value;
  if (matter) params.set("matter", matter);
  if (since) params.set("since", `${since}T00:00:00${BEIJING}`);
  if (until) params.set("until", `${until}T00:00:00${BEIJING}`);
  const text = params.toString();
  return text ? `?${text}` : "";
}

// The dates make a period (the API refuses one that ends before it starts): said in words.
function wrongPeriod() {
  const since = document.getElementById("reductions-since").value;
  const until = document.getElementById("reductions-until").value;
  return since && until && since >= until ? "“至”的日期须晚于“申请提交自”的日期" : "";
}

async function refresh() {
  if (wrongPeriod()) {
    say(wrongPeriod(), "error");
    return;
  }
  try {
    draw(await api(`${REPORT}${query()}`));
    say("已更新四减数据", "ok");
  } catch (problem) {
    say(describe(problem), "error");
  }
}

async function exportCsv() {
  if (wrongPeriod()) {
    say(wrongPeriod(), "error");
    return;
  }
  try {
    download(await api(`${REPORT}.csv${query()}`, { blob: true }), "four-reductions.csv");
    say("已导出四减数据（CSV）", "ok");
  } catch (problem) {
    say(describe(problem), "error");
  }
}

function nameOf(row) {
  return row.kind === "bundle" ? `${row.name}（一件事）` : row.name;
}

function reduction(row, before, now) {
  const baseline = row[before];
  if (baseline === null || baseline === undefined) return "—";
  const cut = baseline - row[now];
  if (cut <= 0) return cut === 0 ? "持平" : `增加 ${-cut}`;
  return `减少 ${cut}（${Math.round((cut / baseline) * 100)}%）`;
}

function draw(rows) {
  for (const one of REDUCTIONS) {
    figure(one.id, {
      title: one.title, unit: one.unit, horizontal: true, empty: "没有符合条件的事项",
      filename: `${one.id}.csv`, label: nameOf,
      rows: rows.map((row) => ({ ...row, attributes: { "data-matter": row.matter, "data-kind": row.kind } })),
      series: [{ label: "改革前", value: (row) => row[one.before], colour: "#8c959f" },
               { label: one.nowLabel, value: (row) => row[one.now], colour: "#0b4f8a" },
               { label: one.measuredLabel, value: (row) => row[one.measured], colour: "#54aeff" }],
      columns: [
        { label: "事项 / 一件事", value: nameOf },
        { label: "类型", value: (row) => KINDS[row.kind] || row.kind },
        { label: `改革前（${one.unit}）`, value: (row) => row[one.before], number: true },
        { label: `${one.nowLabel}（${one.unit}）`, value: (row) => row[one.now], number: true },
        { label: "减少", value: (row) => reduction(row, one.before, one.now) },
        ...(one.extra || []).map((extra) => ({ label: `${extra.label}（${one.unit}）`, value: (row) => row[extra.key],
                                              number: true })),
        { label: `${one.measuredLabel}（${one.unit}）`, value: (row) => row[one.measured], number: true },
        { label: "已办结件数", value: (row) => row.finished, number: true },
      ],
    });
  }
  document.body.dataset.loaded = "reductions";
  document.body.dataset.reductions = String(rows.length);
}
