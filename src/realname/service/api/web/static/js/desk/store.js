// The desk's shared state and its wizard frame: which step shows, what a step does when it is
// left, the timers that live as long as a step, the desk-wide error and the session clock.
// Importing this starts nothing: timers start when a step opens (or the session starts).

import { ApiError, problemText } from "../api.js";
import { $, showError } from "../dom.js";
import { t } from "../i18n.js";

export const STEPS = ["consent", "card", "capture", "result", "number", "receipt"];

export const state = {
  user: null,
  rules: null, // GET /api/v1/rules, read once at start
  session: null, // {id, outlet_id, ...} of the registration in progress
  // The challenge of the capture in progress, from POST .../challenge when the customer is
  // framed and ready: {steps: [{action, prompt_s, window_end_s}], capture_s, nonce, valid_s}.
  challenge: null,
  attemptsLeft: 0,
  deadline: null, // Date.now() value when the session expires (from its TTL, not the clock)
  verdict: null, // passed | failed | review | approved
  reasons: [],
  problem: "",
  binding: null,
  framing: "",
  recording: false,
};

// ---------------------------------------------------------------- the wizard frame

const leaving = new Map(); // step -> [fn]: run when another step is shown
const stepTimers = new Map(); // `${step}:${key}` -> interval id, cleared when the step is left

export function onLeave(step, fn) {
  if (!leaving.has(step)) leaving.set(step, []);
  leaving.get(step).push(fn);
}

// Every ``ms`` while ``step`` shows (started now, cleared when another step is shown); a
// second call with the same key replaces the first.
export function everyWhileOn(step, key, ms, fn) {
  const name = `${step}:${key}`;
  if (stepTimers.has(name)) clearInterval(stepTimers.get(name));
  stepTimers.set(name, setInterval(fn, ms));
}

function clearStepTimers(except) {
  for (const [name, timer] of stepTimers) {
    if (!name.startsWith(`${except}:`)) {
      clearInterval(timer);
      stepTimers.delete(name);
    }
  }
}

export function currentStep() {
  return document.body.dataset.step || "";
}

export function showStep(name) {
  for (const section of document.querySelectorAll("section.step")) {
    section.hidden = section.id !== `step-${name}`;
  }
  const current = name === "manual" ? "consent" : name;
  const at = STEPS.indexOf(current);
  for (const li of $("stepper").children) {
    const i = STEPS.indexOf(li.dataset.step);
    li.classList.toggle("done", i < at);
    if (i === at) li.setAttribute("aria-current", "step");
    else li.removeAttribute("aria-current");
  }
  clearStepTimers(name);
  for (const [step, fns] of leaving) {
    if (step !== name) for (const fn of fns) fn();
  }
  document.body.dataset.step = name;
  const heading = document.querySelector(`#step-${name} h2`);
  if (heading) heading.focus();
}

export function deskError(error) {
  showError($("desk-error"), error ? problemText(error) : "");
}

// ---------------------------------------------------------------- the session clock

// The service closes a session REALNAME_SESSION_TTL_S after consent: the clock counts down from
// the session's own expires_at - created_at, ticking only while a session runs.
let clockTimer = null;
let onExpired = () => {};

export function whenSessionExpires(fn) {
  onExpired = fn;
}

export function startClock(session) {
  const ttl = new Date(session.expires_at) - new Date(session.created_at);
  state.deadline = Date.now() + ttl;
  $("session-clock").hidden = false;
  if (clockTimer === null) clockTimer = setInterval(tickClock, 1000);
  tickClock();
}

export function stopClock() {
  state.deadline = null;
  if (clockTimer !== null) clearInterval(clockTimer);
  clockTimer = null;
  $("session-clock").hidden = true;
}

export function tickClock() {
  if (state.deadline === null) return;
  const left = Math.max(0, Math.round((state.deadline - Date.now()) / 1000));
  const clock = $("session-clock");
  clock.textContent = t("session.left", {
    time: `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`,
  });
  clock.classList.toggle("low", left <= 30);
  if (left === 0 && !state.recording) {
    stopClock();
    deskError(new ApiError(409, { code: "SESSION_EXPIRED" }));
    onExpired();
  }
}
