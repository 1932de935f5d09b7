// Step 4: the verdict, its reasons and what may follow (another try, the supervisor's review,
// the number). While a case waits for review the step asks the service every REVIEW_POLL_MS,
// from when the result shows until another step does, and shows the decision by itself.
// A verdict that ends the registration (failed with no attempts left, rejected) offers the next
// one and forgets the open session.

import { api } from "../api.js";
import { $ } from "../dom.js";
import { language, renderReasons, t } from "../i18n.js";
import { speak } from "../capture.js";
import { renderStepReasons } from "./steps.js";
import {
  deskError,
  everyWhileOn,
  rememberSession,
  showStep,
  state,
  stopChallengeClock,
  stopClock,
} from "./store.js";

const REVIEW_POLL_MS = 3_000;

function isTerminal() {
  return (
    state.verdict === "rejected" || (state.verdict === "failed" && !(state.attemptsLeft > 0))
  );
}

export function showResult(answer, problem = "") {
  state.verdict = answer.verdict;
  state.reasons = answer.reasons || [];
  state.steps = answer.steps || [];
  state.attemptsLeft = answer.attempts_left;
  state.challenge = null; // answered: a retry asks for a new one
  stopChallengeClock();
  if (!(answer.verdict === "failed" && answer.attempts_left > 0)) stopClock();
  renderResult(problem);
  showStep("result");
  pollReview();
  speak($("verdict").textContent, language(), $("speak-toggle").checked);
}

export function pollReview() {
  everyWhileOn("result", "review", REVIEW_POLL_MS, () => {
    if (state.verdict === "review" && state.session) refreshReview();
  });
}

export function renderResult(problem = state.problem || "") {
  state.problem = problem;
  const verdict = $("verdict");
  const kind = state.verdict === "approved" ? "passed" : state.verdict;
  verdict.className = `verdict ${kind}`;
  verdict.dataset.verdict = state.verdict;
  verdict.textContent = t(`result.${state.verdict}`);
  const body = $("result-body");
  body.replaceChildren();
  const p = document.createElement("p");
  p.textContent = problem || t(`result.${state.verdict}.body`);
  body.append(p);
  const failed = state.verdict === "failed";
  renderReasons($("result-reasons"), failed ? state.reasons : []);
  renderStepReasons($("result-steps"), failed ? state.steps || [] : []);
  const canRetry = failed && state.attemptsLeft > 0 && !problem;
  $("result-retry").hidden = !canRetry;
  $("result-number").hidden = !["passed", "approved"].includes(state.verdict);
  const next = document.querySelector("#step-result .new-registration");
  next.classList.toggle("secondary", !isTerminal());
  next.classList.toggle("big", isTerminal());
  if (isTerminal() || problem) rememberSession(null);
  let attempts = "";
  if (failed) {
    attempts = canRetry
      ? t("capture.attempts_left", { n: state.attemptsLeft })
      : t("result.no_attempts");
  }
  if (state.verdict === "review") attempts = t("result.review.pending");
  $("result-attempts").textContent = attempts;
}

async function refreshReview() {
  try {
    const session = await api(`/sessions/${state.session.id}`);
    if (session.state === "approved") {
      state.verdict = "approved";
    } else if (session.state === "rejected") {
      state.verdict = "rejected";
    } else if (session.state !== "review") {
      return;
    }
    if (state.verdict !== "review") {
      renderResult("");
      speak($("verdict").textContent, language(), $("speak-toggle").checked);
    }
  } catch (error) {
    deskError(error);
  }
}

export function wireResult() {}
