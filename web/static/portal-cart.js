// 政务超市: the bundles (一件事一次办: one form, several departments, one result) and the cart
// (pick any matters, answer each one's situation questions, one merged form, one order).
import { answers, busy, fieldErrors, focusFirstError, formViewer, labelsOf, put } from "./portal-common.js";

const { api, el, say, describe } = OneWindow;

const STATES = { done: "已办结（准予）", refused: "不予批准", in_progress: "办理中", failed: "转人工处理",
                 withdrawn: "已撤回", not_started: "未能开始", not_selected: "本次未选", waiting_for_earlier: "等待前序事项",
                 skipped: "未办理" };
const OUTCOMES = { approve: "全部准予", reject: "均未准予", partial: "部分准予" };

const state = { identity: null, schema: null, send: null, matters: [], guides: {} };

export const startCart = () => OneWindow.page(start);

async function start() {
  const [bundles, matters, identity] = await Promise.all([api("/api/bundles"), api("/api/matters"), api("/api/me/identity")]);
  state.identity = identity;
  state.guides = Object.fromEntries(matters.map((m) => [m.code, m.guide || {}]));
  const bundleCodes = new Set(bundles.map((b) => b.code));
  state.matters = matters.filter((m) => !bundleCodes.has(m.code) && m.code !== "cart" && m.version);
  document.getElementById("bundles").replaceChildren(...bundles.filter((b) => b.code !== "cart").map((b) =>
    el("li", { class: "card", "data-bundle": b.code },
      el("h3", {}, b.name),
      el("p", { class: "muted" }, `包含：${b.members.map((m) => m.name).join("、")}`),
      el("p", {}, `承诺时限：${b.promised_days} 个工作日`),
      el("button", { type: "button", onclick: () => openBundle(b) }, `一表申请：${b.name}`))));
  document.getElementById("cart-matters").append(...state.matters.map((m) => el("label", { class: "option" },
    el("input", { type: "checkbox", name: "matter", value: m.code }), ` ${m.name}`)));
  document.getElementById("cart-form").addEventListener("click", openCart);
  document.getElementById("order").addEventListener("click", () => state.send && state.send());
  const asked = new URLSearchParams(location.search).get("bundle");  // from a bundle's guide: 在线申办
  const bundle = bundles.find((b) => b.code === asked);
  if (bundle) await openBundle(bundle);
}

// 秒填 for myself: what the registry fills in each chosen matter's form (one for a person).
async function own(codes) {
  if (!state.identity.verified) return {};
  const forMe = codes.filter((code) => (state.guides[code].subject || [{ person: "id_number" }]).some((p) => "person" in p));
  const filled = await Promise.all(forMe.map((code) => api(`/api/matters/${encodeURIComponent(code)}/prefill`)));
  return Object.assign({}, ...filled.map((prefill) => prefill.data));
}

async function openBundle(bundle) {
  document.getElementById("filling-title").textContent = `填写：${bundle.name}`;
  document.getElementById("situations").replaceChildren();
  document.getElementById("cart-materials").replaceChildren();
  await showForm(bundle.form, [bundle.code]);
  state.send = () => send(`/api/bundles/${encodeURIComponent(bundle.code)}/applications`, (data) => ({ data }));
}

function chosenMatters() {
  return [...document.querySelectorAll("#cart-matters input:checked")].map((input) => input.value);
}

async function openCart() {
  const matters = chosenMatters();
  document.getElementById("cart-errors").replaceChildren();
  if (!matters.length) {
    say("请先选择要办理的事项", "error");
    return;
  }
  try {
    const form = await api("/api/cart/form", { method: "POST", body: { matters } });
    document.getElementById("filling-title").textContent = `填写：${matters.length} 个事项合并为一张表`;
    situations(matters);
    await materials(matters);
    await showForm(form, matters);
    state.send = () => send("/api/cart/orders", (data) => ({ matters, data }));
  } catch (problem) {
    say(describe(problem), "error");  // why these matters cannot go together, next to the choice
    document.getElementById("cart-errors").replaceChildren(...fieldErrors(problem, { matters: "所选事项" }));
  }
}

function situations(matters) {
  const box = document.getElementById("situations");
  box.replaceChildren(...state.matters.filter((m) => matters.includes(m.code) && (m.guide.scenarios || []).length)
    .map((m) => el("fieldset", { class: "question", "data-matter": m.code }, el("legend", {}, m.name),
      m.guide.scenarios.map((q) => el("fieldset", { class: "question" }, el("legend", {}, q.question),
        Object.entries(q.options).map(([value, words], index) => el("label", { class: "option" },
          el("input", { type: "radio", name: `${m.code}.${q.id}`, value, checked: index === 0 }), ` ${words}`)))))));
  box.onchange = () => materials(matters);
}

function situationAnswers(matters) {
  const chosen = Object.fromEntries(matters.map((code) => [code, {}]));
  for (const input of document.querySelectorAll("#situations input:checked")) {
    const [code, question] = input.name.split(".");
    chosen[code][question] = input.value;
  }
  return chosen;
}

async function materials(matters) {
  try {
    const lists = await api("/api/cart/materials", { method: "POST", body: { matters, answers: situationAnswers(matters) } });
    document.getElementById("cart-materials").replaceChildren(...lists.map((list) => el("li", {},
      el("strong", {}, list.name), "：", list.materials.map((m) => m.name).join("、") || "无需提交材料")));
  } catch (problem) {
    say(describe(problem), "error");
  }
}

async function showForm(schema, codes) {
  document.getElementById("filling").hidden = false;
  document.getElementById("answer").hidden = true;
  document.getElementById("errors").replaceChildren();
  state.schema = schema;
  state.form = await formViewer(document.getElementById("form"), schema, await own(codes));
  document.getElementById("filling").scrollIntoView();
}

async function send(path, body) {
  const button = document.getElementById("order");
  if (button.disabled) return;  // one order per press, however fast the second one comes
  const { data, errors } = state.form.submit();
  document.getElementById("errors").replaceChildren();
  if (Object.keys(errors).length) {
    say("表单还有未填或填错的项目，请检查标红处", "error");
    focusFirstError(document.getElementById("form"));
    return;
  }
  busy(button, true, "提交");
  try {
    const status = await api(path, { method: "POST", body: body(answers(data)) });
    show(status);
  } catch (problem) {
    if (problem.status === 422) document.getElementById("errors").replaceChildren(
      ...fieldErrors(problem, labelsOf(state.schema)));
    say(describe(problem), "error");
  } finally {
    busy(button, false, "提交");
  }
}


function show(status) {
  document.getElementById("filling").hidden = true;
  const answer = document.getElementById("answer");
  put(answer,
    el("h2", {}, status.outcome ? `${status.name}：${OUTCOMES[status.outcome] || status.outcome}` : `${status.name}：已受理`),
    el("p", {}, `办件编号：${status.tracking_no}`),
    el("ul", { class: "members" }, status.members.map((m) => el("li", { "data-matter": m.matter },
      el("strong", {}, m.name), ` ${m.department_name || ""}：${STATES[m.state] || m.state}`,
      m.result_no ? `（${m.result_no}）` : "",
      (m.reasons || []).length ? el("span", { class: "muted" }, ` ${m.reasons.join("；")}`) : null))),
    el("p", {}, el("a", { href: `/portal/applications/${encodeURIComponent(status.reference)}` }, "查看办件详情")));
  answer.hidden = false;
  answer.dataset.outcome = status.outcome || status.status;
  answer.focus();
  say("已提交", "ok");
}
