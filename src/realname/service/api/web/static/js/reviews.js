// The review queue (supervisors; auditors read only): borderline cases with the ID portrait
// beside the best live frame, the liveness plot, reason codes and scores, and a decision
// with a written reason. Evidence needs the bearer token, so it is fetched as blobs and shown
// through object URLs (revoked when another case opens).

import { api, problemText, requireUser } from "./api.js";
import { $, notice, showError } from "./dom.js";
import { formatTime, onLanguageChange, reasonText, renderReasons, t } from "./i18n.js";
import { startPage } from "./page.js";
let user = null;
let reviews = [];
let current = null; // the open review (detail, with scores)
let objectUrls = [];

function reviewsError(error) {
  showError($("reviews-error"), error ? problemText(error) : "");
}

function renderRows() {
  const rows = $("review-rows");
  rows.replaceChildren();
  $("reviews-empty").hidden = reviews.length > 0;
  $("review-table").hidden = reviews.length === 0;
  for (const review of reviews) {
    const tr = document.createElement("tr");
    tr.dataset.review = review.id;
    if (current && current.id === review.id) tr.className = "selected";
    const cells = [
      formatTime(review.created_at),
      review.id_number_masked || "",
      review.reasons.map(reasonText).join("; "),
      formatTime(review.expires_at),
    ];
    for (const text of cells) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    const td = document.createElement("td");
    const open = document.createElement("button");
    open.type = "button";
    open.className = "btn secondary";
    open.textContent = t("reviews.open");
    open.setAttribute("aria-label", t("reviews.open_case", { id: review.id_number_masked || review.id }));
    open.addEventListener("click", () => openReview(review.id));
    td.append(open);
    tr.append(td);
    rows.append(tr);
  }
}

async function loadQueue() {
  reviewsError(null);
  try {
    reviews = await api("/reviews?state=pending");
    renderRows();
  } catch (error) {
    reviewsError(error);
  }
}

async function evidence(id, kind, img) {
  img.removeAttribute("src");
  img.alt = t("reviews.loading");
  try {
    const blob = await api(`/reviews/${id}/evidence/${kind}`, { blob: true });
    const url = URL.createObjectURL(blob);
    objectUrls.push(url);
    img.src = url;
    img.alt = t(`reviews.${kind}`);
  } catch (error) {
    img.alt = error.status === 404 ? t("reviews.evidence_missing") : problemText(error);
  }
}

function number(value, digits = 4) {
  return typeof value === "number" ? value.toFixed(digits) : "—";
}

function renderDetail() {
  if (!current) return;
  $("detail-heading").textContent = t("reviews.detail", {
    id: current.id_number_masked || "",
    time: formatTime(current.created_at),
  });
  renderReasons($("detail-reasons"), current.reasons.length ? current.reasons : ["MATCH_BORDERLINE"]);
  const s = current.scores || {};
  const verification = s.verification || {};
  const match = verification.match || {};
  const dl = $("detail-scores");
  dl.replaceChildren();
  const rows = [
    ["reviews.score", number(s.score)],
    ["reviews.threshold", number(s.threshold)],
    ["reviews.review_threshold", number(s.review_threshold)],
    ["reviews.fmr", match.fmr_target ? `${match.fmr_target} / ${s.review_fmr}` : s.review_fmr || "—"],
    ["reviews.engine", [s.engine, match.engine_version].filter(Boolean).join(" ")],
  ];
  for (const [key, value] of rows) {
    const dt = document.createElement("dt");
    dt.textContent = t(key);
    const dd = document.createElement("dd");
    dd.textContent = value;
    dd.dataset.key = key;
    dl.append(dt, dd);
  }
  const liveness = verification.liveness || {};
  const steps = $("detail-steps");
  steps.replaceChildren();
  for (const step of liveness.steps || []) {
    const tr = document.createElement("tr");
    const a = document.createElement("td");
    a.textContent = t(`action.${step.action}`);
    const b = document.createElement("td");
    b.textContent =
      step.seen_at_s === null ? t("reviews.not_seen") : t("reviews.seen_at", { s: step.seen_at_s });
    tr.append(a, b);
    steps.append(tr);
  }
  const checks = $("detail-checks");
  checks.replaceChildren();
  for (const [name, check] of Object.entries(liveness.checks || {})) {
    const tr = document.createElement("tr");
    const cells = [
      t(`check.${name}`),
      `${number(check.score, 3)} / ${number(check.threshold, 3)}`,
      check.passed ? t("reviews.check.passed") : t("reviews.check.failed"),
    ];
    for (const text of cells) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    checks.append(tr);
  }
  $("detail-raw").textContent = JSON.stringify(s, null, 2);
}

async function openReview(id) {
  reviewsError(null);
  for (const url of objectUrls) URL.revokeObjectURL(url);
  objectUrls = [];
  try {
    current = await api(`/reviews/${id}`);
  } catch (error) {
    reviewsError(error);
    return;
  }
  $("review-detail").hidden = false;
  $("decision-form").hidden = user.role !== "supervisor";
  $("decision-reason").value = "";
  $("decision-error").textContent = "";
  $("decision-status").replaceChildren();
  for (const b of ["decision-approve", "decision-reject"]) $(b).disabled = false;
  renderDetail();
  renderRows();
  $("detail-heading").focus();
  await Promise.all([
    evidence(id, "portrait", $("ev-portrait")),
    evidence(id, "frame", $("ev-frame")),
    evidence(id, "plot", $("ev-plot")),
  ]);
}

async function decide(approve) {
  const reason = $("decision-reason").value.trim();
  const input = $("decision-reason");
  if (!reason) {
    $("decision-error").textContent = t("reviews.reason.missing");
    input.setAttribute("aria-invalid", "true");
    input.focus();
    return;
  }
  $("decision-error").textContent = "";
  input.setAttribute("aria-invalid", "false");
  for (const b of ["decision-approve", "decision-reject"]) $(b).disabled = true;
  const status = $("decision-status");
  try {
    const decided = await api(`/reviews/${current.id}/decision`, {
      method: "POST",
      json: { approve, reason },
    });
    const note = notice(approve ? "ok" : "warn", t(approve ? "reviews.approved" : "reviews.rejected"));
    note.dataset.state = decided.state;
    status.replaceChildren(note);
    await loadQueue();
  } catch (error) {
    status.replaceChildren(notice("bad", problemText(error)));
    for (const b of ["decision-approve", "decision-reject"]) $(b).disabled = false;
  }
}

startPage(async () => {
  user = await requireUser(["supervisor", "auditor"]);
  if (!user) return;
  $("reviews-auditor").hidden = user.role !== "auditor";
  $("reviews-refresh").addEventListener("click", loadQueue);
  $("decision-approve").addEventListener("click", () => decide(true));
  $("decision-reject").addEventListener("click", () => decide(false));
  onLanguageChange(() => {
    renderRows();
    renderDetail();
  });
  await loadQueue();
});
