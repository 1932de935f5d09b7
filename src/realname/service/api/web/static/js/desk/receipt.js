// Step 6: the printable receipt (no biometric data: masked numbers, who, where, when, how).

import { $ } from "../dom.js";
import { formatTime, t } from "../i18n.js";
import { rememberSession, showStep, state } from "./store.js";

export function renderReceipt() {
  if (!state.binding) return;
  $("receipt-outlet").textContent = state.user.outlet || "";
  $("receipt-clerk").textContent = state.user.username;
  $("receipt-time").textContent = formatTime(state.binding.at);
  $("receipt-session").textContent = state.binding.session_id;
  $("receipt-id").textContent = state.binding.id_number_masked;
  $("receipt-msisdn").textContent = state.binding.msisdn_masked;
  $("receipt-result").textContent = t(
    state.verdict === "approved" ? "receipt.result.approved" : "receipt.result.passed",
  );
}

export function wireReceipt() {
  $("number-receipt").addEventListener("click", () => {
    rememberSession(null); // bound: nothing is left to resume
    renderReceipt();
    showStep("receipt");
  });
  $("receipt-print").addEventListener("click", () => window.print());
}
