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
  challengeDeadline: null, // Date.now() value after which the challenge's clip is refused
  closed: false, // the session can go no further: only a new registration is offered
  verdict: null, // passed | failed | review | approved
  reasons: [],
  problem: "",
  binding: null,
  framing: "",
  cameraReady: false, // the camera shows a picture and no capture is under way
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

// ---------------------------------------------------------------- the open session

// Only the open session's id is kept in the tab (sessionStorage: gone with the tab), so that a
// reload resumes it from the service's own state; never the card's data.
const OPEN_SESSION = "realname.desk.session";

export function rememberSession(id) {
  if (id) sessionStorage.setItem(OPEN_SESSION, id);
  else sessionStorage.removeItem(OPEN_SESSION);
}

export function rememberedSession() {
  return sessionStorage.getItem(OPEN_SESSION);
}

// A session that can go no further (expired, closed): what no longer works is disabled, the
// reason is said, and the one next action, a new registration, is offered beside it.
export function endSession(error) {
  state.closed = true;
  rememberSession(null);
  stopClock();
  stopChallengeClock();
  onExpired();
  for (const el of document.querySelectorAll(
    "section.step button, section.step input, section.step select, section.step textarea",
  )) {
    if (!el.classList.contains("new-registration")) el.disabled = true;
  }
  deskError(error);
  $("desk-new").hidden = false;
}

// Undoes endSession for the next registration (each step sets its own controls when it opens).
export function reopenDesk() {
  state.closed = false;
  for (const el of document.querySelectorAll(
    "section.step button, section.step input, section.step select, section.step textarea",
  )) {
    el.disabled = false;
  }
  $("desk-new").hidden = true;
  deskError(null);
}

// ---------------------------------------------------------------- the clocks

// Two clocks in the bar. The session's (REALNAME_SESSION_TTL_S: the whole visit, from consent)
// always while a session runs; the challenge's (its validity: answer_by) while a capture is
// under way, the short, security-critical one. Each counts down from the service's own span
// (expires_at - created_at, answer_by - issued_at), never from this computer's clock.
let clockTimer = null;
let onExpired = () => {};

export function whenSessionExpires(fn) {
  onExpired = fn;
}

function span(from, to) {
  return new Date(to) - new Date(from);
}

function clockText(ms) {
  const left = Math.max(0, Math.round(ms / 1000));
  return [left, `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`];
}

function ensureTicking() {
  if (clockTimer === null) clockTimer = setInterval(tickClock, 1000);
}

// ``session``: a fresh one (its whole span is left), or one read again after a reload, whose
// expires_in_s (when the service gives it) or expires_at says what is left.
export function startClock(session, fresh = true) {
  let left = span(session.created_at, session.expires_at);
  if (!fresh) {
    left =
      typeof session.expires_in_s === "number"
        ? session.expires_in_s * 1000
        : new Date(session.expires_at) - Date.now();
  }
  state.deadline = Date.now() + left;
  $("session-clock").hidden = false;
  ensureTicking();
  tickClock();
}

export function stopClock() {
  state.deadline = null;
  $("session-clock").hidden = true;
  if (state.challengeDeadline === null && clockTimer !== null) {
    clearInterval(clockTimer);
    clockTimer = null;
  }
}

export function startChallengeClock(challenge) {
  state.challengeDeadline = Date.now() + span(challenge.issued_at, challenge.answer_by);
  $("challenge-clock").hidden = false;
  ensureTicking();
  tickClock();
}

export function stopChallengeClock() {
  state.challengeDeadline = null;
  $("challenge-clock").hidden = true;
  if (state.deadline === null && clockTimer !== null) {
    clearInterval(clockTimer);
    clockTimer = null;
  }
}

export function tickClock() {
  if (state.challengeDeadline !== null) {
    const [left, time] = clockText(state.challengeDeadline - Date.now());
    const clock = $("challenge-clock");
    clock.textContent = t("challenge.left", { time });
    clock.classList.toggle("low", left <= 10);
  }
  if (state.deadline === null) return;
  const [left, time] = clockText(state.deadline - Date.now());
  const clock = $("session-clock");
  clock.textContent = t("session.left", { time });
  clock.classList.toggle("low", left <= 60);
  if (left === 0 && !state.recording) {
    endSession(new ApiError(409, { code: "SESSION_EXPIRED" }));
  }
}
