// The modeller: one matter's BPMN (bpmn-js), rule set, form (form-js editor) and DMN tables
// (dmn-js) opened from a deployed version, checked by the API's dry run (every problem marked
// on its element or line), replayed against recorded applications, and deployed as a new
// version. The properties panel edits the engine's own extensions (spiffworkflow:*):
// service operations and their parameters, a user task's form, a lane's department, a
// timer's working days. Everything is sent to the same API any client uses.
const { api, say, el, describe } = OneWindow;
const SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core";
const TIMER_WORKING_DAYS = /^working_days_later\((\d+)\)$/;

export function openModeller(code) {
  return OneWindow.page(async () => {
    const version = new URLSearchParams(location.search).get("version");
    const loading = load(code, version);  // on the wire while bpmn-js builds its canvas
    loading.catch(() => {});  // awaited (and reported) in open()
    const modeller = new Modeller(code);
    window.modeller = modeller; // for the browser tests and the curious
    await modeller.open(loading);
  });
}

// The version's files and the panel's vocabulary.
async function load(code, version) {
  if (version !== null && !/^[1-9][0-9]{0,9}$/.test(version)) {
    throw new OneWindow.Problem(404, { detail: `没有版本「${version}」` });
  }
  const path = `/api/definitions/${encodeURIComponent(code)}/${version ? `versions/${version}` : "current"}`;
  const [vocabulary, files] = await Promise.all([api("/api/definitions/vocabulary"), api(path)]);
  return { vocabulary, files };
}

class Modeller {
  constructor(code) {
    this.code = code;
    this.bpmn = new BpmnJS({ container: "#canvas" });
    this.markers = [];
    this.problems = [];
    this.dmnViewer = null;
    this.dmnIndex = 0;
    this.wireTabs();
    document.getElementById("undo").addEventListener("click", () => this.bpmn.get("commandStack").undo());
    document.getElementById("redo").addEventListener("click", () => this.bpmn.get("commandStack").redo());
    document.getElementById("validate").addEventListener("click", () => this.validate());
    document.getElementById("replay").addEventListener("click", () => this.replay());
    document.getElementById("deploy").addEventListener("click", () => this.deploy());
    document.getElementById("ruleset").addEventListener("input", () => this.drawGutter());
    window.addEventListener("beforeunload", (event) => {
      if (this.unsaved()) event.preventDefault();  // the browser asks before edits are lost
    });
    this.bpmn.on("selection.changed", ({ newSelection }) => this.showProperties(newSelection[0]));
    this.bpmn.on("element.changed", ({ element }) => {
      if (this.selected && element.id === this.selected.id) this.showProperties(element);
    });
  }

  async open(loading) {
    say("正在打开…");
    const started = performance.now();
    const { vocabulary, files } = await loading;
    this.vocabulary = vocabulary;
    this.files = files;
    document.getElementById("base-version").textContent = `v${files.version}`;
    document.getElementById("matter-name").textContent = `${files.policy.name || this.code}（${this.code}）`;
    document.getElementById("policy").textContent = JSON.stringify(files.policy, null, 2);
    document.getElementById("ruleset").value = files.ruleset;
    this.drawGutter();
    await this.openDiagram(files.bpmn);
    this.formEditor = null;  // opened with its tab: form-js's editor is the largest library here
    this.dmnFiles = { ...files.dmn };
    this.setUpDmn();
    this.openedIn = performance.now() - started;
    document.body.dataset.openedMs = Math.round(this.openedIn);  // what the browser tests and bench/ read
    say(`已打开 v${files.version}（${Math.round(this.openedIn)} 毫秒）`, "ok");
  }

  // A diagram without diagram interchange (drawn by a tool that kept none) is laid out
  // here; when layout fails the canvas says so instead of staying blank.
  async openDiagram(xml) {
    let text = xml;
    if (!/BPMNDiagram/.test(xml)) {
      try {
        const { layoutProcess } = await import("bpmn-auto-layout");  // only for a diagram without DI
        text = await layoutProcess(xml);
        say("该流程没有图形信息，已自动布局", "info");
      } catch (error) {
        this.layoutFailed = error.message;
        document.getElementById("canvas").replaceChildren(el("p", { class: "error", role: "alert" },
          `该流程没有图形信息，自动布局失败（${error.message}）。规则和表单仍可编辑；流程请在 Camunda Modeler 中绘制后上传。`));
        return false;
      }
    }
    const { warnings } = await this.bpmn.importXML(text);
    if (warnings.length) console.warn("import warnings", warnings);
    this.bpmn.get("canvas").zoom("fit-viewport");
    return true;
  }

  wireTabs() {
    for (const tab of document.querySelectorAll("[role=tab]")) {
      tab.addEventListener("click", () => this.showPane(tab.dataset.pane));
    }
  }

  showPane(name) {
    for (const tab of document.querySelectorAll("[role=tab]")) {
      tab.setAttribute("aria-selected", String(tab.dataset.pane === name));
    }
    for (const pane of document.querySelectorAll(".pane")) pane.hidden = pane.dataset.pane !== name;
    if (name === "bpmn") this.bpmn.get("canvas").resized();
    if (name === "dmn") this.openDmn();
    if (name === "form") this.openForm();
  }

  async openForm() {
    if (this.formEditor) return;
    await Promise.all([loadScript(FORM_EDITOR), ...FORM_STYLES.map(loadStyle)]);
    this.formEditor = await FormEditor.createFormEditor({
      container: document.getElementById("form-editor"), schema: JSON.parse(this.files.form) });
    document.body.dataset.formOpened = "1";
  }

  // --- DMN tables ------------------------------------------------------------------
  setUpDmn() {
    const names = Object.keys(this.dmnFiles);
    document.querySelector("[data-pane=dmn][role=tab]").hidden = !names.length;
    const select = document.getElementById("dmn-file");
    select.replaceChildren(...names.map((name, i) => el("option", { value: i }, name)));
    select.addEventListener("change", async () => { await this.keepDmn(); this.dmnIndex = Number(select.value); this.openDmn(true); });
  }

  async openDmn(force = false) {
    const names = Object.keys(this.dmnFiles);
    if (!names.length || (this.dmnViewer && !force)) return;
    if (!this.dmnViewer) {
      await Promise.all([loadScript(DMN_MODELLER), ...DMN_STYLES.map(loadStyle)]);  // only for a matter with DMN tables
      this.dmnViewer = new DmnJS({ container: "#dmn-editor" });
    }
    await this.dmnViewer.importXML(this.dmnFiles[names[this.dmnIndex]]);
    this.dmnAsOpened = (await this.dmnViewer.saveXML({ format: true })).xml;  // re-saved untouched: no change
  }

  async keepDmn() {
    if (!this.dmnViewer) return;
    const names = Object.keys(this.dmnFiles);
    const { xml } = await this.dmnViewer.saveXML({ format: true });
    if (xml !== this.dmnAsOpened) this.dmnFiles[names[this.dmnIndex]] = xml;
  }

  // --- the rule set editor ----------------------------------------------------------
  drawGutter() {
    const text = document.getElementById("ruleset");
    const lines = text.value.split("\n").length;
    const bad = new Map(this.ruleLines().map(({ line, reason }) => [line, reason]));
    const gutter = document.getElementById("gutter");
    gutter.replaceChildren(...Array.from({ length: lines }, (_, i) => {
      const line = el("div", bad.has(i + 1) ? { class: "bad", title: bad.get(i + 1) } : {}, i + 1);
      return line;
    }));
    text.style.height = `${lines * 1.45 + 1}em`;
  }

  // Rule-set problems name a rule id (or a fact) and sometimes a line: find the line.
  ruleLines() {
    const lines = document.getElementById("ruleset").value.split("\n");
    return this.problems.filter((p) => /\.ya?ml$/.test(p.file)).map((p) => {
      if (p.line) return { line: Number(p.line), reason: p.reason };
      const key = (p.element_id || "").replace(/^facts\./, "");
      const index = key ? lines.findIndex((l) => l.includes(`id: ${key}`) || l.trim().startsWith(`${key}:`)) : -1;
      return { line: index + 1 || 1, reason: p.reason };
    });
  }

  // --- the properties panel -------------------------------------------------------
  showProperties(element) {
    this.selected = element;
    const panel = document.getElementById("properties");
    if (!element) {
      panel.replaceChildren(el("h2", {}, "属性"), el("p", { class: "muted" }, "在流程图中选择一个元素。"));
      return;
    }
    const bo = element.businessObject;
    const rows = [el("h2", {}, "属性"), el("p", { class: "muted" }, `${bo.$type.replace("bpmn:", "")} · ${bo.id}`)];
    rows.push(this.field("名称", bo.name || "", (value) => this.modeling().updateLabel(element, value)));
    if (bo.$type === "bpmn:Lane") rows.push(this.laneField(element));
    if (bo.$type === "bpmn:UserTask" || bo.$type === "bpmn:ManualTask") rows.push(this.taskFormField(element));
    if (bo.$type === "bpmn:ServiceTask") rows.push(...this.operationFields(element));
    if (bo.$type === "bpmn:ScriptTask") {
      rows.push(this.field("脚本（Python 子集）", bo.script || "", (value) =>
        this.modeling().updateProperties(element, { script: value }), true));
    }
    if (bo.$type === "bpmn:SequenceFlow") {
      const condition = bo.conditionExpression ? bo.conditionExpression.body : "";
      rows.push(this.field("条件表达式", condition || "", (value) => this.modeling().updateProperties(element, {
        conditionExpression: value ? this.moddle().create("bpmn:FormalExpression", { body: value }) : undefined }), true));
    }
    const timer = (bo.eventDefinitions || []).find((d) => d.$type === "bpmn:TimerEventDefinition");
    if (timer) rows.push(this.timerField(element, timer));
    for (const problem of this.problems.filter((p) => p.element_id === bo.id)) {
      rows.push(el("p", { class: "error" }, problem.reason));
    }
    panel.replaceChildren(...rows);
  }

  field(label, value, onChange, multiline = false) {
    const input = multiline ? el("textarea", { rows: 4, class: "code" }) : el("input", { type: "text" });
    input.value = value;
    input.addEventListener("change", () => onChange(input.value));
    return el("label", {}, label, input);
  }

  select(label, value, options, onChange) {
    const select = el("select", {}, ...Object.entries(options).map(([key, text]) =>
      el("option", { value: key, selected: key === value }, `${text}（${key}）`)));
    if (!(value in options)) select.prepend(el("option", { value, selected: true }, value || "（未设置）"));
    select.addEventListener("change", () => onChange(select.value));
    return el("label", {}, label, select);
  }

  laneField(element) {
    const options = { ...this.vocabulary.lanes, ...this.vocabulary.departments, system: "系统自动（无人工任务）" };
    return this.select("部门 / 角色（泳道名）", element.businessObject.name || "", options,
      (value) => this.modeling().updateLabel(element, value));
  }

  taskFormField(element) {
    const forms = Object.fromEntries(this.vocabulary.task_forms.map((name) => [name, TASK_FORM_NAMES[name] || name]));
    return this.select("任务表单", this.property(element, "taskForm") || "review", forms,
      (value) => this.setProperty(element, "taskForm", value));
  }

  operationFields(element) {
    const operator = this.extension(element, "serviceTaskOperator");
    const operations = Object.fromEntries(this.vocabulary.operations.map((o) => [o.name, o.summary]));
    const rows = [this.select("服务操作", operator ? operator.id : "", operations, (value) => {
      this.updateExtension(element, "serviceTaskOperator", (found) => { found.id = value; });
    })];
    rows.push(this.field("结果变量", operator ? operator.resultVariable || "" : "", (value) =>
      this.updateExtension(element, "serviceTaskOperator", (found) => { found.resultVariable = value || undefined; })));
    const parameters = operator ? this.children(operator, "parameters").flatMap((p) => this.children(p, "parameter")) : [];
    const text = parameters.map((p) => `${p.id} = ${p.value}`).join("\n");
    rows.push(this.field("参数（每行 名称 = 表达式）", text, (value) =>
      this.updateExtension(element, "serviceTaskOperator", (found) => this.setParameters(found, value)), true));
    return rows;
  }

  timerField(element, timer) {
    const expression = timer.timeDate ? timer.timeDate.body : "";
    const days = (TIMER_WORKING_DAYS.exec((expression || "").trim()) || [])[1] || "";
    const label = el("label", {}, "等待工作日数（按工作日历，09:00 到期）");
    const input = el("input", { type: "number", min: 1, max: 365, value: days });
    input.addEventListener("change", () => {
      if (!/^[1-9][0-9]{0,2}$/.test(input.value) || Number(input.value) > 365) {
        say("等待工作日数应为 1 到 365 的整数", "error");
        return;
      }
      const body = `working_days_later(${Number(input.value)})`;
      this.modeling().updateModdleProperties(element, timer, {
        timeDate: this.moddle().create("bpmn:FormalExpression", { body }), timeDuration: undefined, timeCycle: undefined });
    });
    label.append(input);
    if (expression && !days) label.append(el("span", { class: "muted" }, `当前为表达式：${expression}`));
    return label;
  }

  // The engine's extensions are kept as bpmn-moddle reads unknown XML (generic elements):
  // nothing in a file is lost or rewritten that the panel did not change.
  extensionElements(element, create = false) {
    const bo = element.businessObject;
    if (!bo.extensionElements && create) {
      this.modeling().updateProperties(element, {
        extensionElements: this.moddle().create("bpmn:ExtensionElements", { values: [] }) });
    }
    return bo.extensionElements;
  }

  extension(element, name) {
    const holder = this.extensionElements(element);
    return holder ? (holder.values || []).find((v) => v.$type === `spiffworkflow:${name}`) : undefined;
  }

  children(generic, name) {
    return (generic.$children || []).filter((c) => c.$type === `spiffworkflow:${name}`);
  }

  any(name, attributes = {}) {
    return Object.assign(this.moddle().createAny(`spiffworkflow:${name}`, SPIFF, {}), attributes);
  }

  updateExtension(element, name, change) {
    const holder = this.extensionElements(element, true);
    let found = this.extension(element, name);
    if (!found) {
      found = this.any(name);
      holder.values = [...(holder.values || []), found];
    }
    if (change(found) === false) return;
    this.modeling().updateProperties(element, { extensionElements: holder });
  }

  // "name = expression" per line; a parameter keeps its type (str, int…) when its name stays.
  setParameters(operator, text) {
    const lines = text.split("\n").map((line) => line.trim()).filter(Boolean);
    const bad = lines.filter((line) => !/^[A-Za-z_][A-Za-z0-9_]*\s*=\s*\S/.test(line));
    if (bad.length) {
      say(`参数格式应为「名称 = 表达式」：${bad.join("；")}`, "error");
      return false;
    }
    const types = Object.fromEntries(this.children(operator, "parameters").flatMap((p) => this.children(p, "parameter"))
      .map((p) => [p.id, p.type]));
    const parameters = lines.map((line) => {
      const at = line.indexOf("=");
      const id = line.slice(0, at).trim();
      return this.any("parameter", { id, type: types[id] || "any", value: line.slice(at + 1).trim() });
    });
    operator.$children = parameters.length ? [this.any("parameters", { $children: parameters })] : [];
    return true;
  }

  property(element, name) {
    const properties = this.extension(element, "properties");
    const found = properties && this.children(properties, "property").find((p) => p.name === name);
    return found ? found.value : undefined;
  }

  setProperty(element, name, value) {
    this.updateExtension(element, "properties", (properties) => {
      const others = this.children(properties, "property").filter((p) => p.name !== name);
      properties.$children = [...others, this.any("property", { name, value })];
    });
  }

  modeling() { return this.bpmn.get("modeling"); }
  moddle() { return this.bpmn.get("moddle"); }

  // What differs from the version opened (or last deployed): only that is sent as changed,
  // so an untouched BPMN or form goes back byte for byte (comments and formatting kept).
  bpmnChanged() { return !this.layoutFailed && this.bpmn.get("commandStack").canUndo(); }

  formText() {
    if (!this.formEditor) return this.files.form;
    const edited = JSON.stringify(this.formEditor.saveSchema());
    return edited === JSON.stringify(JSON.parse(this.files.form)) ? this.files.form : JSON.stringify(this.formEditor.saveSchema(), null, 2);
  }

  unsaved() {
    return this.files && (this.bpmnChanged() || document.getElementById("ruleset").value !== this.files.ruleset
      || this.formText() !== this.files.form || Object.entries(this.dmnFiles).some(([n, x]) => x !== this.files.dmn[n]));
  }

  // --- validate, replay, deploy ---------------------------------------------------
  async candidate() {
    const { xml } = this.bpmnChanged() ? await this.bpmn.saveXML({ format: true }) : { xml: this.files.bpmn };
    await this.keepDmn();
    return { matter: this.code, base_version: this.files.version, bpmn: xml,
             ruleset: document.getElementById("ruleset").value, form: this.formText(), dmn: Object.values(this.dmnFiles) };
  }

  clearMarkers() {
    const canvas = this.bpmn.get("canvas");
    for (const id of this.markers) canvas.removeMarker(id, "problem-marker");
    this.bpmn.get("overlays").remove({ type: "problem" });
    this.markers = [];
  }

  async validate() {
    say("正在校验…");
    const started = performance.now();
    const report = await this.call(() => this.candidate().then((body) =>
      api("/api/definitions/validate", { method: "POST", body })));
    if (!report) return null;
    this.showProblems(report.problems, report.warnings);
    this.validatedIn = performance.now() - started;
    document.body.dataset.validatedMs = Math.round(this.validatedIn);
    document.body.dataset.validations = Number(document.body.dataset.validations || 0) + 1;
    say(report.deployable ? "校验通过，可以部署" : `发现 ${report.problems.length} 个问题，已在图中和规则中标出`,
        report.deployable ? "ok" : "error");
    return report;
  }

  showProblems(problems, warnings) {
    this.clearMarkers();
    this.problems = problems;
    const registry = this.bpmn.get("elementRegistry");
    const canvas = this.bpmn.get("canvas");
    const overlays = this.bpmn.get("overlays");
    const list = document.getElementById("problems");
    list.replaceChildren();
    if (!problems.length) list.append(el("li", { class: "muted" }, "没有问题"));
    for (const problem of problems) {
      const shape = problem.element_id && registry.get(problem.element_id);
      if (shape && problem.file.endsWith(".bpmn")) {
        canvas.addMarker(shape.id, "problem-marker");
        overlays.add(shape.id, "problem", { position: { top: -14, right: 14 },
          html: `<span class="problem-badge" title="${escapeHtml(problem.reason)}">!</span>` });
        this.markers.push(shape.id);
      }
      const where = [problem.file, problem.element_id, problem.line && `第 ${problem.line} 行`].filter(Boolean).join(" · ");
      const item = el("li", { class: "error", "data-element": problem.element_id || "" }, `${where}：${problem.reason}`);
      if (shape) item.addEventListener("click", () => { this.showPane("bpmn"); this.bpmn.get("selection").select(shape); });
      list.append(item);
    }
    const shown = document.getElementById("warnings");
    shown.replaceChildren(...(warnings || []).map((w) =>
      el("p", { class: "muted" }, `提示：${[w.file, w.element_id].filter(Boolean).join(" · ")}：${w.reason}`)));
    this.drawGutter();
    if (this.selected) this.showProperties(this.selected);
  }

  async replay() {
    say("正在回放已有申请…");
    document.getElementById("replay-report").replaceChildren("…");
    const body = { ruleset: document.getElementById("ruleset").value };
    const report = await this.call(() => api(`/api/definitions/${encodeURIComponent(this.code)}/replay`,
      { method: "POST", body }), (problem) => problem.status === 400 &&
      this.showProblems(problem.body.problems || [], []));
    if (!report) {
      document.getElementById("replay-report").replaceChildren("回放未完成：候选规则有问题，见校验结果。");
      return null;
    }
    const box = document.getElementById("replay-report");
    box.classList.remove("muted");
    const rows = report.changes.map((c) => el("tr", { "data-application": c.application_id },
      el("td", {}, c.tracking_no || c.application_id),
      el("td", {}, el("span", { class: "changed-old" }, OUTCOMES[c.old.outcome] || c.old.outcome), " → ",
        el("span", { class: "changed-new" }, OUTCOMES[c.new.outcome] || c.new.outcome)),
      el("td", {}, (c.new.reasons || []).map((r) => r.message || r).join("；"))));
    box.replaceChildren(
      el("p", {}, `回放 ${report.replayed} 件，结论变化 ${report.changed} 件`),
      el("table", { id: "replay-changes" }, el("thead", {}, el("tr", {}, el("th", {}, "申请"), el("th", {}, "原 → 新"),
        el("th", {}, "新理由"))), el("tbody", {}, rows)));
    say(`回放完成：${report.changed} 件结论会改变`, "ok");
    return report;
  }

  async deploy() {
    say("正在部署…");
    let body;
    const answer = await this.call(async () => {
      body = await this.candidate();
      return api("/api/definitions", { method: "POST", body });
    }, (problem) => problem.status === 400 && this.showProblems(problem.body.problems || [], []));
    if (!answer) return null;
    if (answer.created) {  // what was deployed is the new base: unchanged from here on
      this.files = { ...this.files, ...body, version: answer.version, dmn: Object.fromEntries(
        Object.keys(this.dmnFiles).map((name, i) => [name, body.dmn[i]])) };
      this.dmnFiles = { ...this.files.dmn };
      this.bpmn.get("commandStack").clear();
    }
    document.getElementById("base-version").textContent = `v${answer.version}`;
    const warnings = (answer.warnings || []).length ? `，${answer.warnings.length} 条提示` : "";
    say(answer.created ? `已部署为 v${answer.version}${warnings}` : `与当前版本 v${answer.version} 相同，未新建版本`, "ok");
    if (answer.warnings) this.showProblems([], answer.warnings);
    return answer;
  }

  // Runs an API call; a refusal is shown, never thrown into the console.
  async call(request, onProblem) {
    try {
      return await request();
    } catch (problem) {
      if (onProblem) onProblem(problem);
      say(describe(problem), "error");
      return null;
    }
  }
}

// Loaded with their tabs: the BPMN canvas opens without waiting for them.
const FORM_EDITOR = "/vendor/@bpmn-io/form-js/dist/form-editor.umd.js";
const FORM_STYLES = ["form-js.css", "form-js-editor.css"].map((name) => `/vendor/@bpmn-io/form-js/dist/assets/${name}`);
const DMN_STYLES = ["dmn-js-shared.css", "dmn-js-drd.css", "dmn-js-decision-table.css", "dmn-js-decision-table-controls.css",
  "dmn-js-literal-expression.css", "dmn-font/css/dmn-embedded.css"].map((name) => `/vendor/dmn-js/dist/assets/${name}`);
// dmn-js's development build: its minified build makes Inferno log a console error.
const DMN_MODELLER = "/vendor/dmn-js/dist/dmn-modeler.development.js";

function loadStyle(href) {
  if (document.querySelector(`link[href="${href}"]`)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const link = el("link", { rel: "stylesheet", href });
    link.addEventListener("load", resolve);
    link.addEventListener("error", () => reject(new Error(`${href} 加载失败`)));
    document.head.append(link);
  });
}

function loadScript(src) {
  if (document.querySelector(`script[src="${src}"]`)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const script = el("script", { src });
    script.addEventListener("load", resolve);
    script.addEventListener("error", () => reject(new Error(`${src} 加载失败`)));
    document.head.append(script);
  });
}

const OUTCOMES = { approve: "批准", reject: "不予批准", manual: "转人工" };
const TASK_FORM_NAMES = { review: "审核", intake: "受理", supplement: "补正", delivery: "出件", verification: "核查" };

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
