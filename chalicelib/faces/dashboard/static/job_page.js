// One job (#/jobs/<id>): its record, bar, error, log, file, children, and
// the buttons that act on it.

import { call, get, root } from "./api.js";
import { Revisions } from "./live.js";
import { TERMINAL, clear, duration, h, pretty, progressBar, stateBadge, time } from "./dom.js";

const CHILD_PAGE = 50;
// Re-reads of a last page that brings nothing new before giving up (about a
// minute with the backoff): a fan-out still spawning fills it meanwhile.
const REREADS = 15;
const LOG_FOLLOW_MS = 2000;

function path(id, tail = "") {
  return `/jobs/${encodeURIComponent(id)}${tail}`;
}

function rollup(summary) {
  const parts = [["total", summary.total], ["active", summary.active], ["SUCCESS", summary.SUCCESS],
    ["FAILED", summary.FAILED], ["ABORTED", summary.ABORTED]];
  return h("p", { class: "rollup", "data-rollup": "" },
    parts.map(([name, count]) => h("span", { "data-count": name, text: `${name}: ${count}` })));
}

// A parent's children, one page at a time, each that has children of its own
// opened on demand (the tree, as deep as it goes).
function childList(parentId, live, showError) {
  const list = h("ul", { "aria-label": "Sub-jobs" });
  const more = h("button", { type: "button", text: "More sub-jobs", hidden: true, onclick: () => page() });
  const container = h("div", {}, list, more);
  const items = new Map();
  const revisions = new Revisions();
  let token = null; // the next page's
  let lastToken = null; // the last page's own
  let capacity = 0; // the children the pages read so far may hold
  let expected = Infinity; // what the parent counts
  let loading = false;
  let retries = 0;
  let stopped = false;
  let wantMore = false; // "More sub-jobs" was pressed while a read was under way

  // A child's entry. It stays while the child moves on (only its badge, bar,
  // message and count are made again), so a press on it is never lost and a
  // subtree opened under it stays open.
  function item(job) {
    let latest = job;
    let badge = stateBadge(job.state);
    let bar = progressBar(job, `Progress of sub-job ${job.id}`);
    const message = h("span", { class: "message" });
    const row = h("div", { class: "child" },
      h("a", { href: `#/jobs/${encodeURIComponent(job.id)}`, text: `${job.method} ${job.number ?? ""}`.trim() }),
      badge, bar, message);
    const node = h("li", { "data-child": job.id }, row);
    const nested = h("div", { class: "nested" });
    let toggle = null;
    let opened = null;

    function openOrClose() {
      const open = toggle.getAttribute("aria-expanded") === "true";
      toggle.setAttribute("aria-expanded", open ? "false" : "true");
      if (open) {
        opened.stop();
        opened = null;
        clear(nested);
      } else {
        opened = childList(latest.id, live, showError);
        opened.expect(latest.children_summary.total);
        nested.append(opened.element);
      }
    }

    function update(next) {
      latest = next;
      node.dataset.state = next.state;
      message.textContent = next.progress?.description || next.error || "";
      const total = next.children_summary && next.children_summary.total;
      if (total && !toggle) {
        toggle = h("button", { type: "button", "aria-expanded": "false", onclick: openOrClose });
        row.append(toggle);
        node.append(nested);
      }
      if (toggle) toggle.textContent = `Sub-jobs (${total})`;
      if (opened) opened.expect(total);
    }

    function moveOn(next) {
      const fresh = [stateBadge(next.state), progressBar(next, `Progress of sub-job ${next.id}`)];
      badge.replaceWith(fresh[0]);
      bar.replaceWith(fresh[1]);
      [badge, bar] = fresh;
      update(next);
    }

    update(job);
    return { node, moveOn, stop: () => opened && opened.stop() };
  }

  function show(job) {
    if (!revisions.fresh(job)) return;
    const kept = items.get(job.id);
    if (kept) {
      kept.moveOn(job);
      return;
    }
    const entry = item(job);
    items.set(job.id, entry);
    list.append(entry.node);
  }

  // Oldest first, so that children made later join the end: while the last
  // page read is short of what the parent counts, it is read again.
  async function page(again = false) {
    if (stopped) return;
    if (loading) {
      // A reread or a retry is under way: the press is kept, not dropped.
      if (!again) wantMore = true;
      return;
    }
    loading = true;
    const before = items.size;
    const from = again ? lastToken : token;
    try {
      const answer = await get(path(parentId, "/children"), { limit: CHILD_PAGE, order_by: "time_created", next_token: from || undefined });
      if (!again) {
        capacity += CHILD_PAGE;
        lastToken = from;
      }
      answer.records.forEach(show);
      token = answer.next_token || null;
      more.hidden = !token;
    } catch (error) {
      showError(error);
    } finally {
      loading = false;
    }
    // No next page yet, and the parent counts more: its children are still
    // being made. The last page is read again (it comes back with a next page
    // once one exists), backing off while nothing new shows up.
    const unfinished = !token && items.size < expected;
    retries = unfinished && items.size === before ? retries + 1 : 0;
    if (unfinished && !stopped && retries < REREADS) {
      setTimeout(() => page(true), Math.min(500 * 2 ** retries, 5000));
    }
    morePressed();
  }

  // The press kept while a read was under way, once it has ended.
  function morePressed() {
    if (!wantMore || loading || stopped) return;
    wantMore = false;
    if (token) page();
  }

  // Every page shown, read again (polling, or a subscription that just began).
  async function reread() {
    if (loading || stopped) return;
    loading = true;
    try {
      let from;
      for (let read = 0; read < capacity; read += CHILD_PAGE) {
        const answer = await get(path(parentId, "/children"), { limit: CHILD_PAGE, order_by: "time_created", next_token: from });
        answer.records.forEach(show);
        from = answer.next_token || undefined;
        if (!from) break;
      }
    } catch {
      // the next poll tries again; the page shows what it had
    } finally {
      loading = false;
    }
    morePressed();
  }

  function expect(total) {
    expected = total;
    if (!token && !loading && items.size < total) page(true);
  }

  // Live: the children already shown move on (the parent's roll-up says the rest).
  const unsubscribe = live.subscribe({ parent_id: parentId }, {
    onEvent: (event) => { if (event.job && items.has(event.job_id)) show(event.job); },
    refresh: reread,
  });
  page();
  const stop = () => {
    stopped = true;
    unsubscribe();
    for (const entry of items.values()) entry.stop();  // the subtrees opened under it
  };
  return { element: container, stop, expect };
}

export function jobPage(main, { live, id, showError, showMessage }) {
  let job = null;
  let children = null;
  let logTimer = null;
  const revisions = new Revisions();

  const heading = h("h2", { text: `Job ${id}` });
  const summary = h("div", { class: "summary" });
  const failure = h("div", { class: "failure" });
  const download = h("div", { class: "download" });
  const result = h("div", { class: "result" });
  const record = h("pre", { id: "record", tabindex: "0", "aria-label": "The job's record" });
  const childrenSection = h("section", { class: "children", "aria-labelledby": "children-title", hidden: true },
    h("h3", { id: "children-title", text: "Sub-jobs" }));
  const log = h("pre", { id: "log", tabindex: "0", "aria-label": "The job's log" });
  const follow = h("input", { id: "follow-log", type: "checkbox", checked: true });
  const actions = h("div", { class: "actions" },
    h("button", { type: "button", id: "cancel", class: "danger", text: "Cancel job", onclick: cancel }),
    h("button", { type: "button", id: "fetch-result", text: "Fetch result", onclick: fetchResult }),
    h("button", { type: "button", id: "delete", class: "danger", text: "Delete job", onclick: remove }),
    h("a", { href: "#/jobs", text: "Back to the list" }));

  clear(main).append(heading, summary, actions, failure, download, result, childrenSection,
    h("section", { "aria-labelledby": "log-title" }, h("h3", { id: "log-title", text: "Log" }),
      h("div", { class: "actions" },
        h("label", {}, follow, " Follow the log"),
        h("button", { type: "button", text: "Read the log again", onclick: readLog })),
      log),
    h("section", { "aria-labelledby": "record-title" }, h("h3", { id: "record-title", text: "Record" }), record));

  function render() {
    heading.textContent = `${job.method} ${job.id}`;
    clear(summary).append(h("dl", { class: "record" },
      h("dt", { text: "State" }), h("dd", { id: "job-state" }, stateBadge(job.state)),
      h("dt", { text: "Progress" }), h("dd", {}, progressBar(job, "Progress of this job")),
      h("dt", { text: "Description" }), h("dd", { id: "job-progress-description", text: job.progress?.description || "" }),
      job.description && h("dt", { text: "Submitted as" }), job.description && h("dd", { text: job.description }),
      h("dt", { text: "Created" }), h("dd", { text: time(job.time_created) }),
      h("dt", { text: "Started" }), h("dd", { text: time(job.time_started) }),
      h("dt", { text: "Finished" }), h("dd", { text: time(job.time_finished) }),
      h("dt", { text: "Duration" }), h("dd", { text: duration(job) }),
      h("dt", { text: "User" }), h("dd", { text: `${job.user_id || ""} (tenant ${job.tenant_id})` }),
      job.parent_id && h("dt", { text: "Parent" }),
      job.parent_id && h("dd", {}, h("a", { href: `#/jobs/${encodeURIComponent(job.parent_id)}`, text: job.parent_id }))));
    document.getElementById("cancel").disabled = TERMINAL.has(job.state);
    clear(failure);
    if (job.error || job.exception) {
      failure.append(h("h3", { text: "Error" }), h("p", { id: "job-error", class: "error", text: job.error || "" }));
      if (job.exception) failure.append(h("details", { open: true }, h("summary", { text: "Traceback" }), h("pre", { id: "traceback", text: job.exception })));
    }
    renderDownload();
    renderChildren();
    record.textContent = pretty(job);
  }

  function renderDownload() {
    clear(download);
    if (!job.download) return;
    download.append(h("h3", { text: "File" }), h("p", { text: `${job.download.filename || "file"}: ${job.download.state}` }));
    if (job.download.state === "READY") {
      download.append(h("button", { type: "button", id: "download-link", text: "Get the download link", onclick: async () => {
        try {
          const answer = await call("POST", path(job.id, "/download_link"), { body: {} });
          download.append(h("p", {}, h("a", { href: `${root}${answer.download_url}`, download: job.download.filename || "", text: "Download (once)" })));
        } catch (error) {
          showError(error);
        }
      } }));
    }
  }

  function renderChildren() {
    const counts = job.children_summary;
    if (!counts || !counts.total) return;
    childrenSection.hidden = false;
    const old = childrenSection.querySelector("[data-rollup]");
    const fresh = h("div", { "data-rollup": "" }, rollup(counts),
      h("div", { class: "bar" }, h("progress", { max: String(counts.total), value: String(counts.total - counts.active), "aria-label": "Sub-jobs finished" }),
        h("span", { text: `${counts.total - counts.active}/${counts.total}` })));
    if (old) old.replaceWith(fresh);
    else childrenSection.append(fresh);
    if (!children) {
      children = childList(job.id, live, showError);
      childrenSection.append(children.element);
    }
    children.expect(counts.total);
  }

  async function reload() {
    try {
      const fresh = await get(path(id), { children: "none" });
      if (revisions.fresh(fresh)) {
        job = fresh;
        render();
      }
    } catch (error) {
      showError(error);
    }
  }

  async function readLog() {
    try {
      const text = await call("GET", path(id, "/logs"), { text: true });
      log.textContent = text || "(nothing logged yet)";
      if (follow.checked) log.scrollTop = log.scrollHeight;
    } catch (error) {
      log.textContent = error.message;
    }
  }

  function followLog() {
    clearInterval(logTimer);
    logTimer = setInterval(() => {
      if (!follow.checked) return;
      readLog();
      if (job && TERMINAL.has(job.state)) clearInterval(logTimer);
    }, LOG_FOLLOW_MS);
  }

  async function cancel() {
    if (!window.confirm(`Cancel job ${id}?`)) return;
    try {
      const answer = await call("POST", path(id, "/cancel"), { body: {} });
      if (revisions.fresh(answer)) {
        job = answer;
        render();
      }
      showMessage(`Cancel asked: the job is ${answer.state}.`);
    } catch (error) {
      showError(error);
    }
  }

  async function fetchResult() {
    try {
      const answer = await get(path(id, "/result"));
      clear(result).append(h("h3", { text: "Result" }),
        answer === null ? h("p", { id: "job-result", text: "The job has not finished: no result yet." })
          : h("pre", { id: "job-result", tabindex: "0", text: pretty(answer) }));
    } catch (error) {
      showError(error);
    }
  }

  async function remove() {
    if (!window.confirm(`Delete job ${id}, its files and its sub-jobs?`)) return;
    try {
      const answer = await call("DELETE", path(id));
      showMessage(`Deleted ${answer.deleted} job(s).`);
      location.hash = "#/jobs";
    } catch (error) {
      showError(error);
    }
  }

  const unsubscribe = live.subscribe({ filters: JSON.stringify([["id", "=", id]]) }, {
    onEvent: (event) => {
      if (event.event === "removed") {
        showMessage(`Job ${id} was removed.`);
        return;
      }
      if (event.job && revisions.fresh(event.job)) {
        const ended = TERMINAL.has(event.job.state) && job && !TERMINAL.has(job.state);
        job = event.job;
        render();
        if (ended) readLog();
      } else if (event.truncated) reload();
    },
    refresh: reload,
  });
  reload().then(readLog);
  followLog();
  return () => {
    unsubscribe();
    clearInterval(logTimer);
    if (children) children.stop();
  };
}

