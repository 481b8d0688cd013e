// The matters list (search, department, state) and one matter's version history: the
// diff of any two versions and rolling back to an earlier one (a new version equal to it).
const { api, say, el, describe } = OneWindow;

export const listMatters = (...args) => OneWindow.page(() => _listMatters(...args));

async function _listMatters() {
  const [matters, definitions, vocabulary] = await Promise.all([
    api("/api/matters"), api("/api/definitions"), api("/api/definitions/vocabulary")]);
  const newest = new Map();
  for (const d of definitions) {
    if (!newest.has(d.matter) || newest.get(d.matter).version < d.version) newest.set(d.matter, d);
  }
  const departments = document.getElementById("department");
  for (const [code, name] of Object.entries(vocabulary.departments)) departments.append(el("option", { value: code }, name));
  const draw = () => {
    const words = document.getElementById("search").value.trim().toLowerCase();
    const department = departments.value;
    const state = document.getElementById("state").value;
    const rows = matters.filter((m) => {
      const current = newest.get(m.code);
      const kind = !current ? "none" : current.deployed_by === "system" ? "deployed" : "analyst";
      return (!words || `${m.name} ${m.code} ${m.guide.national_code || ""}`.toLowerCase().includes(words))
        && (!department || m.department === department)
        && (!state || state === kind || (state === "deployed" && kind === "analyst"));
    }).map((m) => {
      const current = newest.get(m.code);
      return el("tr", { "data-code": m.code },
        el("td", {}, el("a", { href: `/analyst/matters/${m.code}` }, m.name), el("div", { class: "muted" }, m.code)),
        el("td", {}, vocabulary.departments[m.department] || m.department),
        el("td", {}, current ? `v${current.version}` : "未部署"),
        el("td", {}, current ? `${current.deployed_by} · ${OneWindow.when(current.deployed_at)}` : ""),
        el("td", {}, current ? el("a", { href: `/analyst/modeller/${m.code}` }, "建模") : ""));
    });
    document.querySelector("#matters tbody").replaceChildren(...rows);
    document.getElementById("count").textContent = `共 ${rows.length} 项`;
  };
  for (const id of ["search", "department", "state"]) document.getElementById(id).addEventListener("input", draw);
  draw();
}

export const showHistory = (...args) => OneWindow.page(() => _showHistory(...args));

async function _showHistory(code) {
  const [guide] = await Promise.all([api(`/api/matters/${encodeURIComponent(code)}`), drawVersions(code)]);
  document.getElementById("matter-name").textContent = `${guide.name}（${code}）`;
  const from = document.getElementById("from");
  const to = document.getElementById("to");  // bound once the versions are there to compare
  document.getElementById("compare").addEventListener("click", () => compare(code, from.value, to.value));
  document.body.dataset.historyShown = "1";
}

// The versions table and the two version choices, drawn again after a roll-back.
async function drawVersions(code) {
  const definitions = (await api("/api/definitions")).filter((d) => d.matter === code)
    .sort((a, b) => b.version - a.version);
  if (!definitions.length) { say(`事项 ${code} 尚无已部署的版本`, "error"); return; }
  const newest = definitions[0].version;
  const rows = definitions.map((d) => el("tr", { "data-version": d.version },
    el("td", {}, `v${d.version}`, d.version === newest ? el("span", { class: "muted" }, "（当前）") : ""),
    el("td", {}, OneWindow.when(d.deployed_at)),
    el("td", {}, d.deployed_by),
    el("td", {}, d.deployed_by === "system" ? "随产品发布" : "分析员部署"),
    el("td", {}, el("code", {}, d.checksum.slice(0, 12))),
    el("td", {}, el("a", { href: `/analyst/modeller/${code}?version=${d.version}` }, "打开"), " ",
      d.version === newest ? "" : el("button", { type: "button", class: "secondary", onclick: () => rollBack(code, d.version) },
        `回退到 v${d.version}`))));
  document.querySelector("#versions tbody").replaceChildren(...rows);
  const older = (definitions[1] || definitions[0]).version;
  document.getElementById("from").replaceChildren(...definitions.map((d) =>
    el("option", { value: d.version, selected: d.version === older }, `v${d.version}`)));
  document.getElementById("to").replaceChildren(...definitions.map((d) =>
    el("option", { value: d.version, selected: d.version === newest }, `v${d.version}`)));
}

async function rollBack(code, version) {
  if (!confirm(`把 v${version} 的流程、规则、表单和指南部署为新的当前版本？正在办理的申请不受影响。`)) return;
  try {
    const answer = await api(`/api/definitions/${encodeURIComponent(code)}/rollback`, { method: "POST", body: { version } });
    say(answer.created ? `已回退：v${version} 的内容部署为新版本 v${answer.version}` : `v${version} 已是当前版本`, "ok");
    await drawVersions(code);
  } catch (problem) {
    say(describe(problem), "error");
  }
}

const PARTS = { bpmn: "流程元素", rules: "规则", form: "表单字段", policy: "指南与策略" };

async function compare(code, from, to) {
  try {
    const diff = await api(`/api/definitions/${encodeURIComponent(code)}/diff?from=${from}&to=${to}`);
    const box = document.getElementById("diff");
    box.hidden = false;
    const parts = Object.entries(PARTS).map(([key, title]) => {
      const { added, removed, changed } = diff[key];
      const items = [
        ...added.map((i) => el("li", { class: "changed-new" }, `新增 ${i.id}：${i.label}`)),
        ...removed.map((i) => el("li", { class: "changed-old" }, `删除 ${i.id}：${i.label}`)),
        ...changed.map((i) => el("li", {}, `修改 ${i.id}：${i.label}`,
          el("div", { class: "changed-old" }, `− ${i.old}`), el("div", { class: "changed-new" }, `+ ${i.new}`))),
      ];
      return el("section", { "data-part": key }, el("h2", {}, `${title}（${items.length} 处）`),
        items.length ? el("ul", {}, items) : el("p", { class: "muted" }, "无变化"));
    });
    box.replaceChildren(el("h2", {}, `v${diff.from} → v${diff.to}`), ...parts);
  } catch (problem) {
    say(describe(problem), "error");
  }
}
