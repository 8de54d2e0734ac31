// The dashboard: sign-in, then hash routes #/jobs, #/jobs/<id>, #/submit.

import { ApiError, credential, get, signIn, signOut } from "./api.js";
import { clear, h } from "./dom.js";
import { jobList } from "./job_list.js";
import { jobPage } from "./job_page.js";
import { Live } from "./live.js";
import { submitPage } from "./submit_form.js";

const main = document.getElementById("main");
const errorBox = document.getElementById("error");
const notice = document.getElementById("live-notice");
const liveState = document.getElementById("live-state");
const identity = document.getElementById("identity");
const signOutButton = document.getElementById("sign-out");

let live = null;
let leave = () => {};

function showError(error) {
  const message = error instanceof ApiError || error instanceof Error ? error.message : String(error);
  errorBox.textContent = message;
  errorBox.hidden = false;
  errorBox.classList.add("error");
  if (error instanceof ApiError && error.status === 401) endSession("Your credential was refused: sign in again.");
}

function showMessage(text) {
  errorBox.textContent = text;
  errorBox.hidden = false;
  errorBox.classList.remove("error");
}

function clearMessages() {
  errorBox.hidden = true;
  errorBox.textContent = "";
}

function showMode(mode) {
  liveState.className = `live-state ${mode}`;
  liveState.textContent = mode === "live" ? "Live" : mode === "polling" ? "Polling" : "Connecting…";
  notice.hidden = mode !== "polling";
  notice.textContent = mode === "polling"
    ? "Live updates are unavailable (the events WebSocket could not be reached): the page reads the jobs again every 2 seconds."
    : "";
}

function startLive() {
  live = new Live({
    onMode: showMode,
    onIdentity: (who) => { identity.textContent = `${who.user_id || "?"} @ ${who.tenant_id || "?"}`; },
  });
  live.start();
}

function endSession(message) {
  signOut();
  if (live) live.stop();
  live = null;
  identity.textContent = "";
  liveState.textContent = "";
  notice.hidden = true;
  signOutButton.hidden = true;
  route();
  if (message) showMessage(message);
}

function signInPage() {
  const secret = h("input", { id: "credential", type: "password", autocomplete: "off", required: true, spellcheck: "false", "aria-describedby": "credential-help" });
  const events = h("input", { id: "events-url", type: "url", autocomplete: "off", placeholder: "ws://host/events" });
  const form = h("form", { class: "signin", "aria-label": "Sign in" },
    h("h2", { text: "Sign in" }),
    h("div", { class: "field" }, h("label", { for: "credential", text: "Token or API key" }), secret,
      h("small", { id: "credential-help", text: "A JWT, an API key (<id>-<64 letters and digits>) or a token from POST /auth/tokens. Kept in this tab's session storage only." })),
    h("details", {}, h("summary", { text: "Events URL (optional)" }),
      h("div", { class: "field" }, h("label", { for: "events-url", text: "The /events WebSocket, when not on this host" }), events)),
    h("button", { type: "submit", class: "primary", text: "Sign in" }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearMessages();
    signIn(secret.value, events.value);
    try {
      await get("/methods"); // proves the credential before anything is shown
    } catch (error) {
      signOut();
      showError(error);
      return;
    }
    secret.value = "";
    begin();
    if (!location.hash || location.hash === "#/" || location.hash === "#/signin") location.hash = "#/jobs";
    else route();
  });
  clear(main).append(form);
  secret.focus();
}

function begin() {
  signOutButton.hidden = false;
  if (!live) startLive();
}

function route() {
  leave();
  leave = () => {};
  if (!credential()) {
    signInPage();
    return;
  }
  clearMessages();
  const hash = location.hash.replace(/^#/, "") || "/jobs";
  const [where, search = ""] = hash.split("?");
  const params = new URLSearchParams(search);
  const context = { live, params, showError, showMessage };
  const job = where.match(/^\/jobs\/([^/]+)$/);
  if (job) leave = jobPage(main, { ...context, id: decodeURIComponent(job[1]) });
  else if (where === "/submit") leave = submitPage(main, context);
  else leave = jobList(main, context);
  main.focus({ preventScroll: true });
}

signOutButton.addEventListener("click", () => endSession("Signed out."));
window.addEventListener("hashchange", route);
if (credential()) begin();
route();
