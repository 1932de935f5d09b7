// The registration desk (clerks): consent -> ID card -> live capture -> result -> number ->
// receipt. The server judges everything; this page guides, uploads and explains, with the
// rules it checks read from the service once (GET /api/v1/rules).
//
// One module per step (consent, card, capture, result, number, receipt) around a small store
// (store.js: state, the wizard frame, the clocks, the open session); this one wires them and,
// after a reload, resumes the open session at its step from the service's own state (the tab
// keeps the session's id only). Importing any of them starts nothing: the camera and every
// timer start when their step opens.

import { api, requireUser } from "../api.js";
import { $ } from "../dom.js";
import { formatTime, onLanguageChange, t } from "../i18n.js";
import { startPage } from "../page.js";
import { loadRules } from "../rules.js";
import { resetCard, wireCard } from "./card.js";
import { captureEnded, closeCamera, openCamera, translateCapture, wireCapture } from "./capture.js";
import { wireConsent } from "./consent.js";
import { resetNumber, toNumber, translateNumber, wireNumber } from "./number.js";
import { renderReceipt, wireReceipt } from "./receipt.js";
import { pollReview, renderResult, wireResult } from "./result.js";
import {
  currentStep,
  deskError,
  rememberSession,
  rememberedSession,
  reopenDesk,
  showStep,
  startClock,
  state,
  stopChallengeClock,
  stopClock,
  tickClock,
  whenSessionExpires,
} from "./store.js";

function deskNotice(text) {
  const box = $("desk-notice");
  box.textContent = text;
  box.hidden = !text;
}

function newRegistration() {
  closeCamera();
  stopClock();
  stopChallengeClock();
  rememberSession(null);
  Object.assign(state, {
    session: null,
    challenge: null,
    attemptsLeft: 0,
    verdict: null,
    reasons: [],
    steps: [],
    problem: "",
    binding: null,
    busy: false,
  });
  reopenDesk();
  resetCard();
  resetNumber();
  deskNotice("");
  showStep("consent");
  $("consent-accept").focus();
  offerOpenSessions();
}

// The step a session read from the service is at (null: nothing to resume).
const RESUME_AT = {
  awaiting_card: "card",
  awaiting_capture: "capture",
  capturing: "capture",
  failed: "result",
  passed: "result",
  review: "result",
  approved: "result",
  rejected: "result",
};

// Resume the session ``id`` at its step (false: it is gone or over, and the tab forgets it).
async function resumeSession(id, noticeKey) {
  let session;
  try {
    session = await api(`/sessions/${encodeURIComponent(id)}`);
  } catch {
    rememberSession(null); // gone, or another outlet's: start afresh
    return false;
  }
  const step = RESUME_AT[session.state];
  const past = new Date(session.expires_at) <= new Date();
  if (!step || (past && step !== "result")) {
    rememberSession(null);
    if (session.state === "expired" || step) {
      deskNotice(t("desk.resume.expired"));
    }
    return false;
  }
  rememberSession(session.id);
  state.session = session;
  state.attemptsLeft = session.attempts_left;
  deskNotice(
    t(noticeKey, {
      name: session.name_masked || "",
      id: session.id_number_masked || t("desk.resumed.no_card"),
    }),
  );
  if (step === "card") {
    startClock(session, false);
    showStep("card");
  } else if (step === "capture") {
    startClock(session, false);
    showStep("capture");
    await openCamera();
  } else {
    state.verdict = session.state === "failed" ? "failed" : session.state;
    state.reasons = session.reasons || [];
    if (session.state === "failed" && session.attempts_left > 0) {
      startClock(session, false);
      state.verdict = "failed";
    }
    renderResult("");
    showStep("result");
    pollReview();
  }
  return true;
}

// After a reload: the session this tab had open.
async function resume() {
  const id = rememberedSession();
  return id ? resumeSession(id, "desk.resumed") : false;
}

// In a new tab (the one that held a session was closed): the clerk's own unfinished sessions,
// from the service (GET /sessions?open=true), each offered with a button; nothing is resumed
// without the clerk's choice, since the customer at the counter may be a new one.
const OPEN_AT = {
  awaiting_card: "desk.open.at.card",
  awaiting_capture: "desk.open.at.capture",
  capturing: "desk.open.at.capture",
  passed: "desk.open.at.result",
  approved: "desk.open.at.result",
  review: "desk.open.at.review",
};
let openSessions = [];

function renderOpenSessions() {
  const list = $("open-session-list");
  list.replaceChildren();
  for (const session of openSessions) {
    const item = document.createElement("li");
    const text = document.createElement("span");
    text.textContent = `${t("desk.open.item", {
      name: session.name_masked || "",
      id: session.id_number_masked || t("desk.resumed.no_card"),
      time: formatTime(session.created_at),
    })} · ${t(OPEN_AT[session.state] || "desk.open.at.result")}`;
    const go = document.createElement("button");
    go.type = "button";
    go.className = "btn secondary";
    go.textContent = t("desk.open.continue");
    go.addEventListener("click", async () => {
      go.disabled = true;
      const resumed = await resumeSession(session.id, "desk.continued");
      openSessions = resumed ? [] : openSessions.filter((s) => s.id !== session.id);
      renderOpenSessions();
      if (!resumed) showStep("consent");
    });
    item.append(text, " ", go);
    list.append(item);
  }
  $("open-sessions").hidden = openSessions.length === 0;
}

async function offerOpenSessions() {
  try {
    const found = await api("/sessions?open=true&limit=10");
    openSessions = found.filter((s) => s.state in OPEN_AT);
  } catch {
    openSessions = []; // an offer only: the desk works without it
  }
  renderOpenSessions();
}

function wire() {
  wireConsent();
  wireCard();
  wireCapture();
  wireResult();
  wireNumber();
  wireReceipt();
  whenSessionExpires(captureEnded);
  for (const button of document.querySelectorAll(".new-registration")) {
    button.addEventListener("click", newRegistration);
  }
  $("result-retry").addEventListener("click", async () => {
    showStep("capture");
    await openCamera();
  });
  $("result-number").addEventListener("click", toNumber);
  onLanguageChange(() => {
    const step = currentStep();
    renderOpenSessions();
    if (step === "capture") translateCapture();
    if (step === "result") renderResult();
    if (step === "receipt") renderReceipt();
    if (step === "number") translateNumber();
    tickClock();
  });
}

startPage(async () => {
  state.user = await requireUser(["clerk"]);
  if (!state.user) return;
  state.rules = await loadRules();
  wire();
  deskError(null);
  if (!(await resume())) {
    showStep("consent");
    await offerOpenSessions();
  }
});
