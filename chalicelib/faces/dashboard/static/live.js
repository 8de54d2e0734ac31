// Live updates: the /events WebSocket (first message: the credential), and
// polling when the socket cannot be had, with a notice saying so.

import { authorization, eventsUrl } from "./api.js";

const POLL_MS = 2000;
const RETRY_MS = 15000;
const AUTH_TIMEOUT_MS = 5000;

export class Live {
  constructor({ onMode, onIdentity }) {
    this.onMode = onMode;
    this.onIdentity = onIdentity;
    this.subscriptions = new Map();
    this.counter = 0;
    this.mode = "connecting";
    this.socket = null;
    this.pollTimer = null;
    this.retryTimer = null;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearInterval(this.pollTimer);
    clearTimeout(this.retryTimer);
    this.subscriptions.clear();
    const socket = this.socket;
    this.socket = null;
    if (socket) socket.close();
  }

  connect() {
    clearTimeout(this.retryTimer);
    let socket;
    try {
      socket = new WebSocket(eventsUrl());
    } catch {
      this.fallBack();
      return;
    }
    this.socket = socket;
    const refused = setTimeout(() => socket.close(), AUTH_TIMEOUT_MS);
    socket.addEventListener("open", () => {
      socket.send(JSON.stringify({ type: "auth", authorization: authorization() }));
    });
    socket.addEventListener("message", (message) => {
      let data;
      try {
        data = JSON.parse(message.data);
      } catch {
        return;
      }
      if (data.type === "authenticated") clearTimeout(refused);
      this.receive(socket, data);
    });
    socket.addEventListener("close", () => {
      clearTimeout(refused);
      if (this.socket === socket) {
        this.socket = null;
        this.fallBack();
      }
    });
  }

  receive(socket, data) {
    if (data.type === "authenticated") {
      this.onIdentity(data);
      this.setMode("live");
      for (const [id, subscription] of this.subscriptions) this.send(id, subscription);
    } else if (data.type === "subscribed") {
      const subscription = this.subscriptions.get(data.id);
      // Read again once the subscription stands: nothing changed meanwhile is missed.
      if (subscription) subscription.refresh();
    } else if (data.type === "event") {
      const subscription = this.subscriptions.get(data.id);
      if (subscription) subscription.onEvent(data);
    } else if (data.type === "error" && !data.id) {
      socket.close();
    }
  }

  setMode(mode) {
    this.mode = mode;
    if (mode === "live") {
      clearInterval(this.pollTimer);
      this.pollTimer = null;
    }
    this.onMode(mode);
  }

  fallBack() {
    if (this.stopped) return;
    if (this.mode !== "polling") this.setMode("polling");
    if (!this.pollTimer) {
      this.pollTimer = setInterval(() => {
        for (const subscription of this.subscriptions.values()) subscription.refresh();
      }, POLL_MS);
    }
    this.retryTimer = setTimeout(() => this.connect(), RETRY_MS);
  }

  send(id, subscription) {
    if (this.mode !== "live" || !this.socket || this.socket.readyState !== WebSocket.OPEN) return;
    this.socket.send(JSON.stringify({ type: "subscribe", id, query: subscription.query }));
  }

  // query: GET /jobs's parameters; onEvent(event message); refresh(): read
  // again (after subscribing, and on every poll). Returns the unsubscribe.
  subscribe(query, { onEvent, refresh }) {
    const id = `s${++this.counter}`;
    const subscription = { query, onEvent, refresh };
    this.subscriptions.set(id, subscription);
    this.send(id, subscription);
    return () => {
      this.subscriptions.delete(id);
      if (this.mode === "live" && this.socket && this.socket.readyState === WebSocket.OPEN) {
        this.socket.send(JSON.stringify({ type: "unsubscribe", id }));
      }
    };
  }
}

// Keeps the newest revision held per job: an event that is not newer is stale.
export class Revisions {
  constructor() {
    this.held = new Map();
  }

  fresh(job) {
    if (!job || typeof job.revision !== "number") return true;
    const held = this.held.get(job.id) || 0;
    if (job.revision < held) return false;
    this.held.set(job.id, job.revision);
    return true;
  }
}
