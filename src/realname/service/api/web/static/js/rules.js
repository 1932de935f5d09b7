// The rules and limits the pages check before they send anything (GET /api/v1/rules), from the
// service's own sources: asked once per page load, then kept.

import { api } from "./api.js";

let loading = null;

export function loadRules() {
  if (loading === null) {
    loading = api("/rules").catch((error) => {
      loading = null; // a failed request is asked again next time
      throw error;
    });
  }
  return loading;
}
