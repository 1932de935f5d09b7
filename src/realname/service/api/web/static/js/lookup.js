// The citizen's own look-up (一证通查): the ID number and the card's portrait, the separate
// consent to face recognition, a live capture with a fresh challenge (recorded exactly as the
// desk records it: the desk's stage, prompts and clocks, driven by the same modules), then the
// numbers bound to the ID, masked but for the last four digits, each with "not mine".
//
// No staff sign-in: POST /citizen/lookups answers a secret token that authorises the look-up's
// later calls (header X-Lookup-Token). It lives in this module only: a reload starts afresh.
// A refusal says the same sentence whatever the ID holds and whatever the reasons (the reason
// codes are the clerk's, written for the desk; they are not shown here), with a retry while
// attempts are left.

import { api, problemText } from "./api.js";
import { Camera, CameraError, speak } from "./capture.js";
import {
  endRecording,
  renderCaptureInfo,
  setPrompt,
  showFraming,
  showPhase,
  syncStart,
  waitUntilFramed,
} from "./desk/capture.js";
import { startChallengeClock, state, stopChallengeClock } from "./desk/store.js";
import { $, showError } from "./dom.js";
import { formatTime, language, onLanguageChange, t } from "./i18n.js";
import { startPage } from "./page.js";

const STEPS = ["card", "consent", "capture", "result"];

// Where the service sends no framing limits, the browser checks only that the lens is not
// covered (the flatness check of capture.js): the clip is judged by the service anyway.
const NO_FRAMING_LIMITS = {
  min_brightness: 0,
  max_brightness: 255,
  max_clipped_fraction: 1,
  min_face_width: 0,
  max_face_width: 1,
  max_centre_offset: 1,
};

const look = {
  id: null, // the look-up's id and token (POST /citizen/lookups)
  token: null,
  answer: null, // the last capture's answer: {verdict, attempts_left, numbers, reasons}
  problem: "", // why the look-up ended, where it did
  disputes: new Map(), // ref -> the dispute opened for it
};

let camera = null;

function lookupApi(path, options = {}) {
  return api(`/citizen/lookups/${encodeURIComponent(look.id)}${path}`, {
    ...options,
    headers: { "X-Lookup-Token": look.token },
  });
}

function lookupError(error) {
  showError($("lookup-error"), error ? problemText(error) : "");
}

function showStep(name) {
  for (const section of document.querySelectorAll("section.step")) {
    section.hidden = section.id !== `step-${name}`;
  }
  const at = STEPS.indexOf(name);
  for (const li of $("stepper").children) {
    const i = STEPS.indexOf(li.dataset.step);
    li.classList.toggle("done", i < at);
    if (i === at) li.setAttribute("aria-current", "step");
    else li.removeAttribute("aria-current");
  }
  if (name !== "capture") closeCamera();
  document.body.dataset.step = name;
  const heading = document.querySelector(`#step-${name} h2`);
  if (heading) heading.focus();
}

// ---------------------------------------------------------------- 1 and 2: card, consent

function cardNext(event) {
  event.preventDefault();
  const id = $("lookup-id").value.trim();
  const portrait = $("lookup-portrait").files[0];
  $("lookup-id-error").textContent = id ? "" : t("lookup.card.id_missing");
  $("lookup-portrait-error").textContent = portrait ? "" : t("lookup.card.portrait_missing");
  $("lookup-id").setAttribute("aria-invalid", String(!id));
  if (!id || !portrait) return;
  $("lookup-consent").checked = false;
  $("lookup-consent-refused").hidden = true;
  showStep("consent");
}

function previewPortrait() {
  const file = $("lookup-portrait").files[0];
  const img = $("lookup-portrait-preview");
  if (img.src) URL.revokeObjectURL(img.src);
  img.hidden = !file;
  if (file) img.src = URL.createObjectURL(file);
  $("lookup-portrait-error").textContent = "";
}

// The card's problems go back to the card step, beside the field they concern.
const CARD_FIELD = {
  ID_NUMBER_INVALID: "lookup-id-error",
  NO_FACE: "lookup-portrait-error",
  MULTIPLE_FACES: "lookup-portrait-error",
};

async function startLookup() {
  if (!$("lookup-consent").checked) {
    $("lookup-consent-refused").hidden = false;
    $("lookup-consent-refused").textContent = t("lookup.consent.tick");
    return;
  }
  lookupError(null);
  const form = new FormData();
  form.set("id_number", $("lookup-id").value.trim());
  form.set("biometric_consent", "true");
  form.set("portrait", $("lookup-portrait").files[0]);
  $("lookup-consent-accept").disabled = true;
  try {
    const created = await api("/citizen/lookups", { method: "POST", form });
    Object.assign(look, { id: created.id, token: created.token, answer: null });
    look.disputes.clear();
    state.attemptsLeft = created.attempts_left;
    state.rules = { framing: created.framing || NO_FRAMING_LIMITS };
    camera = null;
    showStep("capture");
    await openCamera();
  } catch (error) {
    const field = CARD_FIELD[error.code];
    if (field) {
      showStep("card");
      $(field).textContent = problemText(error);
    } else {
      lookupError(error);
    }
  } finally {
    $("lookup-consent-accept").disabled = false;
  }
}

function refuseConsent() {
  const box = $("lookup-consent-refused");
  box.textContent = t("lookup.consent.refused");
  box.hidden = false;
}

// ---------------------------------------------------------------- 3: the live capture

function closeCamera() {
  state.cameraReady = false;
  if (camera !== null) camera.close();
  if ($("capture-start")) syncStart();
}

async function openCamera(message = "") {
  if (camera === null) camera = new Camera($("camera"), state.rules.framing);
  camera.close();
  Object.assign(state, { cameraReady: false, busy: false, challenge: null, closed: false });
  showFraming("");
  showError($("capture-error"), message);
  $("capture-camera").hidden = true;
  stopChallengeClock();
  renderCaptureInfo();
  setPrompt({ text: t("capture.camera.starting") });
  try {
    await camera.open();
  } catch (error) {
    const kind = error instanceof CameraError ? error.kind : "error";
    showError($("capture-error"), `${message} ${t(`capture.camera.${kind}`)}`.trim());
    $("capture-camera").hidden = false;
    setPrompt({ text: t("capture.camera.none_short") });
    return;
  }
  setPrompt({ text: t("capture.ready") });
  camera.startFraming(showFraming);
  state.cameraReady = true;
  syncStart();
  $("capture-start").focus();
}

function captureStopped(text) {
  endRecording();
  showError($("capture-error"), text);
  setPrompt({ text: t("capture.ready") });
  state.challenge = null;
  stopChallengeClock();
  renderCaptureInfo();
  state.busy = false;
  syncStart();
}

// As the desk: framed, then the challenge, recording at once, each prompt at its offset.
async function runCapture() {
  showError($("capture-error"), "");
  state.busy = true;
  syncStart();
  if (state.framing !== "ok") {
    setPrompt({ text: t("capture.wait_framing") });
    if (!(await waitUntilFramed())) {
      captureStopped(t("capture.not_framed"));
      return;
    }
  }
  let challenge;
  try {
    challenge = await lookupApi("/challenge", { method: "POST" });
  } catch (error) {
    await lookupEnded(error);
    return;
  }
  state.challenge = challenge;
  startChallengeClock(challenge);
  if (typeof challenge.attempts_left === "number") state.attemptsLeft = challenge.attempts_left;
  const speakOn = $("speak-toggle").checked;
  $("stage").classList.add("recording");
  $("rec-dot").hidden = false;
  state.recording = true;
  renderCaptureInfo();
  setPrompt({ icon: "face", text: t("capture.settle") });
  let clip;
  try {
    clip = await camera.record(
      challenge.steps,
      Math.round(challenge.capture_s * 1000),
      (p) => showPhase(p, challenge.steps, speakOn),
      challenge.valid_s * 1000,
    );
  } catch (error) {
    const expired = error && error.message === "expired";
    captureStopped(t(expired ? "error.CHALLENGE_EXPIRED" : "capture.camera.error"));
    return;
  }
  endRecording();
  camera.stopFraming();
  showFraming("");
  await upload(clip);
}

async function upload(clip) {
  const started = performance.now();
  const waiting = setInterval(() => {
    const s = Math.round((performance.now() - started) / 1000);
    setPrompt({ icon: "face", text: t("capture.verifying", { s }), progress: 1 });
  }, 500);
  setPrompt({ icon: "face", text: t("capture.uploading"), progress: 1 });
  const body = new FormData();
  body.set("nonce", state.challenge.nonce);
  body.set("clip", clip.blob, `clip.${clip.type === "video/mp4" ? "mp4" : "webm"}`);
  try {
    const answer = await lookupApi("/capture", { method: "POST", form: body });
    clearInterval(waiting);
    showAnswer(answer);
  } catch (error) {
    clearInterval(waiting);
    if (error.status === 422) {
      // an unusable clip: its nonce is spent; a new challenge on the next Start
      await openCamera(`${problemText(error)} ${t("capture.new_challenge")}`);
      return;
    }
    await lookupEnded(error);
  }
}

// The look-up can go no further (expired, unknown token, no attempts): said, and a new one offered.
async function lookupEnded(error) {
  closeCamera();
  stopChallengeClock();
  state.recording = false;
  look.answer = { verdict: "ended", attempts_left: 0, numbers: [], reasons: [] };
  const text = error.status === 404 ? t("lookup.ended") : problemText(error);
  renderResult(text);
  showStep("result");
}

// ---------------------------------------------------------------- 4: the result

function showAnswer(answer) {
  look.answer = answer;
  state.attemptsLeft = answer.attempts_left;
  state.challenge = null;
  stopChallengeClock();
  renderResult("");
  showStep("result");
  speak($("verdict").textContent, language(), $("speak-toggle").checked);
}

function renderResult(problem = look.problem) {
  look.problem = problem;
  const answer = look.answer;
  if (!answer) return;
  const passed = answer.verdict === "passed";
  const verdict = $("verdict");
  verdict.className = `verdict ${passed ? "passed" : "failed"}`;
  verdict.dataset.verdict = answer.verdict;
  const ended = answer.verdict === "ended";
  verdict.textContent = t(
    passed ? "lookup.result.passed" : ended ? "lookup.result.ended" : "lookup.result.refused",
  );
  let body = problem || t("lookup.result.refused.body");
  if (passed) {
    body = answer.numbers.length
      ? t("lookup.result.count", { n: answer.numbers.length })
      : t("lookup.result.none");
  }
  $("lookup-result-body").textContent = body;
  renderNumbers(passed ? answer.numbers : []);
  const retry = !passed && !problem && answer.attempts_left > 0;
  $("lookup-retry").hidden = !retry;
  $("lookup-attempts").textContent = passed
    ? ""
    : retry
      ? t("capture.attempts_left", { n: answer.attempts_left })
      : t("lookup.no_attempts");
}

function renderNumbers(numbers) {
  const list = $("lookup-numbers");
  list.replaceChildren();
  for (const number of numbers) {
    const li = document.createElement("li");
    li.className = "panel";
    li.dataset.ref = number.ref;
    const head = document.createElement("p");
    const msisdn = document.createElement("strong");
    msisdn.className = "numbers";
    msisdn.textContent = number.msisdn;
    const where = document.createElement("span");
    where.className = "muted";
    where.textContent = t("lookup.number.where", {
      outlet: number.outlet,
      date: new Date(number.bound_at).toLocaleDateString(language()),
    });
    head.append(msisdn, " ", where);
    li.append(head);
    const dispute = look.disputes.get(number.ref);
    if (dispute || number.disputed) li.append(disputedNote(dispute));
    else li.append(notMineButton(li, number));
    list.append(li);
  }
}

function disputedNote(dispute) {
  const p = document.createElement("p");
  p.className = "notice warn dispute-opened";
  p.setAttribute("role", "status");
  p.textContent = dispute
    ? t("lookup.dispute.opened", { time: formatTime(dispute.opened_at), id: dispute.id })
    : t("lookup.dispute.already");
  return p;
}

function notMineButton(li, number) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "btn secondary";
  button.textContent = t("lookup.not_mine");
  button.setAttribute("aria-label", t("lookup.not_mine.label", { msisdn: number.msisdn }));
  button.addEventListener("click", () => {
    button.replaceWith(disputeForm(li, number));
    li.querySelector("textarea").focus();
  });
  return button;
}

function disputeForm(li, number) {
  const form = document.createElement("form");
  form.className = "dispute-form";
  form.noValidate = true;
  const field = document.createElement("div");
  field.className = "field";
  const label = document.createElement("label");
  const noteId = `dispute-note-${number.ref}`;
  label.htmlFor = noteId;
  label.textContent = t("lookup.dispute.note");
  const note = document.createElement("textarea");
  note.id = noteId;
  note.maxLength = 500;
  field.append(label, note);
  const error = document.createElement("p");
  error.className = "notice bad";
  error.setAttribute("role", "alert");
  error.hidden = true;
  const actions = document.createElement("div");
  actions.className = "actions";
  const send = document.createElement("button");
  send.type = "submit";
  send.className = "btn danger";
  send.textContent = t("lookup.dispute.send");
  const cancel = document.createElement("button");
  cancel.type = "button";
  cancel.className = "btn secondary";
  cancel.textContent = t("lookup.dispute.cancel");
  cancel.addEventListener("click", () => renderResult(look.problem));
  actions.append(send, cancel);
  form.append(field, error, actions);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    send.disabled = true;
    try {
      const opened = await lookupApi("/disputes", {
        method: "POST",
        json: { ref: number.ref, note: note.value.trim() },
      });
      look.disputes.set(number.ref, opened);
      form.replaceWith(disputedNote(opened));
    } catch (failure) {
      showError(error, problemText(failure));
      send.disabled = false;
    }
  });
  return form;
}

function startAgain() {
  closeCamera();
  stopChallengeClock();
  Object.assign(look, { id: null, token: null, answer: null });
  look.disputes.clear();
  $("lookup-card").reset();
  previewPortrait();
  $("lookup-id-error").textContent = "";
  lookupError(null);
  showStep("card");
}

function wire() {
  $("lookup-card").addEventListener("submit", cardNext);
  $("lookup-portrait").addEventListener("change", previewPortrait);
  $("lookup-consent-accept").addEventListener("click", startLookup);
  $("lookup-consent-refuse").addEventListener("click", refuseConsent);
  $("lookup-consent-back").addEventListener("click", () => showStep("card"));
  $("capture-start").addEventListener("click", runCapture);
  $("capture-camera").addEventListener("click", () => openCamera());
  $("lookup-retry").addEventListener("click", async () => {
    showStep("capture");
    await openCamera();
  });
  $("lookup-again").addEventListener("click", startAgain);
  onLanguageChange(() => {
    const step = document.body.dataset.step;
    if (step === "result") renderResult();
    if (step === "capture" && !state.recording) {
      renderCaptureInfo();
      setPrompt({ text: t("capture.ready") });
      showFraming(state.framing);
    }
  });
}

startPage(async () => {
  wire();
  showStep("card");
});
