// The few DOM helpers every page shares: look-up by id, an error box shown or hidden with its
// text, a notice paragraph, and the message a page shows when it cannot start.

export const $ = (id) => document.getElementById(id);

// An error box (role="alert" in the markup): shown with ``text``, hidden when ``text`` is "".
export function showError(element, text) {
  element.textContent = text;
  element.hidden = !text;
}

// A ``<p class="notice KIND">`` (ok, warn or bad); an alert is announced at once.
export function notice(kind, text, { alert = false } = {}) {
  const note = document.createElement("p");
  note.className = `notice ${kind}`;
  if (alert) note.setAttribute("role", "alert");
  note.textContent = text;
  return note;
}

// Shown when the page's dictionary cannot be loaded: no translation exists then, so the
// sentence is here in both languages (the one the browser prefers first).
export const TEXT_FAILED = {
  "zh-CN": "无法加载页面文字，页面不能使用。请刷新页面；如仍无法使用，请联系技术支持。",
  en: "The page's text could not be loaded, so the page cannot be used. Reload the page; if it still fails, call support.",
};

// A page that cannot start says so (instead of staying blank): one alert at the top of <main>,
// replaced by the next.
export function showPageError(lines) {
  const main = $("main") || document.body;
  let box = $("page-error");
  if (!box) {
    box = document.createElement("div");
    box.id = "page-error";
    box.className = "notice bad";
    box.setAttribute("role", "alert");
    main.prepend(box);
  }
  box.replaceChildren();
  for (const [lang, text] of lines) {
    const p = document.createElement("p");
    if (lang) p.lang = lang;
    p.textContent = text;
    box.append(p);
  }
  box.hidden = false;
}
