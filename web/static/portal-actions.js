// What an applicant does on an application: hand in the materials the window asked for
// (补正, POST /api/applications/{ref}/supplement) and rate a finished one (好差评, POST …/rating).
import { upload } from "./portal-common.js";

const { api, el, say, describe, user } = OneWindow;

const LEVELS = [[5, "非常满意"], [4, "满意"], [3, "基本满意"], [2, "不满意"], [1, "非常不满意"]];

// The actions open on this application (`detail`: GET /api/applications/{ref}), or null.
export function actions(detail, onDone) {
  const supplement = supplementForm(detail, onDone);
  const rating = ratingForm(detail, onDone);
  return supplement || rating ? el("div", { class: "actions" }, supplement, rating) : null;
}

function waitingForMe(detail) {
  return (detail.steps || []).some((s) => s.candidate_role === "applicant" && s.status === "open");
}

function requested(detail) {
  const asked = [...(detail.steps || [])].reverse()
    .find((s) => s.result && Array.isArray(s.result.missing_materials) && s.result.missing_materials.length);
  if (asked) return asked.result.missing_materials;
  return (detail.materials && detail.materials.requested) || [];
}

function supplementForm(detail, onDone) {
  if (!waitingForMe(detail)) return null;
  const names = requested(detail);
  const references = new Map();
  const key = detail.reference;
  const rows = names.map((name, index) => {
    const id = `supplement-${key}-${index}`;
    const shown = el("span", { class: "muted", id: `${id}-done` }, "未上传");
    const input = el("input", { type: "file", id, accept: ".pdf,.jpg,.jpeg,.png,.ofd", "aria-describedby": `${id}-done` });
    input.addEventListener("change", async () => {
      if (!input.files[0]) return;
      shown.textContent = "正在上传…";
      try {
        const answer = await upload(input.files[0]);
        references.set(name, answer.reference);
        shown.textContent = `已上传：${answer.name}`;
      } catch (problem) {
        references.delete(name);
        shown.textContent = describe(problem);
      }
    });
    return el("li", {}, el("label", { for: id }, name), input, shown);
  });
  const send = el("button", { type: "button" }, "提交补正材料");
  send.addEventListener("click", async () => {
    const missing = names.filter((name) => !references.has(name));
    if (missing.length) {
      say(`还需上传：${missing.join("、")}`, "error");
      return;
    }
    send.disabled = true;
    try {
      await api(`/api/applications/${encodeURIComponent(detail.reference)}/supplement`, { method: "POST",
        body: { materials: names.map((name) => ({ name, reference: references.get(name) })) } });
      say("补正材料已提交，办理继续计时", "ok");
      await onDone();
    } catch (problem) {
      say(describe(problem), "error");
      send.disabled = false;
    }
  });
  return el("section", { class: "supplement", "aria-label": "补正材料" },
    el("h3", {}, "需要补正的材料（一次性告知）"),
    el("ul", { class: "materials" }, rows), send);
}

function ratingForm(detail, onDone) {
  const me = user() || {};
  const rated = (detail.history || []).some((e) => e.kind === "rating");
  if (detail.status !== "completed" || me.role !== "applicant") return null;
  if (rated) return el("p", { class: "muted rated" }, "已评价，感谢您的反馈。");
  const name = `level-${detail.reference}`;
  const comment = el("textarea", { id: `comment-${detail.reference}`, rows: 2, maxlength: 1000 });
  const send = el("button", { type: "button", class: "secondary" }, "提交评价");
  const form = el("section", { class: "rating", "aria-label": "好差评" },
    el("fieldset", {}, el("legend", {}, "对这次办理满意吗？"),
      LEVELS.map(([level, words]) => el("label", { class: "option" },
        el("input", { type: "radio", name, value: level, checked: level === 5 }), ` ${words}`))),
    el("label", { for: comment.id }, "意见（选填）"), comment, send);
  send.addEventListener("click", async () => {
    const level = Number(form.querySelector(`input[name="${name}"]:checked`).value);
    send.disabled = true;
    try {
      await api(`/api/applications/${encodeURIComponent(detail.reference)}/rating`, { method: "POST",
        body: { level, comment: comment.value.trim() } });
      say("评价已提交，感谢您的反馈", "ok");
      await onDone();
    } catch (problem) {
      if (problem.status === 409) {  // rated meanwhile (in another tab): the page shows it
        say("这次办理已经评价过了，感谢您的反馈", "ok");
        await onDone();
        return;
      }
      say(describe(problem), "error");
      send.disabled = false;
    }
  });
  return form;
}
