// Step 2: the ID card's fields (typed, read from a card photo by the service, or pasted from a
// card reader, whose JSON answer the service parses itself) and the portrait: the chip's, or
// the one printed on the card when the chip's is not at hand.
// The number is checked here as the service checks it (GET /api/v1/rules gives the form, the
// alphabet and the earliest birth year); only the check character's arithmetic lives here.

import { ApiError, api, problemText } from "../api.js";
import { $, showError } from "../dom.js";
import { renderReasons, t } from "../i18n.js";
import { openCamera } from "./capture.js";
import {
  CARD_FIELDS,
  correctedFields,
  printedPortrait,
  resetCardPhoto,
  wireCardPhoto,
} from "./cardphoto.js";
import { showStep, state } from "./store.js";

// GB 11643-1999: the 18th character by ISO 7064 MOD 11-2.
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK = "10X98765432";

// The form the service reads (realname.identity.identifiers): Unicode NFKC (full-width forms
// fold), spaces dropped, upper case.
export function canonicalIdNumber(value) {
  return value.trim().normalize("NFKC").replace(/ /g, "").toUpperCase();
}

// A message key, or "" for a number the service accepts; ``rule`` is the rules' id_number.
export function idNumberProblem(value, rule, today = new Date()) {
  const id = canonicalIdNumber(value);
  if (id.length !== rule.length || !new RegExp(`^(?:${rule.pattern})$`).test(id)) {
    return "card.id_number.invalid_format";
  }
  const sum = WEIGHTS.reduce((acc, w, i) => acc + w * Number(id[i]), 0);
  if (CHECK[sum % 11] !== id[17]) return "card.id_number.invalid_check";
  const y = Number(id.slice(6, 10));
  const m = Number(id.slice(10, 12));
  const d = Number(id.slice(12, 14));
  const birth = new Date(Date.UTC(y, m - 1, d));
  if (
    birth.getUTCFullYear() !== y ||
    birth.getUTCMonth() !== m - 1 ||
    birth.getUTCDate() !== d ||
    birth > today ||
    y < rule.min_birth_year
  ) {
    return "card.id_number.invalid_date";
  }
  return "";
}

function idProblemText(key) {
  return t(key, { year: state.rules.id_number.min_birth_year });
}

function ageOn(birthIso, today = new Date()) {
  const [y, m, d] = birthIso.split("-").map(Number);
  let age = today.getFullYear() - y;
  if (today.getMonth() + 1 < m || (today.getMonth() + 1 === m && today.getDate() < d)) age -= 1;
  return age;
}

// What the number itself says: the birth date (characters 7-14) and the sex (the 17th: odd
// for men), as the service derives them.
export function fromIdNumber(id) {
  return {
    birth: `${id.slice(6, 10)}-${id.slice(10, 12)}-${id.slice(12, 14)}`,
    sex: Number(id[16]) % 2 ? "男" : "女",
  };
}

// The birth date and sex against the number's: each field that disagrees is flagged with what
// the number says (the service refuses such a card: CARD_BIRTH_DATE_MISMATCH, CARD_SEX_MISMATCH).
// Returns the codes of the disagreements.
function checkDerived() {
  const input = $("card-id");
  const valid = input.value.trim() && !idNumberProblem(input.value, state.rules.id_number);
  const derived = valid ? fromIdNumber(canonicalIdNumber(input.value)) : null;
  const codes = [];
  for (const [field, flag, key, code] of [
    ["card-birth", "card-birth-flag", "birth", "CARD_BIRTH_DATE_MISMATCH"],
    ["card-sex", "card-sex-flag", "sex", "CARD_SEX_MISMATCH"],
  ]) {
    const value = $(field).value;
    const differs = Boolean(derived && value && value !== derived[key]);
    let shown = derived ? derived[key] : "";
    if (key === "sex" && derived) {
      shown = t(derived.sex === "男" ? "card.sex.male" : "card.sex.female");
    }
    $(flag).textContent = differs ? t("card.derived.mismatch", { value: shown }) : "";
    if (differs) $(flag).dataset.code = code;
    else delete $(flag).dataset.code;
    $(field).setAttribute("aria-invalid", String(differs));
    if (differs) codes.push(code);
  }
  return codes;
}

function syncFromIdNumber() {
  const input = $("card-id");
  const rule = state.rules.id_number;
  const problem = input.value.trim() ? idNumberProblem(input.value, rule) : "";
  const error = $("card-id-error");
  error.textContent = problem ? idProblemText(problem) : "";
  // The code the service would answer for this number (docs/errors.md).
  if (problem) error.dataset.code = rule.error_code;
  else delete error.dataset.code;
  input.setAttribute("aria-invalid", String(Boolean(problem)));
  if (!problem && input.value.trim()) {
    const id = canonicalIdNumber(input.value);
    input.value = id;
    // the chip repeats what the number says: the birth date and sex are filled in from it
    // (when still empty) for the clerk to confirm against the card; a disagreement is flagged
    const derived = fromIdNumber(id);
    if (!$("card-birth").value) $("card-birth").value = derived.birth;
    if (!$("card-sex").value) $("card-sex").value = derived.sex;
  }
  $("card-id-derived").hidden = Boolean(problem) || !input.value.trim();
  checkDerived();
  syncGuardian();
}

function syncGuardian() {
  const birth = $("card-birth").value;
  $("guardian-field").hidden = !(birth && ageOn(birth) < state.rules.card.guardian_age);
}

const READER_FIELDS = CARD_FIELDS;
// A chip reader's JSON answer, pasted: sent as it is (``chip``) for the service to parse
// (realname.cards.chip); its portrait, when it holds one, is the reference.
const chip = { json: "", portrait: false };
const PORTRAIT_KEYS = ["portrait", "photobuffer", "photo", "base64photo", "picture", "image"];

function chipAnswer(text) {
  try {
    const data = JSON.parse(text);
    if (!data || typeof data !== "object" || Array.isArray(data)) return null;
    // Chinese field names are this page's own paste format, filled in here only
    if (Object.keys(data).some((k) => k in READER_ALIASES)) return null;
    const inner = Object.values(data).find((v) => v && typeof v === "object") || {};
    const keys = [...Object.keys(data), ...Object.keys(inner)].map((k) =>
      k.toLowerCase().replace(/[-_]/g, ""),
    );
    const portrait = keys.some((k) => PORTRAIT_KEYS.includes(k));
    return { json: text.trim(), portrait };
  } catch {
    return null;
  }
}
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
  const text = $("reader-data").value;
  const fields = parseReader(text);
  const names = Object.keys(fields);
  const answer = chipAnswer(text);
  chip.json = answer ? answer.json : "";
  chip.portrait = Boolean(answer && answer.portrait);
  if (!names.length && !answer) {
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
  if (chip.json) $("reader-status").textContent += ` ${t("card.reader.chip")}`;
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
  if (!form.portrait.files.length && !printedPortrait() && !chip.portrait) {
    missing.push(t("card.portrait"));
  }
  return missing;
}

// A problem the page finds before sending, said as the service's answer would say it.
function refuse(error, code, context = {}) {
  showError(error, problemText(new ApiError(422, { code, context })));
  error.dataset.code = code;
}

function showRefusal(error, reasons) {
  error.replaceChildren();
  const p = document.createElement("p");
  p.textContent = t("card.refused");
  const list = document.createElement("ul");
  renderReasons(list, reasons);
  error.append(p, list);
  error.dataset.code = "CARD_REFUSED";
  error.hidden = false;
}

async function submitCard(event) {
  event.preventDefault();
  const form = $("card-form");
  const error = $("card-error");
  showError(error, "");
  delete error.dataset.code;
  const missing = cardMissing(form);
  if (missing.length) {
    showError(error, t("card.missing", { fields: missing.join(t("list.separator")) }));
    return;
  }
  const rule = state.rules.id_number;
  const idProblem = idNumberProblem($("card-id").value, rule);
  if (idProblem) {
    refuse(error, rule.error_code);
    $("card-id").focus();
    return;
  }
  const mismatches = checkDerived();
  if (mismatches.length) {
    showRefusal(error, mismatches);
    $(mismatches[0] === "CARD_SEX_MISMATCH" ? "card-sex" : "card-birth").focus();
    return;
  }
  const uploads = state.rules.uploads;
  const chipFile = form.portrait.files[0];
  if (chipFile && chipFile.size > uploads.max_image_bytes) {
    refuse(error, uploads.too_large_code, { max_bytes: uploads.max_image_bytes });
    $("card-portrait").focus();
    return;
  }
  const body = new FormData();
  body.set("name", $("card-name").value.trim());
  body.set("sex", $("card-sex").value);
  body.set("ethnicity", $("card-ethnicity").value.trim());
  body.set("birth_date", $("card-birth").value);
  body.set("address", $("card-address").value.trim());
  body.set("id_number", canonicalIdNumber($("card-id").value));
  body.set("issuing_authority", $("card-authority").value.trim());
  body.set("valid_from", $("card-from").value);
  body.set("valid_until", $("card-long-term").checked ? "" : $("card-until").value);
  body.set("guardian_consent", String($("card-guardian").checked));
  const printed = chipFile ? null : printedPortrait();
  if (chipFile) body.set("portrait", chipFile);
  else if (printed) body.set("portrait", printed, "printed-portrait.png");
  body.set("portrait_source", printed ? "printed" : "chip");
  body.set("ocr_corrected", correctedFields().join(","));
  if (chip.json) {
    // a file part: a reader's answer with its base64 portrait is longer than a form field
    body.set("chip", new Blob([chip.json], { type: "application/json" }), "chip.json");
  }
  $("card-submit").disabled = true;
  try {
    const session = await api(`/sessions/${state.session.id}/id-card`, {
      method: "PUT",
      form: body,
    });
    state.session = session;
    resetCard(); // the page keeps no card data once the service has it
    $("portrait-preview").hidden = true;
    $("card-until").disabled = false;
    showStep("capture");
    await openCamera();
  } catch (e) {
    if (e.code === "CARD_REFUSED" && e.reasons.length) {
      showRefusal(error, e.reasons);
      checkDerived();
    } else if (
      ["NO_FACE", "MULTIPLE_FACES"].includes(e.code) &&
      e.problem.context &&
      e.problem.context.role === "reference"
    ) {
      // the chip portrait itself is unusable: said at once, before any capture
      showError(error, t(`card.portrait.${e.code}`));
      error.dataset.code = e.code;
      $("card-portrait").focus();
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

export function resetCard() {
  $("card-form").reset();
  $("card-id-derived").hidden = true;
  for (const id of ["card-birth-flag", "card-sex-flag", "card-id-error"]) {
    $(id).textContent = "";
    delete $(id).dataset.code;
  }
  showError($("card-error"), "");
  $("reader-data").value = "";
  $("reader-status").textContent = "";
  chip.json = "";
  chip.portrait = false;
  $("portrait-preview").hidden = true;
  resetCardPhoto();
}

// The chip fields' lengths, as the service limits them.
function applyLimits() {
  const fields = {
    name: "card-name",
    ethnicity: "card-ethnicity",
    address: "card-address",
    id_number: "card-id",
    issuing_authority: "card-authority",
  };
  for (const [name, id] of Object.entries(fields)) {
    const max = state.rules.card.max_lengths[name];
    if (max) $(id).maxLength = max;
  }
}

export function wireCard() {
  applyLimits();
  $("reader-fill").addEventListener("click", fillFromReader);
  $("card-id").addEventListener("change", syncFromIdNumber);
  $("card-birth").addEventListener("change", () => {
    checkDerived();
    syncGuardian();
  });
  $("card-sex").addEventListener("change", checkDerived);
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
  wireCardPhoto(syncFromIdNumber);
  $("card-form").addEventListener("submit", submitCard);
}
