// The sign-in page: username and password for a bearer token (POST /api/v1/auth/token), then
// the clerk's desk or the supervisor's review queue.

import { ApiError, landingFor, problemText, signIn, token, whoAmI } from "./api.js";
import { $, showError } from "./dom.js";
import { t } from "./i18n.js";
import { startPage } from "./page.js";

const form = $("signin");
const error = $("signin-error");
const submit = $("signin-submit");
// Signed in already when the page opened (read now: a sign-in while the dictionary loads must
// not be taken for one).
const signedIn = Boolean(token());

async function go() {
  const user = await whoAmI();
  const page = landingFor(user.role);
  if (page) {
    location.assign(page);
    return;
  }
  const note = $("signed-in-elsewhere");
  note.textContent = t("signin.no_pages", { role: t(`role.${user.role}`) });
  note.hidden = false;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.hidden = true;
  const username = form.username.value.trim();
  const password = form.password.value;
  if (!username || !password) {
    showError(error, t("signin.missing"));
    (username ? form.password : form.username).focus();
    return;
  }
  submit.disabled = true;
  submit.textContent = t("signin.busy");
  try {
    await signIn(username, password);
    await go();
  } catch (e) {
    showError(error, e instanceof ApiError ? problemText(e) : String(e));
    form.password.value = "";
    form.password.focus();
  } finally {
    submit.disabled = false;
    submit.textContent = t("signin.submit");
  }
});

startPage(async () => {
  if (signedIn) {
    try {
      await go();
    } catch {
      sessionStorage.clear();
    }
  }
  form.username.focus();
});
