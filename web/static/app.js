// The pages' one way to the API: the bearer token from the login, kept for this tab
// (sessionStorage); a 401 sends the person to the login page. Errors are the API's
// problems (RFC 9457), shown in Chinese where the page knows the words.
const OneWindow = (() => {
  const TOKEN = "onewindow.token";
  const USER = "onewindow.user";

  class Problem extends Error {
    constructor(status, body) {
      super((body && (body.detail || body.title)) || `HTTP ${status}`);
      this.status = status;
      this.body = body || {};
    }
  }

  // body: sent as JSON; form: a FormData (a file upload), sent as multipart; blob: the answer's
  // bytes as a Blob (a PDF, an uploaded file) instead of JSON.
  async function api(path, { method = "GET", body, form, blob = false } = {}) {
    const headers = { Accept: "application/json" };
    const token = sessionStorage.getItem(TOKEN);
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const payload = form !== undefined ? form : body === undefined ? undefined : JSON.stringify(body);
    const reply = await fetch(path, { method, headers, body: payload });
    if (reply.status === 401 && !path.startsWith("/api/auth/login")) {
      const hadToken = Boolean(sessionStorage.getItem(TOKEN));  // signed in, and no longer: it ran out
      sessionStorage.removeItem(TOKEN);
      location.href = `/login?next=${encodeURIComponent(location.pathname + location.search)}${hadToken ? "&expired=1" : ""}`;
      throw new Problem(401, { detail: "请先登录" });
    }
    if (blob && reply.ok) return reply.blob();
    const text = await reply.text();
    const data = text ? JSON.parse(text) : null;
    if (!reply.ok) throw new Problem(reply.status, data);
    return data;
  }

  async function login(username, password) {
    const answer = await api("/api/auth/login", { method: "POST", body: { username, password } });
    sessionStorage.setItem(TOKEN, answer.token);
    sessionStorage.setItem(USER, JSON.stringify(answer.user));
    return answer.user;
  }

  async function logout() {
    try { await api("/api/auth/logout", { method: "POST" }); } finally {
      sessionStorage.removeItem(TOKEN);
      location.href = "/login";
    }
  }

  function user() {
    const saved = sessionStorage.getItem(USER);
    return saved ? JSON.parse(saved) : null;
  }

  // Where the login page may send a person back to: only a path on this site.
  function safeNext(next) {
    return next && next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\") ? next : "/";
  }

  // A page's start: signed in, else to the login page; anything that goes wrong (no right
  // to it, nothing there) is said in the page instead of leaving an empty shell.
  async function page(start) {
    if (!requireLogin()) return;
    try {
      await start();
    } catch (problem) {
      if (problem instanceof Problem && problem.status === 401) return;  // on its way to the login page
      const main = document.querySelector("main");
      main.prepend(el("p", { class: "error card", role: "alert", id: "page-error" }, describe(problem)));
      say(describe(problem), "error");
    }
  }

  // A page that needs a signed-in person: to the login page otherwise.
  function requireLogin() {
    if (!sessionStorage.getItem(TOKEN)) {
      location.href = `/login?next=${encodeURIComponent(location.pathname + location.search)}`;
      return false;
    }
    return true;
  }

  // A problem in words a person reads: the API's plain Chinese ``message``, then its detail
  // where the detail says more in Chinese (its English gloss for developers left out).
  const STATUS_WORDS = { 400: "请求有误", 403: "没有权限", 404: "未找到", 409: "与当前状态冲突", 413: "文件过大",
                         422: "填写有误", 429: "操作过于频繁，请稍后再试" };
  function describe(problem) {
    if (!(problem instanceof Problem)) return String(problem);
    const words = problem.body.message || STATUS_WORDS[problem.status] || "服务暂时不可用";
    const detail = plain(problem.body.detail);
    return /[\u4e00-\u9fff]/.test(detail) && detail !== words ? `${words}：${detail}` : words;
  }

  // A message as a person reads it: the API's field errors say it in Chinese first and add an
  // English gloss for developers ("身份证号码应为18位 resident ID must have 18 characters").
  function plain(text) {
    const shown = String(text || "").replace(/\s*[(（]?[\x00-\x7f]*[A-Za-z][\x00-\x7f]*[)）]?\s*$/, "").trim();
    return /[\u4e00-\u9fff]/.test(shown) ? shown : String(text || "");
  }

  // Times as people of the service area read them: Beijing time, whatever the device's zone.
  const BEIJING = { timeZone: "Asia/Shanghai" };
  function when(iso) {
    return iso ? new Date(iso).toLocaleString("zh-CN", { ...BEIJING, hour12: false }) : "";
  }
  function day(iso) {
    return iso ? new Date(iso).toLocaleDateString("zh-CN", BEIJING) : "";
  }
  // A deadline (``due_at``: the first moment after the last allowed day) as that last day.
  function lastDay(due) {
    return due ? new Date(Date.parse(due) - 1).toLocaleDateString("zh-CN", BEIJING) : "";
  }

  function say(text, kind = "info") {
    const status = document.getElementById("status");
    if (!status) return;
    status.textContent = text;
    status.dataset.kind = kind;
  }

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  // Where a person lands after signing in without a page to go back to: their own area.
  const HOMES = { applicant: "/portal/mine", agent: "/portal/mine", clerk: "/clerk/queue",
                  supervisor: "/supervision", analyst: "/analyst/matters", admin: "/analyst/matters" };
  function home(role) { return HOMES[role] || "/portal"; }

  // 适老化: large text for the whole site, remembered on this device.
  const LARGE = "onewindow.large-text";
  function applyLargeText(on) {
    document.documentElement.classList.toggle("large-text", on);
    const toggle = document.getElementById("large-text");
    if (toggle) {
      toggle.setAttribute("aria-pressed", String(on));
      toggle.textContent = on ? "标准字号" : "大字模式";
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const who = document.getElementById("who");
    const me = user();
    if (who && me) who.textContent = me.display_name || me.username;
    const out = document.getElementById("logout");
    if (out) { out.hidden = !me; out.addEventListener("click", logout); }
    const signIn = document.getElementById("login-link");
    if (signIn) {
      signIn.hidden = Boolean(me) || location.pathname === "/login";
      signIn.href = `/login?next=${encodeURIComponent(location.pathname + location.search)}`;
    }
    applyLargeText(localStorage.getItem(LARGE) === "1");
    const toggle = document.getElementById("large-text");
    if (toggle) toggle.addEventListener("click", () => {
      const on = !document.documentElement.classList.contains("large-text");
      localStorage.setItem(LARGE, on ? "1" : "0");
      applyLargeText(on);
    });
    for (const link of document.querySelectorAll("[data-roles]")) {  // what this role cannot use is not offered
      link.hidden = !(me && link.dataset.roles.split(" ").includes(me.role));
    }
  });

  return { api, login, logout, user, home, requireLogin, page, safeNext, describe, plain, say, el, when, day, lastDay,
           Problem };
})();
