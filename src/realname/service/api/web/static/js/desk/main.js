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
import { onLanguageChange, t } from "../i18n.js";
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

async function resume() {
  const id = rememberedSession();
  if (!id) return false;
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
  state.session = session;
  state.attemptsLeft = session.attempts_left;
  deskNotice(
    t("desk.resumed", {
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
  if (!(await resume())) showStep("consent");
});
