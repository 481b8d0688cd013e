// Incidents: every open one with the error on its diagram element; retry after a fix.
const { api, say, el, describe } = OneWindow;

const STATUSES = { running: "处理中", waiting: "等待办理", completed: "已办结", failed: "仍然失败（见新的异常）" };
const KINDS = { script_error: "脚本出错", budget_exceeded: "超出运行预算", no_end_event: "流程未到达结束事件" };

export const listIncidents = (...args) => OneWindow.page(() => _listIncidents(...args));

async function _listIncidents() {
  const incidents = await api("/api/incidents");
  const rows = incidents.map((incident) => el("tr", { "data-incident": incident.id },
    el("td", {}, incident.id),
    el("td", {}, `${incident.matter} v${incident.definition_version}`),
    el("td", {}, incident.application_id),
    el("td", {}, el("code", {}, incident.element_id)),
    el("td", {}, KINDS[incident.kind] || incident.kind),
    el("td", {}, el("code", {}, incident.error.length > 120 ? `${incident.error.slice(0, 120)}…` : incident.error)),
    el("td", {}, OneWindow.when(incident.created_at)),
    el("td", {},
      el("button", { type: "button", class: "secondary", onclick: () => show(incident) }, "在流程图中查看"), " ",
      el("button", { type: "button", onclick: () => retry(incident) }, "重试"))));
  document.querySelector("#incidents tbody").replaceChildren(
    ...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 8, class: "muted" }, "没有未处理的异常"))]));
  document.body.dataset.incidents = String(incidents.length);
}

let viewer;  // one bpmn-js viewer for the page, made when first needed

async function show(incident) {
  document.getElementById("incident-view").hidden = false;  // shown first: the viewer measures its box
  viewer = viewer || new BpmnJS({ container: "#incident-diagram" });
  try {
    const files = await api(`/api/definitions/${encodeURIComponent(incident.matter)}/versions/${incident.definition_version}`);
    document.getElementById("incident-title").textContent =
      `异常 ${incident.id}：${incident.matter} v${incident.definition_version} · ${incident.element_id}`;
    document.getElementById("incident-error").textContent = incident.error;
    await viewer.importXML(files.bpmn);
    const canvas = viewer.get("canvas");
    canvas.zoom("fit-viewport");
    if (viewer.get("elementRegistry").get(incident.element_id)) {
      canvas.addMarker(incident.element_id, "problem-marker");
      viewer.get("overlays").add(incident.element_id, { position: { top: -14, right: 14 },
        html: el("span", { class: "problem-badge", title: incident.error }, "!") });
    }
    document.body.dataset.shownIncident = String(incident.id);
  } catch (problem) {
    say(describe(problem), "error");
  }
}

async function retry(incident) {
  try {
    const application = await api(`/api/incidents/${incident.id}/retry`, { method: "POST" });
    say(`已重试：申请 ${application.id} ${STATUSES[application.status] || application.status}`,
        application.status === "failed" ? "error" : "ok");
    await listIncidents();
  } catch (problem) {
    say(describe(problem), "error");
  }
}
