// The open disputes of the supervisor's outlet (auditors: all, read only): numbers a citizen
// who passed the look-up's face check flagged as "not mine" (GET /api/v1/disputes?state=open).
// The supervisor answers each, upheld (the number is ended) or dismissed, with a text for the
// citizen. The list refreshes itself every DISPUTES_POLL_MS while the tab shows, as the queue.

import { api, problemText } from "./api.js";
import { $, notice, showError } from "./dom.js";
import { formatTime, language, onLanguageChange, t } from "./i18n.js";

const DISPUTES_POLL_MS = 5_000;

let user = null;
let disputes = [];
let shown = ""; // what the rows show now: re-drawn only when the list changed
let answering = null; // the dispute whose answer form is open
let checkedAt = null;
let timer = null;

function renderRows() {
  const rows = $("dispute-rows");
  rows.replaceChildren();
  $("disputes-empty").hidden = disputes.length > 0;
  $("dispute-table").hidden = disputes.length === 0;
  for (const dispute of disputes) {
    const tr = document.createElement("tr");
    tr.dataset.dispute = dispute.id;
    if (answering && answering.id === dispute.id) tr.className = "selected";
    const cells = [
      formatTime(dispute.opened_at),
      dispute.msisdn,
      `${formatTime(dispute.bound_at)} · ${dispute.outlet}`,
      dispute.clerk || "",
      dispute.note || "",
    ];
    for (const text of cells) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    const td = document.createElement("td");
    if (user.role === "supervisor") {
      const open = document.createElement("button");
      open.type = "button";
      open.className = "btn secondary";
      open.textContent = t("lookup.disputes.answer");
      open.setAttribute("aria-label", t("lookup.disputes.answer_case", { msisdn: dispute.msisdn }));
      open.addEventListener("click", () => openAnswer(dispute));
      td.append(open);
    }
    tr.append(td);
    rows.append(tr);
  }
}

function renderUpdated() {
  if (checkedAt === null) return;
  $("disputes-updated").textContent = t("lookup.disputes.updated", {
    time: checkedAt.toLocaleTimeString(language(), { hour12: false }),
  });
}

async function loadDisputes() {
  try {
    const answer = await api("/disputes?state=open");
    showError($("disputes-error"), "");
    disputes = answer;
    const seen = JSON.stringify(answer.map((d) => [d.id, d.state, d.note]));
    if (seen !== shown) {
      shown = seen;
      renderRows();
    }
    checkedAt = new Date();
    renderUpdated();
  } catch (error) {
    showError($("disputes-error"), problemText(error));
  }
}

function poll() {
  if (timer !== null) clearInterval(timer);
  timer = null;
  if (document.visibilityState === "hidden") return; // paused: nobody is looking
  timer = setInterval(loadDisputes, DISPUTES_POLL_MS);
}

function renderForm() {
  if (!answering) return;
  $("dispute-form-heading").textContent = t("lookup.disputes.form", { msisdn: answering.msisdn });
}

function openAnswer(dispute) {
  answering = dispute;
  $("dispute-form").hidden = false;
  $("dispute-answer").value = "";
  $("dispute-answer-error").textContent = "";
  $("dispute-status").replaceChildren();
  for (const id of ["dispute-upheld", "dispute-dismissed"]) $(id).disabled = false;
  renderForm();
  renderRows();
  $("dispute-answer").focus();
}

async function answer(outcome) {
  const text = $("dispute-answer").value.trim();
  if (!text) {
    $("dispute-answer-error").textContent = t("lookup.disputes.text.missing");
    $("dispute-answer").focus();
    return;
  }
  $("dispute-answer-error").textContent = "";
  for (const id of ["dispute-upheld", "dispute-dismissed"]) $(id).disabled = true;
  try {
    const done = await api(`/disputes/${encodeURIComponent(answering.id)}/answer`, {
      method: "POST",
      json: { outcome, answer: text },
    });
    const note = notice(outcome === "upheld" ? "warn" : "ok", t(`lookup.disputes.done.${outcome}`));
    note.dataset.outcome = done.outcome || outcome;
    $("dispute-status").replaceChildren(note);
    answering = null;
    await loadDisputes();
  } catch (error) {
    $("dispute-status").replaceChildren(notice("bad", problemText(error)));
    for (const id of ["dispute-upheld", "dispute-dismissed"]) $(id).disabled = false;
  }
}

// Called by the review page once the user is known.
export async function startDisputes(signedIn) {
  user = signedIn;
  $("disputes").hidden = false;
  $("dispute-upheld").addEventListener("click", () => answer("upheld"));
  $("dispute-dismissed").addEventListener("click", () => answer("dismissed"));
  $("dispute-answer").addEventListener("input", () => {
    $("dispute-answer-error").textContent = "";
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") loadDisputes();
    poll();
  });
  onLanguageChange(() => {
    renderRows();
    renderUpdated();
    renderForm();
  });
  await loadDisputes();
  poll();
}
