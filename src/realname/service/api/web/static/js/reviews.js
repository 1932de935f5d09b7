// The review queue (supervisors; auditors read only): borderline cases with the ID portrait
// beside the best live frame, the liveness plot, reason codes and scores, and a decision
// with a written reason. Evidence needs the bearer token, so it is fetched as blobs and shown
// through object URLs (revoked when another case opens). The queue refreshes itself every
// QUEUE_POLL_MS while the tab is shown (paused while it is hidden, asked again when it shows).
// Reasons are said in the supervisor's own sentences (review.reason.*, written for a decision),
// and the plot is drawn by the service in the page's language.

import { api, problemText, requireUser } from "./api.js";
import { $, notice, showError } from "./dom.js";
import { formatTime, has, language, onLanguageChange, reasonText, t } from "./i18n.js";
import { startPage } from "./page.js";
import { startDisputes } from "./disputes.js";

const QUEUE_POLL_MS = 5_000;

let user = null;
let shownQueue = ""; // what the rows show now: re-drawn only when the queue changed
let reviews = [];
let current = null; // the open review (detail, with scores)
let objectUrls = [];

function reviewsError(error) {
  showError($("reviews-error"), error ? problemText(error) : "");
}

// A supervisor's sentence for a reason code (what to compare, what to decide), else the
// clerk's sentence.
export function reviewReasonText(code) {
  return has(`review.reason.${code}`) ? t(`review.reason.${code}`) : reasonText(code);
}

// The queue's column: a short label per reason (the detail gives the whole sentence).
function shortReasonText(code) {
  const key = `review.reason.short.${code}`;
  return has(key) ? t(key) : reviewReasonText(code);
}

function renderReviewReasons(list, codes) {
  list.replaceChildren();
  for (const code of codes) {
    const li = document.createElement("li");
    li.dataset.code = code;
    li.append(reviewReasonText(code));
    const small = document.createElement("code");
    small.textContent = code;
    li.append(small);
    list.append(li);
  }
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
      review.reasons.map(shortReasonText).join("; "),
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
  try {
    const answer = await api("/reviews?state=pending");
    reviewsError(null);
    const seen = JSON.stringify(answer.map((r) => [r.id, r.reasons, r.expires_at]));
    reviews = answer;
    if (seen !== shownQueue) {
      shownQueue = seen;
      renderRows();
    }
    lastChecked = new Date();
    renderUpdated();
  } catch (error) {
    reviewsError(error);
  }
}

let pollTimer = null;
let lastChecked = null;

function renderUpdated() {
  if (lastChecked === null) return;
  $("reviews-updated").textContent = t("reviews.updated", {
    time: lastChecked.toLocaleTimeString(language(), { hour12: false }),
  });
}

function pollQueue() {
  if (pollTimer !== null) clearInterval(pollTimer);
  pollTimer = null;
  if (document.visibilityState === "hidden") return; // paused: nobody is looking
  pollTimer = setInterval(loadQueue, QUEUE_POLL_MS);
}

async function evidence(id, kind, img) {
  img.removeAttribute("src");
  img.alt = t("reviews.loading");
  const lang = kind === "plot" ? `?lang=${encodeURIComponent(language())}` : "";
  if (kind === "plot") img.dataset.lang = language();
  try {
    const response = await api(`/reviews/${id}/evidence/${kind}${lang}`, { raw: true });
    const blob = await response.blob();
    if (kind === "plot") {
      // drawn in English where the server has no CJK font: said under the plot
      const fallback = Boolean(response.headers.get("X-Plot-Language-Fallback"));
      $("ev-plot-note").textContent = fallback ? t("reviews.plot.fallback") : "";
      $("ev-plot-note").hidden = !fallback;
    }
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
  renderReviewReasons(
    $("detail-reasons"),
    current.reasons.length ? current.reasons : ["MATCH_BORDERLINE"],
  );
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
    [
      "reviews.reference",
      current.portrait_source === "printed" ? t("reviews.reference.printed") : t("reviews.reference.chip"),
    ],
  ];
  for (const [key, value] of rows) {
    const dt = document.createElement("dt");
    dt.textContent = t(key);
    const dd = document.createElement("dd");
    dd.textContent = value;
    dd.dataset.key = key;
    dl.append(dt, dd);
  }
  // a printed photo cropped from the card is a weaker reference: said beside the portrait
  const printed = current.portrait_source === "printed";
  $("ev-portrait-source").hidden = !printed;
  $("ev-portrait-caption").hidden = printed;
  $("ev-portrait").closest("figure").dataset.source = current.portrait_source || "chip";
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
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") loadQueue();
    pollQueue();
  });
  $("decision-approve").addEventListener("click", () => decide(true));
  $("decision-reject").addEventListener("click", () => decide(false));
  onLanguageChange(() => {
    renderRows();
    renderUpdated();
    renderDetail();
    // the plot's words are drawn by the service: asked again in the new language
    if (current && $("ev-plot").dataset.lang !== language()) {
      evidence(current.id, "plot", $("ev-plot"));
    }
  });
  await loadQueue();
  pollQueue();
  await startDisputes(user);
});
