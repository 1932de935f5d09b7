// Inspection reports (supervisors: their outlet; auditors: all): the figures per outlet and
// period as the service counts them from its audit log, the charts it draws (PNG, fetched with
// the bearer token as blobs and shown through object URLs), the anomaly flags with their
// sentence, figures and sessions, acknowledged with a note (audited), and the CSV download.
// The period comes from the form, or from ?from=&to=&period=&outlet= in the address.

import { api, problemText, requireUser } from "./api.js";
import { $, showError } from "./dom.js";
import { has, language, onLanguageChange, reasonText, t } from "./i18n.js";
import { startPage } from "./page.js";

const CHARTS = ["pass_rate", "reasons", "reviews"];
const PERCENTS = new Set(["rate", "peers_median", "peers_scale", "share"]);
const COLUMNS = [
  "sessions_started",
  "consent_refused",
  "card_refused",
  "passed",
  "failed",
  "sent_to_review",
  "review_approved",
  "review_rejected",
  "numbers_bound",
  "numbers_ended",
  "lockouts",
  "abandoned",
];

let user = null;
let report = null;
let flags = [];
let chartUrls = {};

function reportsError(error) {
  showError($("reports-error"), error ? problemText(error) : "");
}

function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

function query() {
  const params = new URLSearchParams({
    from: $("report-from").value,
    to: $("report-to").value,
    period: $("report-period").value,
  });
  if ($("report-outlet").value) params.set("outlet", $("report-outlet").value);
  return params;
}

function fromAddress() {
  const given = new URLSearchParams(location.search);
  const today = new Date();
  const monthAgo = new Date(today.getTime() - 30 * 86_400_000);
  $("report-from").value = given.get("from") || isoDay(monthAgo);
  $("report-to").value = given.get("to") || isoDay(today);
  if (["day", "week", "month"].includes(given.get("period"))) {
    $("report-period").value = given.get("period");
  }
  return given.get("outlet") || "";
}

function number(value, digits = 0) {
  if (value === null || value === undefined) return "–";
  return Number(value).toLocaleString(language(), {
    maximumFractionDigits: digits,
    minimumFractionDigits: 0,
  });
}

function headCells(row, withPeriod) {
  row.replaceChildren();
  const names = ["outlet", ...(withPeriod ? ["period"] : []), ...COLUMNS];
  names.push("pass_rate", "capture_median", "capture_p95", "attempts_per_success", "reasons");
  for (const name of names) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = t(`reports.col.${name}`);
    row.append(th);
  }
}

function bodyRows(body, rows, withPeriod) {
  body.replaceChildren();
  for (const row of rows) {
    const tr = document.createElement("tr");
    tr.dataset.outlet = row.outlet;
    tr.dataset.period = row.period;
    const cells = [[row.outlet_name, ""], ...(withPeriod ? [[row.period, ""]] : [])];
    for (const name of COLUMNS) cells.push([number(row[name]), name]);
    cells.push([row.pass_rate === null ? "–" : `${number(row.pass_rate * 100, 1)}%`, "pass_rate"]);
    cells.push([number(row.capture_time_s.median, 1), "capture_median"]);
    cells.push([number(row.capture_time_s.p95, 1), "capture_p95"]);
    cells.push([number(row.attempts_per_success, 2), "attempts_per_success"]);
    const reasons = Object.entries(row.failed_by_reason).map(([code, n]) => `${code} ×${n}`);
    cells.push([reasons.join("; "), "reasons"]);
    for (const [i, [text, figure]] of cells.entries()) {
      const td = document.createElement(i === 0 ? "th" : "td");
      if (i === 0) td.scope = "row";
      if (figure) td.dataset.figure = figure;
      if (figure === "reasons") {
        td.title = Object.keys(row.failed_by_reason).map(reasonText).join("\n");
      }
      td.textContent = text;
      tr.append(td);
    }
    body.append(tr);
  }
}

function renderReport() {
  if (!report) return;
  headCells($("totals-head"), false);
  bodyRows($("totals-rows"), report.totals, false);
  headCells($("rows-head"), true);
  bodyRows($("rows-rows"), report.rows, true);
  const purged = report.purged.days;
  $("report-purged").hidden = purged.length === 0;
  $("report-purged").textContent = purged.length
    ? t("reports.purged", { days: purged.length, first: purged[0], last: purged[purged.length - 1] })
    : "";
  $("report-status").textContent = t("reports.status", {
    from: report.from,
    to: report.to,
    entries: report.source.entries,
    offset: report.utc_offset,
  });
}

function percent(value) {
  return `${number(value * 100, 1)}%`;
}

// The flag's sentence in the page's language, from its kind and figures (the API's
// ``sentence`` is the English one, kept for clients without these templates).
function flagSentence(flag) {
  const key = `reports.flag.${flag.kind}.text`;
  if (!has(key)) return flag.sentence;
  const f = flag.figures;
  const names = (report && report.outlets) || {};
  const outlets = Array.isArray(f.outlets) ? f.outlets.map((o) => names[o] || o) : [];
  return t(key, {
    ...f,
    outlet: flag.outlet_name,
    rate_pct: percent(f.rate),
    peers_median_pct: percent(f.peers_median),
    share_pct: percent(f.share),
    within_h: number((f.within_s || 0) / 3600, 1),
    outlets_count: outlets.length,
    outlets_list: outlets.join(t("list.separator")),
  });
}

function figureText(value) {
  if (Array.isArray(value)) return value.join(t("list.separator"));
  if (value !== null && typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function figureList(flag) {
  const dl = document.createElement("dl");
  dl.className = "scores";
  const names = (report && report.outlets) || {};
  for (const [name, value] of Object.entries(flag.figures)) {
    const dt = document.createElement("dt");
    dt.textContent = has(`reports.figure.${name}`) ? t(`reports.figure.${name}`) : name;
    const dd = document.createElement("dd");
    if (name === "outlets") dd.textContent = figureText(value.map((o) => names[o] || o));
    else if (PERCENTS.has(name)) dd.textContent = percent(value);
    else dd.textContent = figureText(value);
    dl.append(dt, dd);
  }
  return dl;
}

function renderFlags() {
  const list = $("flag-list");
  list.replaceChildren();
  $("flags-empty").hidden = flags.length > 0;
  for (const flag of flags) {
    const li = document.createElement("li");
    li.className = `flag ${flag.acknowledged ? "acknowledged" : "open"}`;
    li.dataset.kind = flag.kind;
    li.dataset.flag = flag.id;
    const head = document.createElement("h3");
    head.textContent = `${t(`reports.flag.${flag.kind}`)} · ${flag.outlet_name}`;
    const sentence = document.createElement("p");
    sentence.className = "sentence";
    sentence.textContent = flagSentence(flag);
    li.append(head, sentence, figureList(flag));
    const sessions = document.createElement("details");
    const summary = document.createElement("summary");
    summary.textContent = t("reports.flag.sessions", { n: flag.sessions.length });
    const codes = document.createElement("p");
    codes.className = "raw";
    codes.textContent = flag.sessions.join("\n");
    sessions.append(summary, codes);
    li.append(sessions);
    if (flag.acknowledged) {
      const done = document.createElement("p");
      done.className = "notice ok";
      done.textContent = t("reports.flag.acknowledged", {
        by: flag.acknowledged.by,
        note: flag.acknowledged.note || "–",
      });
      li.append(done);
    } else {
      li.append(ackForm(flag));
    }
    list.append(li);
  }
}

function ackForm(flag) {
  const form = document.createElement("form");
  form.className = "ack";
  form.noValidate = true;
  const label = document.createElement("label");
  const id = `ack-${flag.id}`;
  label.htmlFor = id;
  label.textContent = t("reports.flag.note");
  const note = document.createElement("input");
  note.id = id;
  note.maxLength = 500;
  const button = document.createElement("button");
  button.type = "submit";
  button.className = "btn secondary";
  button.textContent = t("reports.flag.ack");
  form.append(label, note, button);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    try {
      const params = new URLSearchParams({ from: report.from, to: report.to });
      await api(`/flags/${flag.id}/ack?${params}`, { method: "POST", json: { note: note.value } });
      await loadFlags();
    } catch (error) {
      reportsError(error);
      button.disabled = false;
    }
  });
  return form;
}

async function loadCharts() {
  for (const url of Object.values(chartUrls)) URL.revokeObjectURL(url);
  chartUrls = {};
  const params = query();
  params.set("lang", language());
  await Promise.all(
    CHARTS.map(async (kind) => {
      const img = $(`chart-${kind}`);
      const blob = await api(`/reports/charts/${kind}.png?${params}`, { blob: true });
      chartUrls[kind] = URL.createObjectURL(blob);
      img.src = chartUrls[kind];
      img.dataset.lang = language();
    }),
  );
}

async function loadFlags() {
  const params = query();
  params.delete("period");
  flags = (await api(`/flags?${params}`)).flags;
  renderFlags();
}

function fillOutlets(wanted) {
  const select = $("report-outlet");
  if (user.role !== "auditor" && user.outlet) return; // an outlet's supervisor: theirs only
  $("report-outlet-field").hidden = false;
  for (const [id, name] of Object.entries(report.outlets)) {
    if (select.querySelector(`option[value="${id}"]`)) continue;
    const option = document.createElement("option");
    option.value = id;
    option.textContent = name;
    select.append(option);
  }
  if (wanted) select.value = wanted;
}

async function load() {
  reportsError(null);
  $("report-show").disabled = true;
  try {
    report = await api(`/reports?${query()}`);
    renderReport();
    await Promise.all([loadFlags(), loadCharts()]);
  } catch (error) {
    reportsError(error);
  } finally {
    $("report-show").disabled = false;
  }
}

async function downloadCsv() {
  reportsError(null);
  try {
    const blob = await api(`/reports.csv?${query()}`, { blob: true });
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = `realname-report-${$("report-from").value}-${$("report-to").value}.csv`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  } catch (error) {
    reportsError(error);
  }
}

startPage(async () => {
  user = await requireUser(["supervisor", "auditor"]);
  if (!user) return;
  const wanted = fromAddress();
  $("report-form").addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  $("report-csv").addEventListener("click", downloadCsv);
  onLanguageChange(() => {
    renderReport();
    renderFlags();
    if (report) loadCharts().catch(reportsError);
  });
  report = await api(`/reports?${query()}`);
  fillOutlets(wanted);
  if (wanted) report = await api(`/reports?${query()}`);
  renderReport();
  await Promise.all([loadFlags(), loadCharts()]);
});
