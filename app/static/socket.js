// The WebSocket transport (SPEC §6): one connection, automatic reconnect with exponential
// back-off and jitter, a heartbeat that notices dead connections. It knows nothing of chat
// state: the app re-sends its outbox and syncs in `onConnected`. A close with 4401 (token
// spent, session ended) asks `onRefused()` to refresh: a new socket follows at once when it
// says so, else the usual back-off (and a refused refresh has signed the person out).
//
// The token travels in the URL (the protocol's only way), and a browser prints the URL of a
// WebSocket whose handshake fails. So a connection is opened only after `probe()` (a cheap
// authenticated HTTP call) found the server up, and a socket still connecting is never closed
// by us (that too prints its URL): it is left to open and closed then. Nothing here logs.

const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 8000;
const HEARTBEAT_MS = 25000;
const PONG_TIMEOUT_MS = 10000;
const CLOSE_UNAUTHORIZED = 4401;

function retire(ws, code, reason) {
  ws.onmessage = null;
  ws.onclose = null;
  ws.onerror = null;
  if (ws.readyState === WebSocket.CONNECTING) {
    ws.onopen = () => ws.close(code, reason);
  } else if (ws.readyState === WebSocket.OPEN) {
    ws.close(code, reason);
  }
}

export class ChatSocket {
  constructor({ url, probe, onEvent, onState, onConnected, onRefused }) {
    this.url = url;
    this.probe = probe;
    this.onEvent = onEvent;
    this.onState = onState;
    this.onConnected = onConnected;
    this.onRefused = onRefused;
    this.ws = null;
    this.attempt = 0;
    this.retryTimer = null;
    this.heartbeat = null;
    this.pongTimer = null;
    this.stopped = true;
    this.state = "offline";
    this.nextRetryAt = 0;
    this.generation = 0;
    this.refusals = 0;
    this.onOnline = () => this.retryNow();
    this.onOffline = () => this.drop();
  }

  start() {
    this.stopped = false;
    window.addEventListener("online", this.onOnline);
    window.addEventListener("offline", this.onOffline);
    this.connect();
  }

  stop() {
    this.stopped = true;
    this.generation += 1;
    window.removeEventListener("online", this.onOnline);
    window.removeEventListener("offline", this.onOffline);
    clearTimeout(this.retryTimer);
    this.stopHeartbeat();
    if (this.ws) retire(this.ws, 1000, "signed out");
    this.ws = null;
    this.attempt = 0;
    this.setState("offline");
  }

  get connected() {
    return this.state === "connected";
  }

  /** Send an event now; false when not connected (the caller keeps it for later). */
  send(event) {
    if (!this.connected || this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(event));
    return true;
  }

  retryNow() {
    if (this.stopped || this.state === "connected" || this.state === "connecting") return;
    if (this.ws) return; // a connection is on its way
    clearTimeout(this.retryTimer);
    this.connect();
  }

  setState(state) {
    this.state = state;
    this.onState(state, { attempt: this.attempt, nextRetryAt: this.nextRetryAt });
  }

  async connect() {
    if (this.stopped) return;
    const generation = ++this.generation;
    this.setState(this.attempt === 0 ? "connecting" : "reconnecting");
    let reachable = false;
    try {
      reachable = await this.probe();
    } catch {
      reachable = false;
    }
    if (this.stopped || generation !== this.generation) return;
    if (!reachable) {
      this.scheduleRetry();
      return;
    }
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.onmessage = (frame) => this.receive(ws, frame);
    ws.onclose = (close) => this.closed(ws, close);
  }

  receive(ws, frame) {
    if (ws !== this.ws) return;
    let event;
    try {
      event = JSON.parse(frame.data);
    } catch {
      return;
    }
    clearTimeout(this.pongTimer);
    if (event.type === "connected") {
      this.attempt = 0;
      this.refusals = 0;
      ws.greeted = true;
      this.startHeartbeat();
      this.setState("connected");
      this.onConnected(event);
      return;
    }
    if (event.type !== "pong") this.onEvent(event);
  }

  /** Give up on the current connection at once (a dead TCP link may never report close). */
  drop() {
    const ws = this.ws;
    if (!ws) return;
    retire(ws, 4000, "connection lost");
    this.closed(ws, { code: 4000 });
  }

  closed(ws, close) {
    if (ws !== this.ws) return;
    this.ws = null;
    this.stopHeartbeat();
    if (this.stopped) return;
    if (close.code === CLOSE_UNAUTHORIZED) {
      this.refreshThenConnect();
      return;
    }
    this.scheduleRetry();
  }

  async refreshThenConnect() {
    const generation = ++this.generation;
    this.setState("reconnecting");
    let again = false;
    try {
      again = await this.onRefused();
    } catch {
      again = false;
    }
    if (this.stopped || generation !== this.generation) return;
    if (again && this.refusals < 3) {
      this.refusals += 1; // a server that refuses fresh tokens too is not hammered
      this.connect();
    } else {
      this.scheduleRetry();
    }
  }

  scheduleRetry() {
    if (this.stopped) return;
    // Full jitter between half and all of the exponential delay, so a restarted server is not
    // hit by every client at the same instant.
    const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** this.attempt);
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.attempt += 1;
    this.nextRetryAt = Date.now() + delay;
    this.setState(navigator.onLine === false ? "offline" : "reconnecting");
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  startHeartbeat() {
    this.stopHeartbeat();
    this.heartbeat = setInterval(() => {
      if (!this.send({ type: "ping" })) return;
      clearTimeout(this.pongTimer);
      this.pongTimer = setTimeout(() => this.drop(), PONG_TIMEOUT_MS);
    }, HEARTBEAT_MS);
  }

  stopHeartbeat() {
    clearInterval(this.heartbeat);
    clearTimeout(this.pongTimer);
    this.heartbeat = null;
    this.pongTimer = null;
  }
}
