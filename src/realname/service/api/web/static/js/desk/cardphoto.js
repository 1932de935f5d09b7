// The card photographed and read by the service (POST .../id-card/photo): the fields it read
// are filled in for the clerk to confirm or correct, each with its confidence (a low one is
// marked), the reading's reasons listed and its disagreements with what was typed shown beside
// the fields, and the printed portrait offered as the match reference when the card's chip
// portrait is not at hand. The photo is read on the server and not kept; nothing of it is kept
// here either beyond the form itself.

import { api, problemText } from "../api.js";
import { $ } from "../dom.js";
import { renderReasons, t } from "../i18n.js";
import { state } from "./store.js";

// The card's fields (realname.cards.reading.FIELD_NAMES) and their inputs.
export const CARD_FIELDS = {
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
const LONG_TERM = "长期";

// What the photo filled in (field name -> the value it put in the form), and the printed
// portrait it returned (a Blob), until the card is submitted or the page is reset.
const ocr = { filled: new Map(), portrait: null };

function formValue(name) {
  if (name === "valid_until" && $("card-long-term").checked) return LONG_TERM;
  return $(CARD_FIELDS[name]).value.trim();
}

function setValue(name, text) {
  const input = $(CARD_FIELDS[name]);
  if (name === "valid_until") {
    const long = text === LONG_TERM;
    $("card-long-term").checked = long;
    input.disabled = long;
    input.value = long ? "" : text;
    return;
  }
  input.value = text;
}

function fieldBox(name) {
  return $(CARD_FIELDS[name]).closest(".field");
}

function noteFor(name) {
  const box = fieldBox(name);
  let note = box.querySelector(".ocr-note");
  if (!note) {
    note = document.createElement("span");
    note.className = "ocr-note";
    note.id = `${CARD_FIELDS[name]}-ocr`;
    box.append(note);
  }
  return note;
}

function clearNotes() {
  for (const name of Object.keys(CARD_FIELDS)) {
    const box = fieldBox(name);
    box.classList.remove("ocr-low", "ocr-disagrees", "ocr-corrected");
    const note = box.querySelector(".ocr-note");
    if (note) note.remove();
  }
}

function showConfidence(field, low) {
  const note = noteFor(field.name);
  const percent = Math.round(field.confidence * 100);
  note.textContent = t("card.photo.confidence", { percent });
  if (low) note.textContent += ` · ${t("card.photo.low")}`;
  note.classList.toggle("low", low);
  note.dataset.confidence = String(field.confidence);
  fieldBox(field.name).classList.toggle("ocr-low", low);
}

function showDisagreement(d) {
  if (!(d.field in CARD_FIELDS)) return;
  const note = noteFor(d.field);
  const text =
    d.read === null
      ? t("card.photo.disagrees_unread", { given: d.given })
      : t("card.photo.disagrees", { read: d.read, given: d.given });
  const span = document.createElement("span");
  span.className = "ocr-note disagrees";
  span.dataset.code = `PHOTO_DISAGREES_${d.field.toUpperCase()}`;
  span.textContent = text;
  note.after(span);
  fieldBox(d.field).classList.add("ocr-disagrees");
}

// What the clerk already typed, sent with the photo to be compared with it.
function typedFields() {
  const typed = {};
  for (const name of Object.keys(CARD_FIELDS)) {
    const value = formValue(name);
    if (value) typed[name] = value;
  }
  return typed;
}

function dataUriBlob(uri) {
  const [head, body] = uri.split(",", 2);
  const type = head.slice("data:".length).split(";")[0];
  const bytes = Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
  return new Blob([bytes], { type });
}

function showPortrait(uri) {
  const img = $("printed-preview");
  if (img.src) URL.revokeObjectURL(img.src);
  ocr.portrait = uri ? dataUriBlob(uri) : null;
  $("printed-field").hidden = !ocr.portrait;
  if (ocr.portrait) img.src = URL.createObjectURL(ocr.portrait);
  else img.removeAttribute("src");
  // offered as the reference when no chip portrait was chosen; the clerk decides
  $("use-printed").checked = Boolean(ocr.portrait) && !$("card-portrait").files.length;
}

function apply(reading) {
  clearNotes();
  ocr.filled.clear();
  const low = state.rules.card.low_confidence;
  for (const field of reading.fields) {
    if (!(field.name in CARD_FIELDS)) continue;
    setValue(field.name, field.text);
    ocr.filled.set(field.name, formValue(field.name));
    showConfidence(field, field.confidence < low);
  }
  for (const d of reading.disagreements) showDisagreement(d);
  renderReasons($("card-photo-reason-list"), reading.reasons);
  $("card-photo-reasons").hidden = !reading.reasons.length;
  const status = $("card-photo-status");
  status.textContent = ocr.filled.size
    ? t("card.photo.filled", { count: ocr.filled.size })
    : t("card.photo.none");
  showPortrait(reading.portrait);
}

function photoStatus(text, code) {
  const status = $("card-photo-status");
  status.textContent = text;
  if (code) status.dataset.code = code;
  else delete status.dataset.code;
}

async function readCardPhoto(onFilled) {
  const front = $("card-photo").files[0];
  const back = $("card-photo-back").files[0];
  if (!front) {
    photoStatus(t("card.missing", { fields: t("card.photo.front") }));
    $("card-photo").focus();
    return;
  }
  const uploads = state.rules.uploads;
  if ([front, back].some((f) => f && f.size > uploads.max_image_bytes)) {
    photoStatus(t(`error.${uploads.too_large_code}`), uploads.too_large_code);
    return;
  }
  const body = new FormData();
  body.set("front", front);
  if (back) body.set("back", back);
  for (const [name, value] of Object.entries(typedFields())) body.set(name, value);
  photoStatus(t("card.photo.reading"));
  $("card-photo-read").disabled = true;
  try {
    const reading = await api(`/sessions/${state.session.id}/id-card/photo`, {
      method: "POST",
      form: body,
    });
    apply(reading);
    onFilled();
  } catch (e) {
    photoStatus(e.code === "CARD_READER_OFF" ? t("card.photo.unavailable") : problemText(e), e.code);
  } finally {
    $("card-photo-read").disabled = !state.rules.card.photo_reader;
  }
}

// The fields the clerk changed after the photo filled them (names only: ocr_corrected).
export function correctedFields() {
  return [...ocr.filled].filter(([name, value]) => formValue(name) !== value).map(([n]) => n);
}

// The printed portrait, when the clerk chose it as the reference (else null).
export function printedPortrait() {
  return $("use-printed").checked && ocr.portrait ? ocr.portrait : null;
}

function markCorrected(name) {
  if (!ocr.filled.has(name)) return;
  const corrected = formValue(name) !== ocr.filled.get(name);
  const box = fieldBox(name);
  box.classList.toggle("ocr-corrected", corrected);
  const note = noteFor(name);
  note.dataset.corrected = String(corrected);
  const mark = box.querySelector(".ocr-corrected-note");
  if (corrected && !mark) {
    const span = document.createElement("span");
    span.className = "ocr-note ocr-corrected-note";
    span.textContent = t("card.photo.corrected");
    note.after(span);
  } else if (!corrected && mark) {
    mark.remove();
  }
}

export function resetCardPhoto() {
  clearNotes();
  ocr.filled.clear();
  showPortrait(null);
  $("card-photo").value = "";
  $("card-photo-back").value = "";
  $("card-photo-reasons").hidden = true;
  $("card-photo-reason-list").replaceChildren();
  photoStatus(state.rules && !state.rules.card.photo_reader ? t("card.photo.unavailable") : "");
}

// ``onFilled``: what the card step does after the form was filled (the number's checks).
export function wireCardPhoto(onFilled) {
  const available = state.rules.card.photo_reader;
  $("card-photo-read").disabled = !available;
  $("card-photo").disabled = !available;
  $("card-photo-back").disabled = !available;
  if (!available) photoStatus(t("card.photo.unavailable"), "CARD_READER_OFF");
  $("card-photo-read").addEventListener("click", () => readCardPhoto(onFilled));
  for (const name of Object.keys(CARD_FIELDS)) {
    $(CARD_FIELDS[name]).addEventListener("change", () => markCorrected(name));
  }
  $("card-long-term").addEventListener("change", () => markCorrected("valid_until"));
  $("card-portrait").addEventListener("change", (e) => {
    if (e.target.files.length) $("use-printed").checked = false;
  });
}
