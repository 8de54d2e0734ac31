// Small helpers to build the page from data: text is always set as text,
// never parsed as HTML, so nothing a job holds can run in the page.

export function h(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name in node && typeof value !== "string") node[name] = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

export const STATES = ["WAITING", "RUNNING", "SUCCESS", "FAILED", "ABORTED"];
export const TERMINAL = new Set(["SUCCESS", "FAILED", "ABORTED"]);

export function time(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

export function duration(job) {
  if (!job.time_started) return "";
  const end = job.time_finished ? new Date(job.time_finished) : new Date();
  const seconds = Math.max(0, (end - new Date(job.time_started)) / 1000);
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

export function percentOf(job) {
  const percent = job.progress && job.progress.percent;
  return typeof percent === "number" ? Math.max(0, Math.min(100, percent)) : 0;
}

// A bar: a real <progress>, named for screen readers, with its number beside it.
export function progressBar(job, label) {
  const percent = percentOf(job);
  const bar = h("progress", { max: "100", value: String(percent), "aria-label": label });
  return h("div", { class: "bar" }, bar, h("span", { text: `${Math.round(percent)}%` }));
}

export function stateBadge(state) {
  return h("span", { class: `state state-${state}`, text: state });
}

export function pretty(value) {
  return JSON.stringify(value, null, 2);
}
