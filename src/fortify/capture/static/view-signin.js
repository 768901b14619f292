/* Sign in with the operator's API token (checked against GET /v1/me). */

import { ApiError, describe, request } from "./api.js";
import { fromTemplate, setStatus } from "./dom.js";

export function render(host, ctx) {
  const { root, refs } = fromTemplate("signin");
  host.replaceChildren(root);
  refs.form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const token = refs.token.value.trim();
    if (!token) {
      refs.token.setAttribute("aria-invalid", "true");
      setStatus("Enter your access token.", "error");
      refs.token.focus();
      return;
    }
    refs.token.removeAttribute("aria-invalid");
    refs.submit.disabled = true;
    setStatus("Checking the token…");
    try {
      const me = await request("/v1/me", { token });
      refs.token.value = "";
      setStatus("Signed in as " + me.name + " (" + me.role + ").", "ok");
      ctx.signedIn(token, me);
    } catch (err) {
      refs.token.setAttribute("aria-invalid", "true");
      setStatus(err instanceof ApiError && err.status === 401
        ? "That token was not accepted. Check it and try again." : describe(err), "error");
      refs.token.focus();
    } finally {
      refs.submit.disabled = false;
    }
  });
  return null;
}
