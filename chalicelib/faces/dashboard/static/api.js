// The REST API, called with the credential the user signed in with. The
// credential lives in sessionStorage only: never in a URL, never logged.

const CREDENTIAL = "jobapi.dashboard.credential";
const EVENTS_URL = "jobapi.dashboard.events_url";

// The API's root: the page is served at <root>/ui/ (root "" on `make run`,
// the stage's path on API Gateway).
export const root = location.pathname.replace(/\/ui(\/.*)?$/, "");

export function credential() {
  return sessionStorage.getItem(CREDENTIAL);
}

export function signIn(value, eventsUrl) {
  sessionStorage.setItem(CREDENTIAL, value.trim());
  if (eventsUrl) sessionStorage.setItem(EVENTS_URL, eventsUrl.trim());
  else sessionStorage.removeItem(EVENTS_URL);
}

export function signOut() {
  sessionStorage.removeItem(CREDENTIAL);
  sessionStorage.removeItem(EVENTS_URL);
}

// A bare API key, JWT or token is sent as Bearer; one typed with its scheme
// ("Token ...", "Basic ...") as it is.
export function authorization() {
  const value = credential() || "";
  return /^(Bearer|Token|Basic) /i.test(value) ? value : `Bearer ${value}`;
}

export function eventsUrl() {
  const chosen = sessionStorage.getItem(EVENTS_URL);
  if (chosen) return chosen;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${root}/events`;
}

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

async function failure(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // not JSON: the status says it
  }
  const error = body && body.error;
  if (error && error.message) return new ApiError(response.status, error.code, error.message, error.details);
  return new ApiError(response.status, "http_error", `${response.status} ${response.statusText}`.trim());
}

export function query(parameters) {
  const pairs = Object.entries(parameters).filter(([, value]) => value !== undefined && value !== null && value !== "");
  return pairs.length ? `?${new URLSearchParams(pairs)}` : "";
}

// One call: the parsed JSON answer (null for 204), or the text with `text`.
// Any refusal throws an ApiError carrying the API's own message.
export async function call(method, path, { params = {}, body, form, text = false } = {}) {
  const headers = { Authorization: authorization() };
  let payload;
  if (form) payload = form;
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(`${root}${path}${query(params)}`, { method, headers, body: payload, cache: "no-store" });
  } catch (error) {
    throw new ApiError(0, "network_error", `The API could not be reached (${error.message}).`);
  }
  if (!response.ok) throw await failure(response);
  if (response.status === 204) return null;
  return text ? response.text() : response.json();
}

export const get = (path, params) => call("GET", path, { params });
