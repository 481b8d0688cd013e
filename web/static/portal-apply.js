// 在线申办: whom for (本人, a company I act for, a principal who authorised me — 授权代办), the
// form in form-js's viewer filled from the registries (秒填: GET /api/matters/{code}/prefill),
// the materials uploaded (POST /api/uploads), submit (POST /api/applications), and the
// answer on screen: the decision with its reasons (秒批) or 已受理 with the tracking number.
import { answers, busy, cartPath, lastDay, put, fieldErrors, formViewer, focusFirstError, labelsOf, reasonList, resultTable, upload } from "./portal-common.js";

const { api, el, say, describe, user } = OneWindow;

export const startApplying = (code) => OneWindow.page(() => start(code));

const state = { code: null, matter: null, form: null, uploads: new Map(), pending: new Set() };

async function start(code) {
  state.code = code;
  const elsewhere = await cartPath(code);  // 一件事 and the cart are applied for on the 政务超市 page
  if (elsewhere) {
    location.replace(elsewhere);
    return;
  }
  const [matter, identity, authorisations] = await Promise.all([
    api(`/api/matters/${encodeURIComponent(code)}`), api("/api/me/identity"), api("/api/authorisations")]);
  state.matter = matter;
  document.getElementById("filling").hidden = false;  // a matter that is not there shows only the message
  document.title = `${matter.name} · 在线申办 · 一网通办`;
  document.getElementById("matter-name").textContent = `在线申办：${matter.name}`;
  const whom = document.getElementById("whom");
  whom.replaceChildren(...choices(matter, identity, authorisations));
  if (!whom.options.length) {
    whom.append(el("option", { value: "" }, "没有可为其申请的对象"));
    whom.disabled = true;
  }
  const asked = new URLSearchParams(location.search).get("for");  // e.g. ?for=a:7 from another page
  if (asked && [...whom.options].some((o) => o.value === asked)) whom.value = asked;
  whom.addEventListener("change", () => fill());
  materials(matter.guide || {});
  document.getElementById("submit").addEventListener("click", submit);
  await fill();
}

function parties(guide) {
  const kinds = new Set((guide.subject || [{ person: "id_number" }]).map((p) => ("company" in p ? "company" : "person")));
  return kinds;
}

function choices(matter, identity, authorisations) {
  const kinds = parties(matter.guide || {});
  const me = user() || {};
  const options = [];
  if (kinds.has("person") && identity.verified) {
    options.push(el("option", { value: "self" }, `本人（${identity.full_name}）`));
  }
  if (kinds.has("company")) {
    for (const company of identity.companies || []) {
      options.push(el("option", { value: `c:${company.credit_code}` },
        `${company.company_name}（${company.role === "legal_representative" ? "法定代表人" : "经办人"}）`));
    }
  }
  if (kinds.has("person")) {
    for (const a of authorisations) {
      const received = a.principal_id_number !== identity.resident_id && a.in_force
        && (a.agent === me.username || (me.role === "agent" && a.outlet));
      if (received && (!a.matters || a.matters.includes(matter.code))) {
        options.push(el("option", { value: `a:${a.id}` },
          `代办：${masked(a.principal_id_number)}（${a.document_ref || "网上授权"}）`));
      }
    }
  }
  return options;
}

function masked(id) {
  return id.length > 10 ? `${id.slice(0, 6)}${"*".repeat(id.length - 10)}${id.slice(-4)}` : id;
}

function prefillQuery(choice) {
  if (choice.startsWith("c:")) return `?subject=${encodeURIComponent(choice.slice(2))}`;
  if (choice.startsWith("a:")) return `?authorisation=${encodeURIComponent(choice.slice(2))}`;
  return "";
}

async function fill() {
  const choice = document.getElementById("whom").value;
  const note = document.getElementById("prefill-note");
  let data = {};
  if (choice) {
    try {
      const prefill = await api(`/api/matters/${encodeURIComponent(state.code)}/prefill${prefillQuery(choice)}`);
      data = prefill.data;
      note.textContent = Object.keys(data).length ? "已根据人口库、企业登记等信息自动填写（秒填），请核对。" : "";
    } catch (problem) {
      note.textContent = describe(problem);
    }
  }
  const draft = takeDraft(choice);
  if (draft) {
    data = { ...data, ...draft.data };
    note.textContent = "已恢复您重新登录前填写的内容，请核对；材料请重新上传。";
  }
  state.form = await formViewer(document.getElementById("form"), state.matter.form, data);
  document.body.dataset.prefilled = choice || "none";
}

// What was typed when the sign-in ran out (a 401 on submit sends the person to the login
// page): kept in this tab for the same person, the same matter and the same 为谁申请, and
// put back once, after signing in again.
const DRAFT = "onewindow.portal.draft";

function keepDraft(data) {
  const me = user() || {};
  sessionStorage.setItem(DRAFT, JSON.stringify({ user: me.username, code: state.code,
    whom: document.getElementById("whom").value, data }));
}

function takeDraft(choice) {
  const saved = sessionStorage.getItem(DRAFT);
  if (!saved) return null;
  sessionStorage.removeItem(DRAFT);
  const draft = JSON.parse(saved);
  const me = user() || {};
  return draft.user === me.username && draft.code === state.code && draft.whom === choice ? draft : null;
}

function materials(guide) {
  const needed = (guide.materials || []).filter((m) => m.source === "applicant");
  document.getElementById("uploads-card").hidden = !needed.length;
  document.getElementById("uploads").replaceChildren(...needed.map((m, index) => {
    const id = `upload-${index}`;
    const shown = el("span", { class: "muted", id: `${id}-done` }, m.required ? "必需" : "视情况提供");
    const input = el("input", { type: "file", id, accept: ".pdf,.jpg,.jpeg,.png,.ofd",
                                "aria-describedby": `${id}-done` });
    input.addEventListener("change", () => {
      const file = input.files[0];
      state.uploads.delete(m.name);  // the file chosen now is the one that counts
      delete shown.dataset.uploaded;
      if (!file) {
        shown.textContent = m.required ? "必需" : "视情况提供";
        return;
      }
      shown.textContent = "正在上传…";
      const sending = upload(file).then((answer) => {
        if (input.files[0] !== file) return;  // another file was chosen meanwhile
        state.uploads.set(m.name, answer.id);
        shown.textContent = `已上传：${answer.name}`;
        shown.dataset.uploaded = answer.id;
        say(`${m.name}已上传`, "ok");
      }, (problem) => {
        if (input.files[0] !== file) return;
        shown.textContent = describe(problem);
        say(`${m.name}：${describe(problem)}`, "error");
      }).finally(() => state.pending.delete(sending));
      state.pending.add(sending);
    });
    return el("li", {}, el("label", { for: id }, m.name), input, shown);
  }));
}

async function submit() {
  const button = document.getElementById("submit");
  const errors = document.getElementById("errors");
  if (button.disabled) return;
  errors.replaceChildren();
  const { data, errors: formErrors } = state.form.submit();
  if (Object.keys(formErrors).length) {
    say("表单还有未填或填错的项目，请检查标红处", "error");
    focusFirstError(document.getElementById("form"));
    return;
  }
  busy(button, true, "提交申请");
  try {
    if (state.pending.size) {  // a material still on its way: it is part of this application
      say("正在等待材料上传完成…");
      await Promise.allSettled([...state.pending]);
    }
    const application = await api("/api/applications", { method: "POST", body: {
      matter: state.code, data: answers(data), uploads: [...state.uploads.values()] } });
    show(application);
  } catch (problem) {
    if (problem.status === 401) {  // on its way to the login page: what was typed comes back after it
      keepDraft(data);
      return;
    }
    if (problem.status === 422) errors.replaceChildren(...fieldErrors(problem, { ...labelsOf(state.matter.form),
      uploads: "上传的材料" }));
    say(describe(problem), "error");
    busy(button, false, "提交申请");
  }
}


function show(application) {
  document.getElementById("filling").hidden = true;
  const answer = document.getElementById("answer");
  const decided = application.status === "completed" && application.outcome;
  const detail = el("p", {}, el("a", { href: `/portal/applications/${encodeURIComponent(application.reference)}` },
    "查看办件详情和办理进度"));
  if (decided) {
    const approved = application.outcome === "approve";
    put(answer,
      el("h2", { class: approved ? "good" : "bad" }, approved ? "已批准（秒批）" : "不予批准"),
      el("p", {}, `办件编号：${application.tracking_no}`),
      resultTable(application),
      el("h3", {}, "理由"),
      reasonList(application) || el("p", { class: "muted" }, "（无）"),
      detail);
  } else {
    put(answer,
      el("h2", {}, "已受理"),
      application.notice ? el("p", {}, application.notice) : null,
      el("dl", { class: "facts" },
        el("dt", {}, "办件编号"), el("dd", { id: "tracking-no" }, application.tracking_no),
        el("dt", {}, "承诺办结日期"), el("dd", {}, application.due_at ? lastDay(application.due_at) : "计时暂停中")),
      el("p", { class: "muted" }, "可在“我的办件”随时查看办理进度。"),
      detail);
  }
  answer.hidden = false;
  answer.dataset.outcome = application.outcome || application.status;
  answer.focus();
  say(decided ? "已作出决定" : "提交成功，已受理", "ok");
}
