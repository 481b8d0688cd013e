// What the workbench pages share: dates in Beijing time, a deadline badge, and a file
// fetched with the bearer token shown in the page. Statuses, outcomes, colours, sources come
// in the API's own words (``*_label``, engine/words.py).
const { api, el } = OneWindow;

export { answers, choicesOf, labelsOf } from "./forms.js";

export const { when, lastDay } = OneWindow;  // Beijing time (app.js)

// The deadline in colour (电子监察) with its words, so colour is never the only sign.
export function deadlineBadge(colour, words, dueAt) {
  const name = colour || "green";
  return el("span", { class: `deadline-badge ${name}`, "data-colour": name },
    `${words || ""}${dueAt ? ` · ${lastDay(dueAt)}` : ""}`);
}

// Each cell of a table's body named by its column's heading (data-label), so a narrow screen
// can show every row as a card of "heading value" lines (workbench.css, table.cards).
export function labelCells(table) {
  const headings = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
  for (const row of table.querySelectorAll("tbody tr")) {
    [...row.children].forEach((cell, index) => {
      if (!cell.hasAttribute("colspan") && headings[index]) cell.dataset.label = headings[index];
    });
  }
}

// A file of the API (an upload's bytes, a receipt) as a blob: URL the page can show or open.
export async function fileUrl(path) {
  return URL.createObjectURL(await api(path, { blob: true }));
}

// A value as a person reads it: lists joined, objects as "key: value" lines.
export function shown(value) {
  if (value === null || value === undefined || value === "") return "—";
  if (Array.isArray(value)) return value.map(shown).join("、");
  if (typeof value === "object") return Object.entries(value).map(([k, v]) => `${k}: ${shown(v)}`).join("；");
  if (value === true) return "是";
  if (value === false) return "否";
  return String(value);
}
