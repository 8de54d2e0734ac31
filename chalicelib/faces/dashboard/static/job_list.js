// The job list (#/jobs): newest first, paged, filtered, counted by state, and
// kept current by the events (or by polling).

import { get } from "./api.js";
import { Revisions } from "./live.js";
import { STATES, clear, duration, h, progressBar, stateBadge, time } from "./dom.js";

const PAGE = 20;
const FILL_CALLS = 10;
const FILTER_NAMES = ["state", "method", "user_id", "created_after", "created_before", "filters", "top"];
const TOP_LEVEL = ["parent_id", "=", null];

// The free filters, and with `top` the one that hides sub-jobs: a list of
// filters as GET /jobs reads it (text that is not one goes as it is: the
// API's answer says what is wrong with it).
function queryFilters(filters) {
  if (!filters.top) return filters.filters;
  if (!filters.filters) return JSON.stringify([TOP_LEVEL]);
  try {
    const given = JSON.parse(filters.filters);
    return Array.isArray(given) ? JSON.stringify([...given, TOP_LEVEL]) : filters.filters;
  } catch {
    return filters.filters;
  }
}

// What the form holds (also the hash's query) to GET /jobs's parameters.
function apiQuery(filters) {
  const query = {};
  for (const name of ["state", "method", "user_id"]) if (filters[name]) query[name] = filters[name];
  const free = queryFilters(filters);
  if (free) query.filters = free;
  for (const name of ["created_after", "created_before"]) {
    if (!filters[name]) continue;
    const date = new Date(filters[name]);
    query[name] = Number.isNaN(date.getTime()) ? filters[name] : date.toISOString();
  }
  return query;
}

function field(label, control) {
  return h("div", { class: "field" }, h("label", { for: control.id, text: label }), control);
}

function filterForm(filters, methods, apply) {
  const state = h("select", { id: "filter-state", name: "state" },
    h("option", { value: "", text: "any" }),
    STATES.map((name) => h("option", { value: name, text: name, selected: filters.state === name })));
  const method = h("select", { id: "filter-method", name: "method" },
    h("option", { value: "", text: "any" }),
    methods.map((name) => h("option", { value: name, text: name, selected: filters.method === name })));
  const user = h("input", { id: "filter-user", name: "user_id", value: filters.user_id || "", autocomplete: "off" });
  const after = h("input", { id: "filter-after", name: "created_after", type: "datetime-local", value: filters.created_after || "" });
  const before = h("input", { id: "filter-before", name: "created_before", type: "datetime-local", value: filters.created_before || "" });
  const text = h("input", {
    id: "filter-query", name: "filters", value: filters.filters || "", autocomplete: "off", spellcheck: "false",
    placeholder: '[["progress.percent", ">=", 50]]', "aria-describedby": "filter-query-help",
  });
  const form = h("form", { class: "filters", "aria-label": "Filters" },
    field("State", state), field("Method", method), field("User", user),
    field("Created after", after), field("Created before", before),
    h("div", { class: "field wide" }, h("label", { for: text.id, text: "Query filters (JSON)" }), text,
      h("small", { id: "filter-query-help", text: "TrueNAS query-filters, as GET /jobs takes them: a list of [field, op, value]." })),
    h("div", { class: "field" }, h("label", {},
      h("input", { id: "filter-top", name: "top", type: "checkbox", value: "1", checked: Boolean(filters.top) }),
      " Hide sub-jobs")),
    h("div", { class: "field" }, h("button", { type: "submit", class: "primary", text: "Apply filters" })),
    h("div", { class: "field" }, h("button", { type: "button", text: "Clear", onclick: () => apply({}) })));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const chosen = {};
    for (const name of FILTER_NAMES) {
      const input = form.elements[name];
      const value = input.type === "checkbox" ? (input.checked ? "1" : "") : input.value.trim();
      if (value) chosen[name] = value;
    }
    apply(chosen);
  });
  return form;
}

// A job's cells; null where the method's link goes (it never changes).
function jobCells(job) {
  return [
    h("td", { class: "progress-cell", "data-label": "Progress" }, progressBar(job, `Progress of ${job.method} ${job.id}`)),
    h("td", { "data-label": "State" }, stateBadge(job.state)),
    null,
    h("td", { "data-label": "Description", text: job.progress?.description || job.description || "" }),
    h("td", { class: "num", "data-label": "Created", text: time(job.time_created) }),
    h("td", { class: "num", "data-label": "Finished", text: time(job.time_finished) }),
    h("td", { class: "num", "data-label": "Duration", text: duration(job) }),
  ];
}

function jobRow(job) {
  const link = h("a", { href: `#/jobs/${encodeURIComponent(job.id)}`, text: job.method });
  const row = h("tr", { "data-id": job.id, "data-state": job.state },
    ...jobCells(job).map((cell) => cell || h("td", { "data-label": "Method" }, link)));
  return row;
}

// A job that moved on keeps its row and link: only the other cells are made
// again, so a click or the focus on the link is never lost to an update.
function refreshRow(row, job) {
  row.dataset.state = job.state;
  jobCells(job).forEach((cell, index) => { if (cell) row.children[index].replaceWith(cell); });
}

export function jobList(main, { live, params, showError }) {
  const filters = Object.fromEntries(FILTER_NAMES.filter((n) => params.get(n)).map((n) => [n, params.get(n)]));
  const query = apiQuery(filters);
  const jobs = new Map();
  const shownRows = new Map();
  const revisions = new Revisions();
  const tokens = [null]; // the token of each page shown so far: [0] is the first page
  let next = null;
  let countsPending = null;

  const counts = h("ul", { class: "counts", "aria-label": "Jobs by state" });
  const body = h("tbody");
  const table = h("table", { class: "jobs" },
    h("caption", { class: "sr-only", text: "Jobs, newest first" }),
    h("thead", {}, h("tr", {}, ["Progress", "State", "Method", "Description", "Created", "Finished", "Duration"]
      .map((title) => h("th", { scope: "col", text: title })))), body);
  const status = h("p", { class: "message", "aria-live": "polite" });
  const previous = h("button", { type: "button", text: "Newer jobs", disabled: true, onclick: () => turn(-1) });
  const older = h("button", { type: "button", text: "Older jobs", disabled: true, onclick: () => turn(1) });
  const form = h("div", {}, h("p", { class: "message", text: "Loading methods…" }));
  clear(main).append(h("h2", { text: "Jobs" }), form, counts, status,
    h("div", { class: "table-wrap" }, table), h("nav", { class: "pager", "aria-label": "Pages of jobs" }, previous, older));

  function apply(chosen) {
    const kept = Object.entries(chosen).filter(([, value]) => value);
    location.hash = `#/jobs${kept.length ? `?${new URLSearchParams(kept)}` : ""}`;
  }

  get("/methods").then((answer) => {
    form.replaceWith(filterForm(filters, answer.methods.map((m) => m.name), apply));
  }).catch(showError);

  function render() {
    const ordered = [...jobs.values()].sort((a, b) => (b.time_created || "").localeCompare(a.time_created || ""));
    // A job keeps its row; only a job that moved on has its cells made again.
    const rows = ordered.map((job) => {
      const kept = shownRows.get(job.id);
      if (kept && kept.revision === job.revision && kept.updated === job.time_updated) return kept.row;
      const row = kept ? kept.row : jobRow(job);
      if (kept) refreshRow(row, job);
      shownRows.set(job.id, { row, revision: job.revision, updated: job.time_updated });
      return row;
    });
    for (const id of shownRows.keys()) if (!jobs.has(id)) shownRows.delete(id);
    rows.forEach((row, index) => {
      if (body.children[index] !== row) body.insertBefore(row, body.children[index] || null);
    });
    while (body.children.length > rows.length) body.lastElementChild.remove();
    status.textContent = ordered.length ? "" : next ? "None on this page: older jobs may match." : "No jobs match.";
    previous.disabled = tokens.length < 2;
    older.disabled = !next;
  }

  // One page of the list. A filter no index serves (hiding sub-jobs, free
  // filters) may answer short pages that go on: read on, a few calls at most.
  async function load() {
    try {
      const records = [];
      let token = tokens[tokens.length - 1] || undefined;
      for (let call = 0; call < FILL_CALLS; call++) {
        const page = await get("/jobs", { ...query, limit: PAGE - records.length, next_token: token });
        records.push(...page.records);
        token = page.next_token || undefined;
        if (!token || records.length >= PAGE) break;
      }
      jobs.clear();
      for (const job of records) {
        revisions.fresh(job);
        jobs.set(job.id, job);
      }
      next = token || null;
      render();
    } catch (error) {
      showError(error);
    }
  }

  function turn(step) {
    if (step > 0 && next) tokens.push(next);
    if (step < 0 && tokens.length > 1) tokens.pop();
    load();
  }

  async function loadCounts() {
    const others = { ...query };
    delete others.state;
    const names = ["all", ...STATES];
    try {
      const answers = await Promise.all(names.map((name) =>
        get("/jobs", { ...others, ...(name === "all" ? {} : { state: name }), count: "true" })));
      counts.replaceChildren(...names.map((name, index) => {
        const chosen = name === "all" ? !filters.state : filters.state === name;
        const button = h("button", {
          type: "button", "aria-pressed": chosen ? "true" : "false", "data-state": name,
          text: `${name === "all" ? "All" : name} ${answers[index].count}`,
          onclick: () => apply({ ...filters, ...(name === "all" ? { state: undefined } : { state: name }) }),
        });
        return h("li", {}, button);
      }));
    } catch (error) {
      showError(error);
    }
  }

  function countsSoon() {
    if (countsPending) return;
    countsPending = setTimeout(() => {
      countsPending = null;
      loadCounts();
    }, 1000);
  }

  function onEvent(event) {
    const onFirstPage = tokens.length === 1;
    if (event.event === "removed") {
      jobs.delete(event.job_id);
    } else if (event.job && revisions.fresh(event.job)) {
      const shown = jobs.has(event.job_id);
      const leftTheFilter = query.state && !query.state.split(",").includes(event.job.state);
      if (leftTheFilter) jobs.delete(event.job_id);
      else if (shown || onFirstPage) jobs.set(event.job_id, event.job);
    } else if (event.truncated && jobs.has(event.job_id)) {
      get(`/jobs/${encodeURIComponent(event.job_id)}`, { children: "none" })
        .then((job) => { if (revisions.fresh(job)) { jobs.set(job.id, job); render(); } }).catch(() => {});
    }
    if (onFirstPage && jobs.size > PAGE) {
      const ordered = [...jobs.values()].sort((a, b) => (b.time_created || "").localeCompare(a.time_created || ""));
      for (const job of ordered.slice(PAGE)) jobs.delete(job.id);
    }
    render();
    if (event.event !== "changed" || (event.fields || []).includes("state")) countsSoon();
  }

  const unsubscribe = live.subscribe(query, { onEvent, refresh: () => { load(); countsSoon(); } });
  load();
  loadCounts();
  return () => {
    unsubscribe();
    clearTimeout(countsPending);
  };
}
