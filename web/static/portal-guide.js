// 办事指南: the matter's standard elements; the situation questions (场景式服务) choose the
// materials to prepare (POST /api/matters/{code}/materials); then 在线申办.
import { cartPath, publicPage } from "./portal-common.js";

const { api, el, say, describe } = OneWindow;

const FORMS = { electronic: "电子", paper: "纸质", paper_or_electronic: "纸质或电子" };
const SOURCES = { applicant: "申请人提供", population_registry: "人口库共享，免提交", licence_library: "电子证照库调取，免提交",
                  property_registry: "不动产登记共享，免提交", form: "在线填写，自动生成", credit_registry: "信用信息共享，免提交" };

export function showGuide(code) {
  publicPage(() => show(code));
}

async function show(code) {
  const [matter, elsewhere] = await Promise.all([api(`/api/matters/${encodeURIComponent(code)}`), cartPath(code)]);
  const guide = matter.guide || {};
  document.getElementById("content").hidden = false;  // a matter that is not there shows only the message
  document.title = `${matter.name} · 办事指南 · 一网通办`;
  document.getElementById("matter-name").textContent = matter.name;
  const rows = [
    ["办理部门", guide.department_name], ["事项类型", guide.type], ["设定依据", guide.legal_basis],
    ["法定时限", `${matter.legal_days} 个工作日`], ["承诺时限", `${matter.promised_days} 个工作日`],
    ["收费", guide.fee === 0 || guide.fee === "0" || !guide.fee ? "不收费" : `${guide.fee}`],
    ["办理方式", guide.handling_depth], ["办理结果", guide.result_name],
    ["办理地点", guide.where || guide.location || "网上办理；也可到政务服务中心综合受理窗口办理"],
  ].filter(([, value]) => value);
  document.getElementById("guide").replaceChildren(...rows.flatMap(([term, value]) =>
    [el("dt", {}, term), el("dd", {}, value)]));
  document.getElementById("conditions").replaceChildren(
    ...(guide.conditions || []).map((c) => el("li", {}, c)));
  const apply = document.getElementById("apply");
  apply.href = elsewhere || `/portal/apply/${encodeURIComponent(code)}`;  // 一件事 and the cart: 政务超市
  questions(code, guide.scenarios || []);
  await materials(code, guide.scenarios || [], {});
  document.body.dataset.guide = code;
}

function questions(code, scenarios) {
  const form = document.getElementById("scenarios");
  form.replaceChildren(...scenarios.map((q) => el("fieldset", { class: "question" },
    el("legend", {}, q.question),
    Object.entries(q.options).map(([value, words], index) => el("label", { class: "option" },
      el("input", { type: "radio", name: q.id, value, checked: index === 0 }), ` ${words}`)))));
  form.addEventListener("change", () => materials(code, scenarios, chosen(form)));
}

function chosen(form) {
  return Object.fromEntries(new FormData(form).entries());
}

async function materials(code, scenarios, answers) {
  const form = document.getElementById("scenarios");
  const picked = scenarios.length ? chosen(form) : answers;
  try {
    const list = await api(`/api/matters/${encodeURIComponent(code)}/materials`, { method: "POST", body: { answers: picked } });
    document.getElementById("materials").replaceChildren(...list.materials.map((m) => el("li", {},
      el("strong", {}, m.name), m.required ? "（必需）" : "（视情况）",
      el("span", { class: "muted" }, ` ${FORMS[m.form] || ""}${m.form ? "，" : ""}${SOURCES[m.source] || "申请人提供"}`))));
  } catch (problem) {
    say(describe(problem), "error");
  }
}
