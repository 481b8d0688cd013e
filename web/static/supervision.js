// The supervision dashboard's building blocks (电子监察): a figure is a Chart.js chart with,
// under it, the table it is drawn from (what a screen reader and a spreadsheet read) and a
// CSV export; a list is a table with its CSV. Names, never codes, in what a person reads.
const { el } = OneWindow;

export const COLOURS = { green: "#1a7f37", yellow: "#d4a72c", red: "#d92d20" };
const SERIES = ["#8c959f", "#0b4f8a", "#54aeff", "#1a7f37", "#d4a72c", "#d92d20"];

if (window.Chart) {
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.animation = false;  // drawn at once: what the table says is what is shown
}

// Beijing time (app.js); a dash in a table cell that has none.
export const dateTime = (value) => OneWindow.when(value) || "—";
export const lastDay = (due) => OneWindow.lastDay(due) || "—";

export function percent(part, whole) {
  return whole ? `${Math.round((part / whole) * 100)}%` : "—";
}

// A figure's or a list's frame, made once in its placeholder (<div id=...>).
function frame(id, title, note) {
  const holder = document.getElementById(id);
  for (const canvas of holder.querySelectorAll("canvas")) Chart.getChart(canvas)?.destroy();  // drawn again
  const section = el("section", { class: "card figure", "aria-labelledby": `${id}-title` },
    el("h2", { id: `${id}-title` }, title),
    note ? el("p", { class: "muted" }, note) : null);
  holder.replaceChildren(section);
  return section;
}

// columns: [{ label, value: row => text or number, number: true }]; a row may carry data (data-* attributes).
// caption: the table's own title; without one, the section's heading names it.
function table(id, caption, columns, rows, empty) {
  const body = rows.length ? rows.map((row) => el("tr", row.attributes || {},
    columns.map((column, index) => {
      const value = column.value(row);
      const cell = value instanceof Node ? value : value === null || value === undefined ? "—" : String(value);
      return index === 0 ? el("th", { scope: "row" }, cell) : el("td", { class: column.number ? "number" : "" }, cell);
    })))
    : [el("tr", {}, el("td", { colspan: columns.length, class: "muted" }, empty))];
  const named = caption ? {} : { "aria-labelledby": `${id}-title` };
  return el("table", { id: `${id}-table`, class: "figure-table", ...named },
    caption ? el("caption", {}, caption) : null,
    el("thead", {}, el("tr", {}, columns.map((column) => el("th", { scope: "col", class: column.number ? "number" : "" },
                                                              column.label)))),
    el("tbody", {}, body));
}

// The table as CSV (UTF-8 with a BOM, so spreadsheet programs read the Chinese), as it reads.
export function tableCsv(tableNode) {
  const quote = (text) => (/[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text);
  const lines = [...tableNode.querySelectorAll("thead tr, tbody tr")]
    .filter((row) => !row.querySelector("td[colspan]"))
    .map((row) => [...row.children].map((cell) => quote(cell.textContent.trim())).join(","));
  return `\ufeff${lines.join("\r\n")}\r\n`;
}

// Save text or a Blob as a file the browser downloads.
export function download(content, filename, type = "text/csv;charset=utf-8") {
  const blob = content instanceof Blob ? content : new Blob([content], { type });
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function csvButton(id, title, tableNode, filename) {
  return el("button", { type: "button", class: "secondary csv", id: `${id}-csv`,
                        onclick: () => download(tableCsv(tableNode), filename) }, `导出“${title}”表格（CSV）`);
}

// A list: a table and its CSV, no chart.
export function list(id, { title, note, columns, rows, empty = "没有记录", filename }) {
  const section = frame(id, title, note);
  const tableNode = table(id, null, columns, rows, empty);
  section.append(el("div", { class: "table-scroll" }, tableNode),
                 el("p", { class: "toolbar" }, csvButton(id, title, tableNode, filename || `${id}.csv`)));
  section.dataset.rows = String(rows.length);
  return section;
}

// A figure: a bar chart (labels: one per row; series: [{ label, value: row => number, colour }])
// over the table of the same rows. horizontal: bars left to right (long names read better);
// counted: whole numbers (cases, reviews), so the axis shows no fractions.
export function figure(id, { title, note, columns, rows, label, series, stacked = false, horizontal = false,
                             counted = false, empty = "没有数据", filename, unit = "" }) {
  const section = frame(id, title, note);
  const canvas = el("canvas", { id: `${id}-chart`, role: "img",
                                "aria-label": `${title}：柱状图，数字见下方表格` });
  const height = horizontal ? Math.max(160, 40 + rows.length * (stacked ? 26 : 14 * series.length + 10)) : 280;
  const box = el("div", { class: "chart-box" }, canvas);
  box.style.height = `${height}px`;
  const tableNode = table(id, `${title}（图表数据）`, columns, rows, empty);
  section.append(box, el("div", { class: "table-scroll" }, tableNode),
                 el("p", { class: "toolbar" }, csvButton(id, title, tableNode, filename || `${id}.csv`)));
  if (rows.length) {
    const scale = { stacked, beginAtZero: true, title: unit ? { display: true, text: unit } : undefined,
                    ticks: counted ? { precision: 0 } : {} };
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: rows.map(label),
        datasets: series.map((one, index) => ({
          label: one.label, data: rows.map(one.value),
          backgroundColor: one.colour || SERIES[index % SERIES.length], maxBarThickness: 28 })),
      },
      options: {
        indexAxis: horizontal ? "y" : "x", maintainAspectRatio: false, responsive: true,
        scales: horizontal ? { x: scale, y: { stacked } } : { x: { stacked }, y: scale },
        plugins: { legend: { position: "bottom" } },
      },
    });
    canvas.dataset.drawn = String(rows.length);
  } else {
    box.hidden = true;
  }
  section.dataset.rows = String(rows.length);
  return section;
}

// A colour as words and a marker: never the colour alone.
export function colourBadge(colour, words) {
  return el("span", { class: `badge colour-${colour}` }, words || colour);
}
