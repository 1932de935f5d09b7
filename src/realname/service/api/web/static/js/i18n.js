// Translations: one JSON dictionary per language in ../i18n/, chosen by the browser's language
// (Chinese first) with a visible switch; the choice is remembered in localStorage.
//
// Markup carries keys: data-i18n (text), data-i18n-placeholder, data-i18n-aria-label,
// data-i18n-title. Scripts call t(key, params) and re-render on onLanguageChange.

import { $, TEXT_FAILED, showPageError } from "./dom.js";

export const LANGUAGES = ["zh-CN", "en"];
const STORE = "realname.lang";
const LARGE = "realname.largeText";

let dictionary = {};
let current = "zh-CN";
const listeners = [];

export function pickLanguage() {
  const stored = localStorage.getItem(STORE);
  if (LANGUAGES.includes(stored)) return stored;
  for (const lang of navigator.languages || [navigator.language || ""]) {
    const l = String(lang).toLowerCase();
    if (l.startsWith("zh")) return "zh-CN";
    if (l.startsWith("en")) return "en";
  }
  return "zh-CN";
}

export function language() {
  return current;
}

export function has(key) {
  return Object.prototype.hasOwnProperty.call(dictionary, key);
}

export function t(key, params = {}) {
  const text = has(key) ? dictionary[key] : key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}

// The {names} a sentence takes.
export function placeholders(key) {
  return has(key) ? [...dictionary[key].matchAll(/\{(\w+)\}/g)].map((m) => m[1]) : [];
}

export function translate(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]"))
    el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll("[data-i18n-aria-label]"))
    el.setAttribute("aria-label", t(el.dataset.i18nAriaLabel));
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  const title = document.querySelector("title[data-i18n]");
  if (title) document.title = t(title.dataset.i18n);
}

export function onLanguageChange(listener) {
  listeners.push(listener);
}

// The dictionary could not be loaded: said in both languages, the browser's first.
export function showTextFailed() {
  const first = pickLanguage();
  const order = [first, ...LANGUAGES.filter((lang) => lang !== first)];
  showPageError(order.map((lang) => [lang, TEXT_FAILED[lang]]));
}

export async function setLanguage(lang) {
  const response = await fetch(`i18n/${lang}.json`, { cache: "no-cache" });
  if (!response.ok) throw new Error(`dictionary ${lang}: HTTP ${response.status}`);
  dictionary = await response.json();
  current = lang;
  document.documentElement.lang = lang;
  translate();
  for (const listener of listeners) listener(lang);
}

// The header's controls: the language switch (labelled in the other language) and large text.
export async function setupLanguage() {
  if (localStorage.getItem(LARGE) === "1") document.documentElement.classList.add("large-text");
  await setLanguage(pickLanguage());
  const toggle = $("lang-switch");
  if (toggle) {
    toggle.addEventListener("click", async () => {
      const next = current === "zh-CN" ? "en" : "zh-CN";
      localStorage.setItem(STORE, next);
      try {
        await setLanguage(next);
      } catch {
        showTextFailed();
        return;
      }
      toggle.focus();
    });
  }
  const large = $("large-text");
  if (large) {
    const sync = () =>
      large.setAttribute(
        "aria-pressed",
        String(document.documentElement.classList.contains("large-text")),
      );
    sync();
    large.addEventListener("click", () => {
      const on = document.documentElement.classList.toggle("large-text");
      localStorage.setItem(LARGE, on ? "1" : "0");
      sync();
    });
  }
}

// Human sentences for reason codes; PROBE_* and REFERENCE_* name the image they concern.
export function reasonText(code) {
  if (has(`reason.${code}`)) return t(`reason.${code}`);
  for (const [prefix, key] of [
    ["PROBE_", "reason.prefix.probe"],
    ["REFERENCE_", "reason.prefix.reference"],
  ]) {
    if (code.startsWith(prefix) && has(`reason.${code.slice(prefix.length)}`)) {
      return t(key, { message: t(`reason.${code.slice(prefix.length)}`) });
    }
  }
  return t("reason.unknown", { code });
}

// A list item per reason: the sentence, then the code in small print (for support calls).
export function renderReasons(list, codes) {
  list.replaceChildren();
  for (const code of codes) {
    const li = document.createElement("li");
    li.dataset.code = code;
    li.append(reasonText(code));
    const small = document.createElement("code");
    small.textContent = code;
    li.append(small);
    list.append(li);
  }
}

export function formatTime(iso) {
  const date = new Date(iso);
  return date.toLocaleString(current, { hour12: false });
}
