// A page's start: its dictionary first, then ``run`` (sign-in checks, first requests). Neither
// leaves a blank page when it fails: a dictionary that cannot be loaded is said in both
// languages (no translation exists then), any other failure in the page's language.

import { ApiError, problemText } from "./api.js";
import { showPageError } from "./dom.js";
import { setupLanguage, showTextFailed, t } from "./i18n.js";

export async function startPage(run) {
  try {
    await setupLanguage();
  } catch {
    showTextFailed();
    return;
  }
  try {
    await run();
  } catch (error) {
    const text =
      error instanceof ApiError ? problemText(error) : t("page.failed", { detail: String(error) });
    showPageError([["", text]]);
  }
}
