// Step 3: the live capture. The camera opens when the step opens (and closes when it is
// left); Start waits for the framing to be right, asks the service for the challenge, records
// its capture_s at once with each prompt at its offset, and uploads the clip.

import { api, problemText } from "../api.js";
import { Camera, CameraError, speak } from "../capture.js";
import { $, showError } from "../dom.js";
import { language, t } from "../i18n.js";
import { showResult } from "./result.js";
import {
  onLeave,
  showStep,
  startChallengeClock,
  state,
  stopChallengeClock,
  stopClock,
} from "./store.js";

// Start waits until the framing check says the face is where the liveness check can use it.
const FRAMED_WITHIN_MS = 15_000;
// Framing advice that makes a capture pointless: Start stays disabled while it holds (the
// others, light and centring, are told and waited for after Start).
const BLOCKING = new Set(["no_face", "far", "many"]);

let camera = null; // made when the step first opens, with the service's framing limits

function theCamera() {
  if (camera === null) camera = new Camera($("camera"), state.rules.framing);
  return camera;
}

export function closeCamera() {
  state.cameraReady = false;
  if (camera !== null) camera.close();
  syncStart();
}

// Start works while the camera shows a picture, no capture is under way, the session is open
// and the framing advice does not say there is no usable face.
export function syncStart() {
  const blocked = BLOCKING.has(state.framing);
  const usable = state.cameraReady && !state.busy && !state.closed;
  $("capture-start").disabled = !usable || blocked;
  const hint = $("capture-start-hint");
  hint.textContent = usable && blocked ? t("capture.start.blocked") : "";
  hint.hidden = !hint.textContent;
}

function actionIcon(action) {
  return `img/${action}.svg`;
}

// No action is known before Start: the service reveals the challenge only then (and the
// customer must not act before each prompt, so the steps are never listed ahead).
export function renderCaptureInfo() {
  const lines = [];
  if (state.recording && state.challenge) {
    lines.push(t("capture.length", { s: state.challenge.capture_s }));
  } else {
    lines.push(t("capture.on_start"));
  }
  lines.push(t("capture.attempts_left", { n: state.attemptsLeft }));
  $("capture-attempts").textContent = lines.join(" ");
}

export function setPrompt({ step = "", icon = "face", text = "", count = "", progress = 0 }) {
  $("prompt-step").textContent = step;
  $("prompt-icon").src = actionIcon(icon);
  $("prompt-text").textContent = text;
  $("prompt-text").removeAttribute("data-i18n");
  $("prompt-count").textContent = count;
  $("prompt-progress").style.width = `${Math.round(progress * 100)}%`;
}

export function showFraming(status) {
  state.framing = status;
  const line = $("framing");
  line.textContent = status ? t(`capture.frame.${status}`) : "";
  line.className = `framing ${status === "ok" ? "ok" : status ? "bad" : ""}`;
  const stage = $("stage");
  stage.classList.toggle("ok", status === "ok");
  stage.classList.toggle("bad", Boolean(status) && status !== "ok");
  syncStart();
}

// The service's framing advice on a preview still (guidance only; the clip is judged on upload).
async function adviseFraming(blob) {
  if (blob.size > state.rules.uploads.max_framing_bytes) {
    throw new Error("still over the framing limit"); // the last advice is kept
  }
  const form = new FormData();
  form.append("frame", blob, "frame.jpg");
  const answer = await api(`/sessions/${state.session.id}/framing`, { method: "POST", form });
  return answer.advice;
}

// Opens (or reopens) the camera and its framing checks: called when the step opens. ``message``
// (why the last capture could not be judged, and what to do) stays on screen until the next
// Start.
export async function openCamera(message = "") {
  if (state.closed) return;
  const cam = theCamera();
  cam.close();
  state.cameraReady = false;
  state.busy = false;
  showFraming("");
  showError($("capture-error"), message);
  $("capture-camera").hidden = true;
  state.challenge = null;
  stopChallengeClock();
  renderCaptureInfo();
  setPrompt({ text: t("capture.camera.starting") });
  try {
    await cam.open();
  } catch (error) {
    const kind = error instanceof CameraError ? error.kind : "error";
    const camera = t(`capture.camera.${kind}`);
    showError($("capture-error"), message ? `${message} ${camera}` : camera);
    $("capture-camera").hidden = false;
    setPrompt({ text: t("capture.camera.none_short") });
    return;
  }
  if (state.closed) {
    cam.close();
    return;
  }
  setPrompt({ text: t("capture.ready") });
  cam.startFraming(showFraming, adviseFraming);
  state.cameraReady = true;
  syncStart();
  $("capture-start").focus();
}

export function waitUntilFramed() {
  return new Promise((resolve) => {
    const began = performance.now();
    const poll = () => {
      if (state.framing === "ok") resolve(true);
      else if (performance.now() - began > FRAMED_WITHIN_MS) resolve(false);
      else setTimeout(poll, 50);
    };
    poll();
  });
}

export function showPhase(p, steps, speakOn) {
  if (p.phase === "settle") {
    if (p.changed) speak(t("capture.settle"), language(), speakOn);
    setPrompt({
      icon: "face",
      text: t("capture.settle"),
      count: String(Math.ceil(p.remainingMs / 1000)),
      progress: p.fraction,
    });
  } else if (p.phase === "step") {
    const action = steps[p.index].action;
    if (p.changed) speak(t(`action.${action}`), language(), speakOn);
    setPrompt({
      step: t("capture.step_of", { n: p.index + 1, total: steps.length }),
      icon: action,
      text: t(`action.${action}`),
      count: String(Math.ceil(p.remainingMs / 1000)),
      progress: p.fraction,
    });
  } else if (p.changed) {
    // between two windows, and after the last: hold still (any action now fails the capture)
    setPrompt({ icon: "face", text: t("capture.hold"), progress: 1 });
  }
}

export function endRecording() {
  state.recording = false;
  $("stage").classList.remove("recording");
  $("rec-dot").hidden = true;
}

// When the customer is framed and ready: ask the service for this capture's challenge, start
// recording at once, show each prompt at its offset from the recording's start, record exactly
// capture_s, then upload. The challenge must be answered within its validity (valid_s to begin
// recording), so nothing may stand between the answer and the recorder.
async function runCapture() {
  const cam = theCamera();
  if (state.closed) return;
  showError($("capture-error"), "");
  state.busy = true;
  syncStart();
  if (state.framing !== "ok") {
    setPrompt({ text: t("capture.wait_framing") });
    if (!(await waitUntilFramed())) {
      if (state.closed) return;
      showError($("capture-error"), t("capture.not_framed"));
      setPrompt({ text: t("capture.ready") });
      state.busy = false;
      syncStart();
      return;
    }
  }
  if (state.closed) return;
  let challenge;
  try {
    challenge = await api(`/sessions/${state.session.id}/challenge`, { method: "POST" });
  } catch (error) {
    await captureRefused(error);
    return;
  }
  state.challenge = challenge;
  startChallengeClock(challenge);
  state.attemptsLeft = challenge.attempts_left;
  const steps = challenge.steps;
  const speakOn = $("speak-toggle").checked;
  $("stage").classList.add("recording");
  $("rec-dot").hidden = false;
  state.recording = true;
  renderCaptureInfo();
  setPrompt({ icon: "face", text: t("capture.settle") }); // until the recorder's first tick
  let clip;
  try {
    clip = await cam.record(
      steps,
      Math.round(challenge.capture_s * 1000),
      (p) => showPhase(p, steps, speakOn),
      challenge.valid_s * 1000,
    );
  } catch (error) {
    endRecording();
    const expired = error && error.message === "expired";
    showError($("capture-error"), t(expired ? "error.CHALLENGE_EXPIRED" : "capture.camera.error"));
    $("capture-camera").hidden = expired; // the message names this button: it is shown
    setPrompt({ text: t("capture.ready") });
    state.challenge = null;
    stopChallengeClock();
    renderCaptureInfo();
    state.busy = false;
    syncStart();
    return;
  }
  endRecording();
  document.querySelector(".capture").scrollIntoView({ block: "start" });
  cam.stopFraming(); // the preview stays on while the service judges; closed with the step
  showFraming("");
  await upload(clip);
}

// The service gave no challenge: the session is closed (or the ID locked), or another try.
async function captureRefused(error) {
  const closing = [
    "SESSION_EXPIRED",
    "SESSION_CLOSED",
    "ID_LOCKED",
    "CONSENT_REFUSED",
    "CHALLENGE_LIMIT",
  ];
  if (closing.includes(error.code)) {
    stopClock();
    showResult({ verdict: "failed", reasons: [], attempts_left: 0 }, problemText(error));
    return;
  }
  showError($("capture-error"), problemText(error));
  setPrompt({ text: t("capture.ready") });
  state.busy = false;
  syncStart();
}

async function upload(clip) {
  const started = performance.now();
  const waiting = setInterval(() => {
    const s = Math.round((performance.now() - started) / 1000);
    setPrompt({ icon: "face", text: t("capture.verifying", { s }), progress: 1 });
  }, 500);
  setPrompt({ icon: "face", text: t("capture.uploading"), progress: 1 });
  speak(t("capture.uploading"), language(), $("speak-toggle").checked);
  const extension = clip.type === "video/mp4" ? "mp4" : "webm";
  try {
    for (let busyTries = 0; ; busyTries++) {
      const body = new FormData();
      body.set("nonce", state.challenge.nonce);
      body.set("clip", clip.blob, `clip.${extension}`);
      try {
        const answer = await api(`/sessions/${state.session.id}/capture`, {
          method: "POST",
          form: body,
        });
        clearInterval(waiting);
        showResult(answer);
        return;
      } catch (error) {
        // BUSY comes before the nonce is spent: the same clip is sent again after Retry-After
        if (error.code === "BUSY" && busyTries < 3) {
          const wait = (error.retryAfter || 5) * 1000;
          setPrompt({ icon: "face", text: t("capture.busy_wait", { s: wait / 1000 }) });
          await new Promise((r) => setTimeout(r, wait));
          continue;
        }
        throw error;
      }
    }
  } catch (error) {
    clearInterval(waiting);
    await captureFailed(error);
  }
}

// A capture the service could not judge (an unreadable clip, a clip too short, an expired
// challenge, a network failure): its nonce is spent, so the next Start asks the service for a
// new challenge the same way, while attempts are left.
async function captureFailed(error) {
  const message = problemText(error);
  const closing = ["SESSION_EXPIRED", "SESSION_CLOSED", "ID_LOCKED", "CONSENT_REFUSED"];
  let session = null;
  try {
    session = closing.includes(error.code) ? null : await api(`/sessions/${state.session.id}`);
  } catch {
    session = null;
  }
  if (!session || session.state !== "awaiting_capture" || session.attempts_left <= 0) {
    stopClock();
    showResult({ verdict: "failed", reasons: [], attempts_left: 0 }, message);
    return;
  }
  state.attemptsLeft = session.attempts_left;
  state.challenge = null;
  stopChallengeClock();
  showStep("capture");
  // What happened and what to do stays on the capture step (openCamera keeps it), with the
  // attempts left beside it.
  await openCamera(`${message} ${t("capture.new_challenge")}`);
}

// Re-said in the new language while no recording runs.
export function translateCapture() {
  if (state.recording) return;
  renderCaptureInfo();
  setPrompt({ text: t(state.closed ? "capture.ended" : "capture.ready") });
  showFraming(state.framing);
}

// The session can go no further (it expired): the camera closes, the framing advice and the
// prompt no longer claim anything, and Start is disabled (store.endSession says why).
export function captureEnded() {
  closeCamera();
  showFraming("");
  setPrompt({ text: t("capture.ended") });
  $("capture-camera").hidden = true;
}

export function wireCapture() {
  onLeave("capture", closeCamera); // the camera is on only while the step shows
  $("capture-start").addEventListener("click", runCapture);
  $("capture-camera").addEventListener("click", openCamera);
}
