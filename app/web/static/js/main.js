// The page: sign-in, then the job list (#/) or one job (#/jobs/<id>).

import { api, ApiError, onUnauthorized, session } from "./api.js";
import { fill, h, say } from "./dom.js";
import { renderJobs } from "./jobs.js";
import { renderJob } from "./transcript.js";

const main = document.getElementById("main");
const account = document.getElementById("account");
const accountKey = document.getElementById("account-key");
let view = null; // the AbortController of the view on screen
let notice = "";

function showAccount() {
  const key = session.key;
  account.hidden = !key;
  accountKey.textContent = key ? `Key ${key.slice(0, 11)}…` : "";
}

function route({ focus = true } = {}) {
  if (view) view.abort();
  view = new AbortController();
  showAccount();
  const match = location.hash.match(/^#\/jobs\/([0-9a-fA-F-]{36})$/);
  if (!session.key) {
    renderSignIn(view.signal);
  } else if (match) {
    renderJob(main, match[1], view.signal);
  } else {
    renderJobs(main, view.signal);
  }
  if (focus) main.focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

function renderSignIn(signal) {
  const input = h("input", {
    id: "api-key",
    name: "api-key",
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
    placeholder: "sr_…",
  });
  const status = h("p", { class: "status", role: "status", "aria-live": "polite" });
  const button = h("button", { type: "submit", class: "button primary", id: "sign-in" }, "Sign in");
  const form = h(
    "form",
    {
      class: "card signin",
      async onsubmit(event) {
        event.preventDefault();
        const key = input.value.trim();
        if (!key) return;
        button.disabled = true;
        say(status, "Checking the key…");
        try {
          await api("models", { key, signal });
          session.signIn(key);
          notice = "";
          route();
        } catch (error) {
          if (signal.aborted) return;
          const refused = error instanceof ApiError && error.status === 401;
          say(status, refused ? "That key is unknown or revoked." : `Could not sign in: ${error.message}`, "error");
          button.disabled = false;
          input.focus();
        }
      },
    },
    h("h1", {}, "Sign in"),
    h(
      "p",
      { class: "muted" },
      "Use an API key of this server (an operator makes one with ",
      h("code", {}, "scribe keys create"),
      "). It is kept in this browser tab only and forgotten when the tab closes.",
    ),
    h("label", { for: "api-key" }, "API key"),
    input,
    button,
    status,
  );
  if (notice) say(status, notice, "error");
  fill(main, form);
  input.focus();
}

onUnauthorized((message) => {
  if (!session.key) return;
  session.signOut();
  notice = `Signed out: ${message || "the key was refused"}`;
  route();
});

document.getElementById("sign-out").addEventListener("click", () => {
  session.signOut();
  notice = "";
  location.hash = "#/";
  route();
});

window.addEventListener("hashchange", () => route());
route({ focus: false });
