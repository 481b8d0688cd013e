// 我的办件: each application with its matter, status in words, deadline in colour, result and
// its number, the reasons of a refusal, and what is asked of me now (补正, 好差评).
import { actions } from "./portal-actions.js";
import { date, deadline, departmentName, matterName, matterNames, reasonList, resultTable, statusBadge } from "./portal-common.js";

const { api, el } = OneWindow;

const BASIS = { self: null, company_role: "以企业名义", authorisation: "授权代办", proactive: "免申即享（系统代为申请）" };

export const listMine = () => OneWindow.page(list);

async function list() {
  const [applications, names] = await Promise.all([api("/api/applications"), matterNames()]);
  const details = await Promise.all(applications.map((a) => api(`/api/applications/${encodeURIComponent(a.reference)}`)));
  const cards = details.map((detail) => card(detail, names));
  document.getElementById("applications").replaceChildren(
    ...(cards.length ? cards : [el("li", { class: "card muted" }, "还没有办件。到", el("a", { href: "/portal" }, "办事大厅"), "找找要办的事。")]));
  document.body.dataset.applications = String(applications.length);
}

function card(application, names) {
  const basis = BASIS[application.applied_as];
  const refused = application.outcome === "reject";
  return el("li", { class: "card application", "data-reference": application.reference, "data-status": application.status },
    el("h2", {}, el("a", { href: `/portal/applications/${encodeURIComponent(application.reference)}` },
      matterName(application, names))),
    el("p", { class: "line" }, statusBadge(application), " ", deadline(application)),
    el("p", { class: "muted" }, departmentName(application, names), ` · 办件编号 ${application.tracking_no}`,
      ` · 申请于 ${date(application.created_at)}`, basis ? ` · ${basis}` : ""),
    application.notice ? el("p", {}, application.notice) : null,
    resultTable(application),
    refused || application.status === "completed" ? reasonList(application) : null,
    actions(application, list));
}
