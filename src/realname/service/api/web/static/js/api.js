// The service's HTTP API from the pages: the bearer token lives in sessionStorage (gone when the
// tab closes); every error is problem+json with a stable `code`, turned into ApiError.

import { $, notice } from "./dom.js";
import { has, onLanguageChange, placeholders, t } from "./i18n.js";

const TOKEN = "realname.token";
export const API = "/api/v1";

export class ApiError extends Error {
  constructor(status, problem = {}, retryAfter = null) {
    super(problem.detail || `HTTP ${status}`);
    this.status = status;
    this.code = problem.code || (status === 0 ? "NETWORK" : `HTTP_${status}`);
    this.problem = problem;
    this.reasons = Array.isArray(problem.reasons) ? problem.reasons : [];
    this.retryAfter = retryAfter === null ? null : Number(retryAfter);
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN);
}

// ``blob``: the body as a Blob; ``raw``: the Response itself (to read its headers too).
// ``headers``: more request headers (the citizen look-up's own token).
export async function api(
  path,
  { method = "GET", json, form, blob = false, raw = false, headers: extra = {} } = {},
) {
  const headers = { ...extra };
  const bearer = token();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form; // FormData (multipart) or URLSearchParams (form-urlencoded)
  }
  let response;
  try {
    response = await fetch(API + path, { method, headers, body, cache: "no-store" });
  } catch (error) {
    throw new ApiError(0, { code: "NETWORK", detail: String(error) });
  }
  if (!response.ok) {
    let problem = {};
    try {
      problem = await response.json();
    } catch {
      problem = {};
    }
    throw new ApiError(response.status, problem, response.headers.get("Retry-After"));
  }
  if (raw) return response;
  if (response.status === 204) return null;
  return blob ? response.blob() : response.json();
}

export async function signIn(username, password) {
  const form = new URLSearchParams({ username, password });
  const answer = await api("/auth/token", { method: "POST", form });
  sessionStorage.setItem(TOKEN, answer.access_token);
  return answer;
}

export async function signOut() {
  try {
    if (token()) await api("/auth/token", { method: "DELETE" });
  } finally {
    sessionStorage.removeItem(TOKEN);
    location.assign("./");
  }
}

export async function whoAmI() {
  return api("/auth/me");
}

// A clear sentence for a problem's code (docs/errors.md), with its parameters.
export function problemText(error) {
  const code = error.code || "INTERNAL";
  const context = (error.problem && error.problem.context) || {};
  const params = {
    ...context, // e.g. duration_s and required_s of CLIP_TOO_SHORT
    code,
    detail: error.message,
    seconds: error.retryAfter ?? "",
    minutes: error.retryAfter ? Math.ceil(error.retryAfter / 60) : "",
  };
  // A sentence with the measured values (e.g. the frame rate that arrived), where the answer
  // gives every value it names; else the code's general sentence.
  const measured = `error.${code}.measured`;
  if (has(measured) && placeholders(measured).every((name) => name in context)) {
    return t(measured, params);
  }
  if (has(`error.${code}`)) return t(`error.${code}`, params);
  return t("error.unknown", params);
}

// Page start for a signed-in role: no token (or a revoked one) goes back to the sign-in page.
export async function requireUser(roles) {
  if (!token()) {
    location.replace("./");
    return null;
  }
  let user;
  try {
    user = await whoAmI();
  } catch (error) {
    if (error.status === 401) {
      sessionStorage.removeItem(TOKEN);
      location.replace("./");
      return null;
    }
    throw error;
  }
  const who = $("who");
  const render = () => {
    if (!who) return;
    who.textContent = t("who.signed_in", {
      user: user.username,
      role: t(`role.${user.role}`),
      outlet: user.outlet || t("outlet.none"),
    });
  };
  render();
  onLanguageChange(render);
  const out = $("sign-out");
  if (out) {
    out.hidden = false;
    out.addEventListener("click", () => signOut());
  }
  if (!roles.includes(user.role)) {
    const note = notice("bad", t("page.forbidden"), { alert: true });
    note.dataset.i18n = "page.forbidden";
    $("main").replaceChildren(note);
    return null;
  }
  return user;
}

export function landingFor(role) {
  if (role === "clerk") return "desk.html";
  if (role === "supervisor" || role === "auditor") return "reviews.html";
  return null;
}
