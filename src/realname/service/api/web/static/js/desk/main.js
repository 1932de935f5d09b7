// The registration desk (clerks): consent -> ID card -> live capture -> result -> number ->
// receipt. The server judges everything; this page guides, uploads and explains, with the
// rules it checks read from the service once (GET /api/v1/rules).
//
// One module per step (consent, card, capture, result, number, receipt) around a small store
// (store.js: state, the wizard frame, the session clock); this one wires them. Importing any
// of them starts nothing: the camera and every timer start when their step opens.

import { requireUser } from "../api.js";
import { $ } from "../dom.js";
import { onLanguageChange } from "../i18n.js";
import { startPage } from "../page.js";
import { loadRules } from "../rules.js";
import { resetCard, wireCard } from "./card.js";
import { closeCamera, openCamera, translateCapture, wireCapture } from "./capture.js";
import { wireConsent } from "./consent.js";
import { resetNumber, toNumber, translateNumber, wireNumber } from "./number.js";
import { renderReceipt, wireReceipt } from "./receipt.js";
import { renderResult, wireResult } from "./result.js";
import {
  currentStep,
  deskError,
  showStep,
  state,
  stopClock,
  tickClock,
  whenSessionExpires,
} from "./store.js";

function newRegistration() {
  closeCamera();
  stopClock();
  Object.assign(state, {
    session: null,
    challenge: null,
    attemptsLeft: 0,
    verdict: null,
    reasons: [],
    binding: null,
  });
  resetCard();
  resetNumber();
  deskError(null);
  showStep("consent");
}

function wire() {
  wireConsent();
  wireCard();
  wireCapture();
  wireResult();
  wireNumber();
  wireReceipt();
  whenSessionExpires(closeCamera);
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
  showStep("consent");
});
