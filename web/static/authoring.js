// Authoring at scale: a matter made from a template by giving its guide (the form is drawn
// from the template's own field descriptions, GET /api/templates), and a 事项库 export
// imported row by row with a per-row report.
const { api, say, el, describe } = OneWindow;

export const newMatter = (...args) => OneWindow.page(() => _newMatter(...args));

async function _newMatter() {
  const templates = await api("/api/templates");
  const box = document.getElementById("templates");
  for (const [i, template] of templates.entries()) {
    const radio = el("input", { type: "radio", name: "template", value: template.name, checked: i === 0 });
    radio.addEventListener("change", () => drawGuide(template));
    box.append(el("label", {}, radio, ` ${template.title}`, el("div", { class: "muted" }, template.description)));
  }
  drawGuide(templates[0]);
  document.getElementById("guide").addEventListener("submit", async (event) => {
    event.preventDefault();
    const template = templates.find((t) => t.name === box.querySelector("input:checked").value);
    await create(template);
  });
}

let current = null;  // the template whose guide form is drawn, and its inputs by field name

function drawGuide(template) {
  const inputs = {};
  const rows = template.fields.map((field) => {
    const input = inputFor(field);
    inputs[field.name] = input;
    return el("label", { "data-field": field.name }, `${field.title}${field.required ? " *" : ""}`, input.node,
      field.description ? el("span", { class: "hint" }, field.description) : null,
      el("span", { class: "field-error", role: "alert" }));
  });
  document.getElementById("fields").replaceChildren(...rows);
  current = { template, inputs };
}

function inputFor(field) {
  if (field.kind === "choice") {
    const select = el("select", { name: field.name },
      el("option", { value: "" }, field.required ? "请选择" : "（默认）"),
      ...Object.entries(field.choices).map(([value, title]) => el("option", { value }, title)));
    return { node: select, value: () => select.value || undefined };
  }
  if (field.kind === "integer") {
    const input = el("input", { type: "number", name: field.name, min: 0 });
    return { node: input, value: () => (input.value === "" ? undefined : Number(input.value)) };
  }
  if (field.kind === "list" || field.kind === "comparisons") {
    const area = el("textarea", { name: field.name, rows: 3, placeholder: "每行一项" });
    return { node: area, value: () => lines(area.value) };
  }
  if (field.kind === "fee") {
    const input = el("input", { type: "text", name: field.name, placeholder: "0" });
    return { node: input, value: () => (input.value.trim() === "" ? undefined
      : /^\d+(\.\d+)?$/.test(input.value.trim()) ? Number(input.value) : input.value.trim()) };
  }
  if (field.kind === "materials") return repeated(field, materialRow);
  if (field.kind === "criteria") return repeated(field, criterionRow);
  const input = el("input", { type: "text", name: field.name });
  return { node: input, value: () => input.value.trim() || undefined };
}

function lines(text) {
  const items = text.split("\n").map((line) => line.trim()).filter(Boolean);
  return items.length ? items : undefined;
}

// A list of small rows (materials, criteria) with add and remove.
function repeated(field, makeRow) {
  const list = el("div", { class: "rows", "data-list": field.name });
  const add = el("button", { type: "button", class: "secondary" }, "添加一项");
  const addRow = () => {
    const row = makeRow(field);
    const remove = el("button", { type: "button", class: "link" }, "删除");
    remove.addEventListener("click", () => row.node.remove());
    row.node.append(remove);
    row.node.collect = row.value;
    list.append(row.node);
  };
  add.addEventListener("click", addRow);
  addRow();
  return { node: el("div", {}, list, add),
           value: () => { const items = [...list.children].map((r) => r.collect()).filter(Boolean);
                          return items.length ? items : undefined; } };
}

function materialRow(field) {
  const name = el("input", { type: "text", placeholder: "材料名称", "aria-label": "材料名称" });
  const source = el("select", { "aria-label": "来源渠道" },
    ...Object.entries(field.choices).map(([value, title]) => el("option", { value }, title)));
  const required = el("input", { type: "checkbox", checked: true, "aria-label": "必要" });
  return { node: el("div", { class: "row" }, name, source, el("label", {}, required, "必要")),
           value: () => (name.value.trim() ? { name: name.value.trim(), source: source.value, required: required.checked }
                                            : null) };
}

function criterionRow(field) {
  const kind = el("select", { "aria-label": "条件种类" }, el("option", { value: "" }, "请选择条件"),
    ...Object.entries(field.choices).map(([value, title]) => el("option", { value }, title)));
  const age = el("input", { type: "number", min: 0, max: 150, placeholder: "年龄", "aria-label": "年龄" });
  const message = el("input", { type: "text", placeholder: "不符合时告知申请人的话（可选）", "aria-label": "告知语" });
  return { node: el("div", { class: "row" }, kind, age, message),
           value: () => (kind.value ? { kind: kind.value, ...(age.value === "" ? {} : { age: Number(age.value) }),
                                        ...(message.value.trim() ? { message: message.value.trim() } : {}) } : null) };
}

async function create(template) {
  const guide = {};
  for (const [name, input] of Object.entries(current.inputs)) {
    const value = input.value();
    if (value !== undefined) guide[name] = value;
  }
  for (const error of document.querySelectorAll("#guide .field-error")) error.textContent = "";
  say("正在创建…");
  try {
    const answer = await api(`/api/templates/${template.name}/matters`, { method: "POST", body: guide });
    const created = document.getElementById("created");
    created.hidden = false;
    created.replaceChildren(el("h2", {}, `已创建：${answer.guide.name || answer.matter}（${answer.matter}）v${answer.version}`),
      el("p", {}, el("a", { href: `/analyst/modeller/${answer.matter}` }, "在建模器中打开"), " · ",
        el("a", { href: `/analyst/matters/${answer.matter}` }, "版本历史")),
      ...(answer.warnings || []).map((w) => el("p", { class: "muted" }, `提示：${w.reason}`)));
    created.dataset.matter = answer.matter;
    say(`事项 ${answer.matter} 已创建并部署为 v${answer.version}`, "ok");
  } catch (problem) {
    showFieldErrors(problem);
    say(describe(problem), "error");
  }
}

// 422: every field at fault at once (errors: "materials.0.source" -> messages).
function showFieldErrors(problem) {
  const errors = (problem.body && problem.body.errors) || {};
  for (const [path, messages] of Object.entries(errors)) {
    const field = document.querySelector(`#guide [data-field="${path.split(".")[0]}"] .field-error`);
    if (field) field.textContent = [field.textContent, ...[].concat(messages)].filter(Boolean).join("；");
  }
}

export const importCatalogue = (...args) => OneWindow.page(() => _importCatalogue(...args));

async function _importCatalogue() {
  const templates = await api("/api/templates");
  const select = document.getElementById("template");
  for (const template of templates) select.append(el("option", { value: template.name }, template.title));
  select.value = "window";
  document.getElementById("import").addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = event.target.elements.file.files[0];
    if (!file) return;
    const body = new FormData();
    body.append("file", file);
    const progress = document.getElementById("progress");
    const elapsed = document.getElementById("elapsed");
    const started = Date.now();
    const tick = setInterval(() => { elapsed.textContent = `已用 ${Math.round((Date.now() - started) / 1000)} 秒`; }, 500);
    progress.hidden = false;
    say(`正在导入 ${file.name}…`);
    try {
      const report = await api(`/api/catalogue/import/file?template=${encodeURIComponent(select.value)}`,
        { method: "POST", form: body });
      showReport(report);
    } catch (problem) {
      say(describe(problem), "error");
    } finally {
      clearInterval(tick);
      progress.hidden = true;
    }
  });
}

const STATES = { created: "新建", updated: "更新", unchanged: "无变化", refused: "未导入" };

function showReport(report) {
  const box = document.getElementById("report");
  box.hidden = false;
  const counts = Object.entries(report.counts).map(([state, n]) => `${STATES[state] || state} ${n}`).join("，");
  document.getElementById("summary").textContent = `共 ${report.total} 行：${counts}`;
  box.dataset.total = String(report.total);
  for (const [state, n] of Object.entries(report.counts)) box.dataset[state] = String(n);
  const draw = () => {
    const only = document.getElementById("only").value;
    document.querySelector("#rows tbody").replaceChildren(...report.rows.filter((r) => !only || r.status === only)
      .map((row) => el("tr", { "data-status": row.status, "data-row": row.row },
        el("td", {}, row.line ? `${row.row}（第 ${row.line} 行）` : row.row),
        el("td", {}, row.name || "", row.code ? el("div", { class: "muted" }, row.code) : null),
        el("td", { class: row.status === "refused" ? "error" : "" }, STATES[row.status] || row.status),
        el("td", {}, [...(row.reasons || []), ...(row.normalised || []).map((n) => `材料名称规范：${n.from} → ${n.to}`),
                      ...(row.notes || [])].join("；")))));
  };
  document.getElementById("only").onchange = draw;
  draw();
  say(`导入完成：${counts}`, report.counts.refused ? "error" : "ok");
}
