// 办事大厅: find a matter by everyday words (GET /api/matters/search, public); each hit a
// card with its name, department, promised time limit and whether it is decided at once.
const { api, el, say, describe } = OneWindow;

export function startSearch() {
  const form = document.getElementById("search");
  const box = document.getElementById("q");
  // a link may carry anything: the same words the box would take (trimmed, at most its 100 characters)
  const query = new URLSearchParams(location.search).get("q");
  const words = Array.from((query || "").trim()).slice(0, box.maxLength).join("");  // whole characters, never half an emoji
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const q = box.value.trim();
    history.replaceState(null, "", q ? `?q=${encodeURIComponent(q)}` : location.pathname);
    search(q);
  });
  if (query !== null) {  // ?q= of blanks: the hint, as for an empty box
    box.value = words;
    search(words);
  }
}

async function search(q) {
  const list = document.getElementById("hits");
  const summary = document.getElementById("search-summary");
  if (!q) {
    summary.textContent = "请输入要找的事项，例如“老人补贴”";
    list.replaceChildren();
    return;
  }
  try {
    const [hits, catalogue] = await Promise.all([
      api(`/api/matters/search?q=${encodeURIComponent(q)}`), api("/api/matters")]);
    const guides = Object.fromEntries(catalogue.map((m) => [m.code, m]));
    summary.textContent = hits.length ? `找到 ${hits.length} 个事项` : "没有找到相关事项，换个说法试试";
    list.replaceChildren(...hits.map((hit) => card(hit, guides[hit.code])));
    document.body.dataset.searched = q;
  } catch (problem) {
    summary.textContent = describe(problem);
    list.replaceChildren();
    say(describe(problem), "error");
  }
}

function card(hit, matter) {
  const guide = (matter && matter.guide) || {};
  const instant = /秒批|即办/.test(guide.handling_depth || "");
  return el("li", { class: "card hit", "data-matter": hit.code },
    el("h2", {}, el("a", { href: `/portal/matters/${encodeURIComponent(hit.code)}` }, hit.name)),
    instant ? el("span", { class: "badge good" }, "即办 · 秒批") : null,
    el("p", { class: "muted" }, hit.department_name || guide.department_name || ""),
    matter ? el("p", {}, `承诺时限：${matter.promised_days} 个工作日`,
                guide.fee === 0 || guide.fee === "0" ? "　不收费" : "") : null);
}
