// A failed challenge, step by step: which step was not seen and why (the capture answer's
// ``steps``: reason STEP_NOT_SEEN, STEP_TOO_SMALL, STEP_TOO_EARLY, STEP_TOO_LATE, ... with the
// measured value against the one needed, docs/errors.md "Challenge step reasons").

import { has, t } from "../i18n.js";

// A measured or needed value in its unit: degrees for turns and nods, seconds for timing, a
// ratio for the blink's eye closure and the open mouth.
export function formatValue(value, unit) {
  if (typeof value !== "number") return "—";
  if (unit === "deg") return `${Math.round(value)}°`;
  if (unit === "s") return t("challenge.unit.s", { s: value.toFixed(1) });
  return value.toFixed(2);
}

export function stepSentence(step, index) {
  const key = `challenge.${step.reason}`;
  const params = {
    n: index + 1,
    action: t(`action.noun.${step.action}`),
    measured: formatValue(step.measured, step.unit),
    needed: formatValue(step.needed, step.unit),
  };
  return has(key) ? t(key, params) : t("challenge.unknown", { ...params, code: step.reason });
}

// One item per step that was not seen in time (a step seen in time is not listed).
export function renderStepReasons(list, steps) {
  list.replaceChildren();
  steps.forEach((step, index) => {
    if (!step.reason) return;
    const li = document.createElement("li");
    li.dataset.code = step.reason;
    li.dataset.action = step.action;
    li.append(stepSentence(step, index));
    const small = document.createElement("code");
    small.textContent = step.reason;
    li.append(small);
    list.append(li);
  });
  list.hidden = list.children.length === 0;
}
