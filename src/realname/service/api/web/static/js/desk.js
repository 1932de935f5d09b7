// The registration desk (clerks): consent -> ID card -> live capture -> result -> number ->
// receipt. The server judges everything; this page guides, uploads and explains.

import { ApiError, api, problemText, requireUser } from "./api.js";
import { Camera, CameraError, speak } from "./capture.js";
import { formatTime, language, onLanguageChange, renderReasons, setupLanguage, t } from "./i18n.js";

const CONSENT_VERSION = "web-2026-11";
const STEPS = ["consent", "card", "capture", "result", "number", "receipt"];
const $ = (id) => document.getElementById(id);

const state = {
  user: null,
  session: null, // {id, outlet_id, ...} of the registration in progress
  // The challenge of the capture in progress, from POST .../challenge when the customer is
  // framed and ready: {steps: [{action, prompt_s, window_end_s}], capture_s, nonce, valid_s}.
  challenge: null,
  attemptsLeft: 0,
  deadline: null, // Date.now() value when the session expires (from its TTL, not the clock)
  verdict: null, // passed | failed | review | approved
  reasons: [],
  binding: null,
  framing: "",
  recording: false,
};
const camera = new Camera($("camera"));

// ---------------------------------------------------------------- wizard frame

function showStep(name) {
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
  document.body.dataset.step = name;
  if (name !== "capture") camera.close();
  const heading = document.querySelector(`#step-${name} h2`);
  if (heading) heading.focus();
}

function showError(element, text) {
  element.textContent = text;
  element.hidden = !text;
}

function deskError(error) {
  showError($("desk-error"), error ? problemText(error) : "");
}

// The session clock: the service closes a session 180 s (REALNAME_SESSION_TTL_S) after consent.
function startClock(session) {
  const ttl = new Date(session.expires_at) - new Date(session.created_at);
  state.deadline = Date.now() + ttl;
  $("session-clock").hidden = false;
  tickClock();
}

function stopClock() {
  state.deadline = null;
  $("session-clock").hidden = true;
}

function tickClock() {
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
    camera.close();
  }
}
setInterval(tickClock, 1000);

function newRegistration() {
  camera.close();
  stopClock();
  Object.assign(state, {
    session: null,
    challenge: null,
    attemptsLeft: 0,
    verdict: null,
    reasons: [],
    binding: null,
  });
  $("card-form").reset();
  $("reader-data").value = "";
  $("reader-status").textContent = "";
  $("portrait-preview").hidden = true;
  $("card-photo-status").textContent = "";
  $("number-form").reset();
  $("number-status").replaceChildren();
  $("number-receipt").hidden = true;
  $("number-bind").disabled = false;
  deskError(null);
  showStep("consent");
}

// ---------------------------------------------------------------- 1. consent

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
    startClock(session);
    showStep("card");
  } catch (error) {
    deskError(error);
  } finally {
    for (const id of ["consent-accept", "consent-refuse"]) $(id).disabled = false;
  }
}

// ---------------------------------------------------------------- 2. ID card

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

// GB 11643-1999: the 18th character by ISO 7064 MOD 11-2. Returns a message key or "".
export function idNumberProblem(value) {
  const id = value.trim().toUpperCase();
  if (!/^\d{17}[\dX]$/.test(id)) return "card.id_number.invalid_format";
  const sum = WEIGHTS.reduce((acc, w, i) => acc + w * Number(id[i]), 0);
  if ("10X98765432"[sum % 11] !== id[17]) return "card.id_number.invalid_check";
  const y = Number(id.slice(6, 10));
  const m = Number(id.slice(10, 12));
  const d = Number(id.slice(12, 14));
  const birth = new Date(Date.UTC(y, m - 1, d));
  if (birth.getUTCMonth() !== m - 1 || birth.getUTCDate() !== d || birth > new Date()) {
    return "card.id_number.invalid_date";
  }
  return "";
}

function ageOn(birthIso, today = new Date()) {
  const [y, m, d] = birthIso.split("-").map(Number);
  let age = today.getFullYear() - y;
  if (today.getMonth() + 1 < m || (today.getMonth() + 1 === m && today.getDate() < d)) age -= 1;
  return age;
}

function syncFromIdNumber() {
  const input = $("card-id");
  const problem = input.value.trim() ? idNumberProblem(input.value) : "";
  $("card-id-error").textContent = problem ? t(problem) : "";
  input.setAttribute("aria-invalid", String(Boolean(problem)));
  if (!problem && input.value.trim()) {
    const id = input.value.trim().toUpperCase();
    input.value = id;
    // the chip repeats what the number says: fill the birth date and sex when still empty
    if (!$("card-birth").value) {
      $("card-birth").value = `${id.slice(6, 10)}-${id.slice(10, 12)}-${id.slice(12, 14)}`;
    }
    if (!$("card-sex").value) $("card-sex").value = Number(id[16]) % 2 ? "男" : "女";
  }
  syncGuardian();
}

function syncGuardian() {
  const birth = $("card-birth").value;
  $("guardian-field").hidden = !(birth && ageOn(birth) < 14);
}

const READER_FIELDS = {
  name: "card-name",
  sex: "card-sex",
  ethnicity: "card-ethnicity",
  birth_date: "card-birth",
  address: "card-address",
  id_number: "card-id",
  issuing_authority: "card-authority",
  valid_from: "card-from",
  valid_until: "card-until",
};
const READER_ALIASES = {
  姓名: "name",
  性别: "sex",
  民族: "ethnicity",
  出生: "birth_date",
  出生日期: "birth_date",
  住址: "address",
  公民身份号码: "id_number",
  身份证号: "id_number",
  签发机关: "issuing_authority",
  有效期起: "valid_from",
  有效期至: "valid_until",
};

function normaliseDate(value) {
  const v = String(value).trim();
  if (v === "长期" || v.toLowerCase() === "long-term") return "长期";
  const m = v.match(/^(\d{4})[-./年]?(\d{2})[-./月]?(\d{2})日?$/);
  return m ? `${m[1]}-${m[2]}-${m[3]}` : v;
}

// A reader's output pasted as JSON, or as "key: value" / "key<TAB>value" lines.
function parseReader(text) {
  let data = null;
  try {
    data = JSON.parse(text);
  } catch {
    data = {};
    for (const line of text.split(/\r?\n/)) {
      const m = line.match(/^\s*([^:：\t=]+?)\s*[:：\t=]\s*(.*?)\s*$/);
      if (m) data[m[1]] = m[2];
    }
  }
  const out = {};
  for (const [key, value] of Object.entries(data || {})) {
    const name = READER_ALIASES[key] || key;
    if (name in READER_FIELDS) out[name] = String(value);
  }
  return out;
}

function fillFromReader() {
  const fields = parseReader($("reader-data").value);
  const names = Object.keys(fields);
  if (!names.length) {
    $("reader-status").textContent = t("card.reader.invalid");
    return;
  }
  for (const [name, value] of Object.entries(fields)) {
    const input = $(READER_FIELDS[name]);
    let v = value.trim();
    if (["birth_date", "valid_from", "valid_until"].includes(name)) v = normaliseDate(v);
    if (name === "sex") v = /^(男|m|male)$/i.test(v) ? "男" : /^(女|f|female)$/i.test(v) ? "女" : "";
    if (name === "valid_until" && v === "长期") {
      $("card-long-term").checked = true;
      input.value = "";
      input.disabled = true;
      continue;
    }
    input.value = v;
  }
  syncFromIdNumber();
  $("reader-status").textContent = t("card.reader.filled", { count: names.length });
}

function cardMissing(form) {
  const missing = [];
  for (const [id, key] of [
    ["card-name", "card.name"],
    ["card-id", "card.id_number"],
    ["card-sex", "card.sex"],
    ["card-birth", "card.birth_date"],
    ["card-from", "card.valid_from"],
  ]) {
    if (!$(id).value.trim()) missing.push(t(key));
  }
  if (!$("card-until").value && !$("card-long-term").checked) missing.push(t("card.valid_until"));
  if (!form.portrait.files.length) missing.push(t("card.portrait"));
  return missing;
}

async function submitCard(event) {
  event.preventDefault();
  const form = $("card-form");
  const error = $("card-error");
  showError(error, "");
  const missing = cardMissing(form);
  if (missing.length) {
    showError(error, t("card.missing", { fields: missing.join(t("list.separator")) }));
    return;
  }
  const idProblem = idNumberProblem($("card-id").value);
  if (idProblem) {
    showError(error, t(idProblem));
    $("card-id").focus();
    return;
  }
  const body = new FormData();
  body.set("name", $("card-name").value.trim());
  body.set("sex", $("card-sex").value);
  body.set("ethnicity", $("card-ethnicity").value.trim());
  body.set("birth_date", $("card-birth").value);
  body.set("address", $("card-address").value.trim());
  body.set("id_number", $("card-id").value.trim().toUpperCase());
  body.set("issuing_authority", $("card-authority").value.trim());
  body.set("valid_from", $("card-from").value);
  body.set("valid_until", $("card-long-term").checked ? "" : $("card-until").value);
  body.set("guardian_consent", String($("card-guardian").checked));
  body.set("portrait", form.portrait.files[0]);
  $("card-submit").disabled = true;
  try {
    const session = await api(`/sessions/${state.session.id}/id-card`, {
      method: "PUT",
      form: body,
    });
    state.session = session;
    form.reset(); // the page keeps no card data once the service has it
    $("portrait-preview").hidden = true;
    $("card-until").disabled = false;
    showStep("capture");
    await openCamera();
  } catch (e) {
    if (e.code === "CARD_REFUSED" && e.reasons.length) {
      error.replaceChildren();
      const p = document.createElement("p");
      p.textContent = t("card.refused");
      const list = document.createElement("ul");
      renderReasons(list, e.reasons);
      error.append(p, list);
      error.hidden = false;
    } else if (e.code === "REQUEST_INVALID" && e.problem.errors) {
      const fields = e.problem.errors.map((x) => x.loc[x.loc.length - 1]).join(", ");
      showError(error, `${problemText(e)} (${fields})`);
    } else {
      showError(error, problemText(e));
    }
  } finally {
    $("card-submit").disabled = false;
  }
}

// ---------------------------------------------------------------- 3. live capture

function actionIcon(action) {
  return `img/${action}.svg`;
}

// No action is known before Start: the service reveals the challenge only then (and the
// customer must not act before each prompt, so the steps are never listed ahead).
function renderCaptureInfo() {
  const lines = [];
  if (state.recording && state.challenge) {
    lines.push(t("capture.length", { s: state.challenge.capture_s }));
  } else {
    lines.push(t("capture.on_start"));
  }
  lines.push(t("capture.attempts_left", { n: state.attemptsLeft }));
  $("capture-attempts").textContent = lines.join(" ");
}

function setPrompt({ step = "", icon = "face", text = "", count = "", progress = 0 }) {
  $("prompt-step").textContent = step;
  $("prompt-icon").src = actionIcon(icon);
  $("prompt-text").textContent = text;
  $("prompt-text").removeAttribute("data-i18n");
  $("prompt-count").textContent = count;
  $("prompt-progress").style.width = `${Math.round(progress * 100)}%`;
}

function showFraming(status) {
  state.framing = status;
  const line = $("framing");
  line.textContent = status ? t(`capture.frame.${status}`) : "";
  line.className = `framing ${status === "ok" ? "ok" : status ? "bad" : ""}`;
  const stage = $("stage");
  stage.classList.toggle("ok", status === "ok");
  stage.classList.toggle("bad", Boolean(status) && status !== "ok");
}

// The service's framing advice on a preview still (guidance only; the clip is judged on upload).
async function adviseFraming(blob) {
  const form = new FormData();
  form.append("frame", blob, "frame.jpg");
  const answer = await api(`/sessions/${state.session.id}/framing`, { method: "POST", form });
  return answer.advice;
}

async function openCamera() {
  camera.close();
  showError($("capture-error"), "");
  $("capture-start").disabled = true;
  $("capture-camera").hidden = true;
  state.challenge = null;
  renderCaptureInfo();
  setPrompt({ text: t("capture.camera.starting") });
  try {
    await camera.open();
  } catch (error) {
    const kind = error instanceof CameraError ? error.kind : "error";
    showError($("capture-error"), t(`capture.camera.${kind}`));
    $("capture-camera").hidden = false;
    setPrompt({ text: t("capture.camera.none_short") });
    return;
  }
  setPrompt({ text: t("capture.ready") });
  camera.startFraming(showFraming, adviseFraming);
  $("capture-start").disabled = false;
  $("capture-start").focus();
}

// Start waits until the framing check says the face is where the liveness check can use it.
const FRAMED_WITHIN_MS = 15_000;

function waitUntilFramed() {
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

function showPhase(p, steps, speakOn) {
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

function endRecording() {
  state.recording = false;
  $("stage").classList.remove("recording");
  $("rec-dot").hidden = true;
}

// When the customer is framed and ready: ask the service for this capture's challenge, start
// recording at once, show each prompt at its offset from the recording's start, record exactly
// capture_s, then upload. The challenge must be answered within its validity (valid_s to begin
// recording), so nothing may stand between the answer and the recorder.
async function runCapture() {
  showError($("capture-error"), "");
  $("capture-start").disabled = true;
  if (state.framing !== "ok") {
    setPrompt({ text: t("capture.wait_framing") });
    if (!(await waitUntilFramed())) {
      showError($("capture-error"), t("capture.not_framed"));
      setPrompt({ text: t("capture.ready") });
      $("capture-start").disabled = false;
      return;
    }
  }
  let challenge;
  try {
    challenge = await api(`/sessions/${state.session.id}/challenge`, { method: "POST" });
  } catch (error) {
    await captureRefused(error);
    return;
  }
  state.challenge = challenge;
  state.attemptsLeft = challenge.attempts_left;
  const steps = challenge.steps;
  const speakOn = $("speak-toggle").checked;
  $("stage").classList.add("recording");
  $("rec-dot").hidden = false;
  state.recording = true;
  renderCaptureInfo();
  let clip;
  try {
    clip = await camera.record(
      steps,
      Math.round(challenge.capture_s * 1000),
      (p) => showPhase(p, steps, speakOn),
      challenge.valid_s * 1000,
    );
  } catch (error) {
    endRecording();
    const expired = error && error.message === "expired";
    showError($("capture-error"), t(expired ? "error.CHALLENGE_EXPIRED" : "capture.camera.error"));
    setPrompt({ text: t("capture.ready") });
    renderCaptureInfo();
    $("capture-start").disabled = false;
    return;
  }
  endRecording();
  document.querySelector(".capture").scrollIntoView({ block: "start" });
  camera.stopFraming(); // the preview stays on while the service judges; closed with the step
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
  $("capture-start").disabled = false;
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
  showStep("capture");
  await openCamera();
  showError($("capture-error"), `${message} ${t("capture.new_challenge")}`);
}

// ---------------------------------------------------------------- 4. result

function showResult(answer, problem = "") {
  state.verdict = answer.verdict;
  state.reasons = answer.reasons || [];
  state.attemptsLeft = answer.attempts_left;
  state.challenge = null; // answered: a retry asks for a new one
  if (!(answer.verdict === "failed" && answer.attempts_left > 0)) stopClock();
  renderResult(problem);
  showStep("result");
  speak($("verdict").textContent, language(), $("speak-toggle").checked);
}

function renderResult(problem = state.problem || "") {
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

// While a case waits for the supervisor, the result page asks again every REVIEW_POLL_MS.
const REVIEW_POLL_MS = 10_000;
setInterval(() => {
  if (document.body.dataset.step === "result" && state.verdict === "review" && state.session) {
    refreshReview();
  }
}, REVIEW_POLL_MS);

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

// ---------------------------------------------------------------- 5. number binding

export function msisdnProblem(value) {
  const digits = value.replace(/[\s-]/g, "").replace(/^\+?86(?=\d{11}$)/, "");
  if (!/^\d{11}$/.test(digits)) return ["number.invalid_length", digits];
  if (!/^1[3-9]/.test(digits)) return ["number.invalid_prefix", digits];
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
    const note = document.createElement("p");
    note.className = "notice bad";
    note.textContent = t("number.cap_reached", { max: list.max_numbers });
    $("number-status").replaceChildren(note);
  }
  return list;
}

async function toNumber() {
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
  const [problem, digits] = msisdnProblem(input.value);
  $("msisdn-error").textContent = problem ? t(problem) : "";
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
    const note = document.createElement("p");
    note.className = "notice ok";
    note.textContent = t("number.bound", { msisdn: state.binding.msisdn_masked });
    status.append(note);
    input.value = "";
    await loadNumbers();
    $("number-receipt").hidden = false;
    $("number-receipt").focus();
  } catch (error) {
    const note = document.createElement("p");
    note.className = "notice bad";
    note.setAttribute("role", "alert");
    note.textContent = problemText(error);
    status.append(note);
    $("number-bind").disabled = false;
  }
}

// ---------------------------------------------------------------- 6. receipt

function renderReceipt() {
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

// ---------------------------------------------------------------- wiring

function wire() {
  $("consent-version").textContent = CONSENT_VERSION;
  $("consent-accept").addEventListener("click", () => startSession(true));
  $("consent-refuse").addEventListener("click", () => startSession(false));
  for (const button of document.querySelectorAll(".new-registration")) {
    button.addEventListener("click", newRegistration);
  }
  $("reader-fill").addEventListener("click", fillFromReader);
  $("card-id").addEventListener("change", syncFromIdNumber);
  $("card-birth").addEventListener("change", syncGuardian);
  $("card-long-term").addEventListener("change", (e) => {
    $("card-until").disabled = e.target.checked;
    if (e.target.checked) $("card-until").value = "";
  });
  $("card-portrait").addEventListener("change", (e) => {
    const file = e.target.files[0];
    const img = $("portrait-preview");
    if (img.src) URL.revokeObjectURL(img.src);
    img.hidden = !file;
    if (file) img.src = URL.createObjectURL(file);
  });
  $("card-photo").addEventListener("change", (e) => {
    $("card-photo-status").textContent = e.target.files.length ? t("card.photo.unavailable") : "";
    e.target.value = "";
  });
  $("card-form").addEventListener("submit", submitCard);
  $("capture-start").addEventListener("click", runCapture);
  $("capture-camera").addEventListener("click", openCamera);
  $("result-retry").addEventListener("click", async () => {
    showStep("capture");
    await openCamera();
  });
  $("result-refresh").addEventListener("click", refreshReview);
  $("result-number").addEventListener("click", toNumber);
  $("number-form").addEventListener("submit", bindNumber);
  $("number-receipt").addEventListener("click", () => {
    renderReceipt();
    showStep("receipt");
  });
  $("receipt-print").addEventListener("click", () => window.print());
  onLanguageChange(() => {
    const step = document.body.dataset.step;
    if (step === "capture" && !state.recording) {
      renderCaptureInfo();
      setPrompt({ text: t("capture.ready") });
      if (state.framing) showFraming(state.framing);
    }
    if (step === "result") renderResult();
    if (step === "receipt") renderReceipt();
    if (step === "number" && state.session) loadNumbers().catch(() => {});
    tickClock();
  });
}

await setupLanguage();
state.user = await requireUser(["clerk"]);
if (state.user) {
  wire();
  showStep("consent");
}
