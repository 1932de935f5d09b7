// Step 5: the mobile number, checked here as the service checks it (GET /api/v1/rules: the
// separators and country prefixes it drops, the canonical form), then bound.

import { api, problemText } from "../api.js";
import { $, notice } from "../dom.js";
import { formatTime, t } from "../i18n.js";
import { deskError, rememberSession, showStep, state } from "./store.js";

// The canonical digits the service reads (realname.identity.identifiers.canonical_msisdn):
// Unicode NFKC, separators removed, one country prefix dropped before exactly ``length``
// digits.
export function canonicalMsisdn(value, rule) {
  let digits = value.normalize("NFKC").replace(new RegExp(rule.separators, "g"), "");
  for (const prefix of rule.prefixes) {
    if (digits.startsWith(prefix) && digits.length === rule.length + prefix.length) {
      digits = digits.slice(prefix.length);
      break;
    }
  }
  return digits;
}

// [message key or "", the canonical digits]; ``rule`` is the rules' msisdn.
export function msisdnProblem(value, rule) {
  const digits = canonicalMsisdn(value, rule);
  if (!new RegExp(`^[0-9]{${rule.length}}$`).test(digits)) return ["number.invalid_length", digits];
  if (!new RegExp(`^(?:${rule.pattern})$`).test(digits)) return ["number.invalid_prefix", digits];
  return ["", digits];
}

async function loadNumbers() {
  const list = await api(`/subscriptions?session_id=${encodeURIComponent(state.session.id)}`);
  $("number-id").textContent = list.id_number_masked || "";
  $("number-count").textContent = t("number.active", {
    n: list.active_numbers,
    max: list.max_numbers,
  });
  const ul = $("number-list");
  ul.replaceChildren();
  if (!list.numbers.length) {
    const li = document.createElement("li");
    li.textContent = t("number.none");
    li.className = "muted";
    ul.append(li);
  }
  for (const n of list.numbers) {
    const li = document.createElement("li");
    li.dataset.msisdn = n.msisdn_masked;
    li.textContent = `${n.msisdn_masked} · ${t("number.since", { date: formatTime(n.since) })}`;
    ul.append(li);
  }
  const full = list.active_numbers >= list.max_numbers && !state.binding;
  $("number-bind").disabled = full || Boolean(state.binding);
  if (full) {
    $("number-status").replaceChildren(
      notice("bad", t("number.cap_reached", { max: list.max_numbers })),
    );
  }
  return list;
}

export async function toNumber() {
  showStep("number");
  try {
    await loadNumbers();
  } catch (error) {
    deskError(error);
  }
  $("msisdn").focus();
}

async function bindNumber(event) {
  event.preventDefault();
  const input = $("msisdn");
  const rule = state.rules.msisdn;
  const [problem, digits] = msisdnProblem(input.value, rule);
  const error = $("msisdn-error");
  error.textContent = problem ? t(problem) : "";
  // The code the service would answer for this number (docs/errors.md).
  if (problem) error.dataset.code = rule.error_code;
  else delete error.dataset.code;
  input.setAttribute("aria-invalid", String(Boolean(problem)));
  if (problem) {
    input.focus();
    return;
  }
  $("number-bind").disabled = true;
  const status = $("number-status");
  status.replaceChildren();
  try {
    state.binding = await api("/subscriptions", {
      method: "POST",
      json: { session_id: state.session.id, msisdn: digits },
    });
    state.binding.at = new Date().toISOString();
    rememberSession(null); // bound: the session is closed, nothing is left to resume
    status.append(notice("ok", t("number.bound", { msisdn: state.binding.msisdn_masked })));
    input.value = "";
    await loadNumbers();
    $("number-receipt").hidden = false;
    $("number-receipt").focus();
  } catch (error) {
    status.append(notice("bad", problemText(error), { alert: true }));
    $("number-bind").disabled = false;
  }
}

export function translateNumber() {
  if (state.session) loadNumbers().catch(() => {});
}

export function resetNumber() {
  $("number-form").reset();
  $("number-status").replaceChildren();
  $("number-receipt").hidden = true;
  $("number-bind").disabled = false;
}

export function wireNumber() {
  $("msisdn").maxLength = state.rules.msisdn.max_input_length;
  $("number-form").addEventListener("submit", bindNumber);
}
