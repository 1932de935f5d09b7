// Step 1: the customer's separate consent to face recognition, which opens a session (or,
// refused, the manual procedure).

import { api } from "../api.js";
import { $ } from "../dom.js";
import { language } from "../i18n.js";
import { deskError, rememberSession, showStep, startClock, state } from "./store.js";

export const CONSENT_VERSION = "web-2026-11";

async function startSession(consent) {
  deskError(null);
  for (const id of ["consent-accept", "consent-refuse"]) $(id).disabled = true;
  try {
    const session = await api("/sessions", {
      method: "POST",
      json: { biometric_consent: consent, consent_text_version: `${CONSENT_VERSION}.${language()}` },
    });
    state.session = session;
    if (!consent || session.manual_alternative) {
      $("manual-session").textContent = session.id;
      showStep("manual");
      return;
    }
    state.attemptsLeft = session.attempts_left;
    rememberSession(session.id); // a reload resumes it (the id only, never the card)
    startClock(session);
    showStep("card");
  } catch (error) {
    deskError(error);
  } finally {
    for (const id of ["consent-accept", "consent-refuse"]) $(id).disabled = false;
  }
}

export function wireConsent() {
  $("consent-version").textContent = CONSENT_VERSION;
  $("consent-accept").addEventListener("click", () => startSession(true));
  $("consent-refuse").addEventListener("click", () => startSession(false));
}
