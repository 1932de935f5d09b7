// The sign-in page: username and password for a bearer token (POST /api/v1/auth/token), then
// the clerk's desk or the supervisor's review queue.

import { ApiError, landingFor, problemText, signIn, token, whoAmI } from "./api.js";
import { setupLanguage, t } from "./i18n.js";

const form = document.getElementById("signin");
const error = document.getElementById("signin-error");
const submit = document.getElementById("signin-submit");

function showError(text) {
  error.textContent = text;
  error.hidden = false;
}

async function go() {
  const user = await whoAmI();
  const page = landingFor(user.role);
  if (page) {
    location.assign(page);
    return;
  }
  const note = document.getElementById("signed-in-elsewhere");
  note.textContent = t("signin.no_pages", { role: t(`role.${user.role}`) });
  note.hidden = false;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.hidden = true;
  const username = form.username.value.trim();
  const password = form.password.value;
  if (!username || !password) {
    showError(t("signin.missing"));
    (username ? form.password : form.username).focus();
    return;
  }
  submit.disabled = true;
  submit.textContent = t("signin.busy");
  try {
    await signIn(username, password);
    await go();
  } catch (e) {
    showError(e instanceof ApiError ? problemText(e) : String(e));
    form.password.value = "";
    form.password.focus();
  } finally {
    submit.disabled = false;
    submit.textContent = t("signin.submit");
  }
});

await setupLanguage();
if (token()) {
  try {
    await go();
  } catch {
    sessionStorage.clear();
  }
}
form.username.focus();
