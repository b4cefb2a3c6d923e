// Sign-in with a bearer token: checked with /api/pages/whoami, kept in sessionStorage.

import { Api, ApiError } from "./api.js";
import { t } from "./i18n.js";

// Shows #signin until a token of one of `roles` is given; resolves {api, principal}.
// `offlineOk`: a stored token whose check fails for lack of network is kept (tablets).
export function signIn({ roles, storageKey, offlineOk = false }) {
  const form = document.getElementById("signin");
  const app = document.getElementById("app");
  const input = form.querySelector("input[name=token]");
  const error = form.querySelector(".signin-error");

  async function check(token) {
    const api = new Api(token);
    const principal = await api.get("/api/pages/whoami");
    if (!roles.includes(principal.role)) {
      throw new ApiError(403, { detail: t("signin.wrong_role", { role: principal.role }) });
    }
    return { api, principal };
  }

  function show(done) {
    sessionStorage.setItem(storageKey, done.api.token);
    sessionStorage.setItem(`${storageKey}.principal`, JSON.stringify(done.principal));
    form.hidden = true;
    app.hidden = false;
    for (const node of document.querySelectorAll("[data-principal]")) {
      node.textContent = `${done.principal.name}${done.principal.van_id ? ` · ${done.principal.van_id}` : ""}`;
    }
    for (const button of document.querySelectorAll("[data-signout]")) {
      button.addEventListener("click", () => {
        sessionStorage.removeItem(storageKey);
        sessionStorage.removeItem(`${storageKey}.principal`);
        location.reload();
      });
    }
    return done;
  }

  return new Promise((resolve) => {
    const stored = sessionStorage.getItem(storageKey);
    const ask = () => {
      form.hidden = false;
      app.hidden = true;
      input.focus();
    };
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.textContent = "";
      const token = input.value.trim();
      if (!token) {
        error.textContent = t("signin.empty");
        return;
      }
      try {
        resolve(show(await check(token)));
      } catch (failure) {
        error.textContent = failure instanceof ApiError
          ? (failure.status === 401 ? t("signin.bad_token") : failure.message)
          : t("signin.offline");
      }
    });
    if (!stored) {
      ask();
      return;
    }
    check(stored).then((done) => resolve(show(done))).catch((failure) => {
      const principal = sessionStorage.getItem(`${storageKey}.principal`);
      if (offlineOk && !(failure instanceof ApiError) && principal) {
        resolve(show({ api: new Api(stored), principal: JSON.parse(principal) }));
      } else {
        ask();
      }
    });
  });
}
