// Step 4: the verdict, its reasons and what may follow (another try, the supervisor's review,
// the number). While a case waits for review the step asks again every REVIEW_POLL_MS, from
// when the result shows until another step does.

import { api } from "../api.js";
import { $ } from "../dom.js";
import { language, renderReasons, t } from "../i18n.js";
import { speak } from "../capture.js";
import { deskError, everyWhileOn, showStep, state, stopClock } from "./store.js";

const REVIEW_POLL_MS = 10_000;

export function showResult(answer, problem = "") {
  state.verdict = answer.verdict;
  state.reasons = answer.reasons || [];
  state.attemptsLeft = answer.attempts_left;
  state.challenge = null; // answered: a retry asks for a new one
  if (!(answer.verdict === "failed" && answer.attempts_left > 0)) stopClock();
  renderResult(problem);
  showStep("result");
  everyWhileOn("result", "review", REVIEW_POLL_MS, () => {
    if (state.verdict === "review" && state.session) refreshReview();
  });
  speak($("verdict").textContent, language(), $("speak-toggle").checked);
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
  renderReasons($("result-reasons"), state.verdict === "failed" ? state.reasons : []);
  const canRetry = state.verdict === "failed" && state.attemptsLeft > 0 && !problem;
  $("result-retry").hidden = !canRetry;
  $("result-refresh").hidden = state.verdict !== "review";
  $("result-number").hidden = !["passed", "approved"].includes(state.verdict);
  let attempts = "";
  if (state.verdict === "failed") {
    attempts = canRetry
      ? t("capture.attempts_left", { n: state.attemptsLeft })
      : t("result.no_attempts");
  }
  $("result-attempts").textContent = attempts;
}

async function refreshReview() {
  try {
    const session = await api(`/sessions/${state.session.id}`);
    if (session.state === "approved") {
      state.verdict = "approved";
    } else if (session.state === "rejected") {
      state.verdict = "rejected";
    }
    renderResult(session.state === "review" ? t("result.review.pending") : "");
  } catch (error) {
    deskError(error);
  }
}

export function wireResult() {
  $("result-refresh").addEventListener("click", refreshReview);
}
