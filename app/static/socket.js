// The WebSocket transport (SPEC §6): one connection, automatic reconnect with exponential
// back-off and jitter, a heartbeat that notices dead connections. It knows nothing of chat
// state: the app re-sends its outbox and syncs in `onConnected`.

const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 8000;
const HEARTBEAT_MS = 25000;
const PONG_TIMEOUT_MS = 10000;
const CLOSE_UNAUTHORIZED = 4401;

export class ChatSocket {
  constructor({ url, onEvent, onState, onConnected, onRefused }) {
    this.url = url;
    this.onEvent = onEvent;
    this.onState = onState;
    this.onConnected = onConnected;
    this.onRefused = onRefused;
    this.refusals = 0;
    this.ws = null;
    this.attempt = 0;
    this.retryTimer = null;
    this.heartbeat = null;
    this.pongTimer = null;
    this.stopped = true;
    this.state = "offline";
    this.nextRetryAt = 0;
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
    window.removeEventListener("online", this.onOnline);
    window.removeEventListener("offline", this.onOffline);
    clearTimeout(this.retryTimer);
    this.stopHeartbeat();
    if (this.ws) {
      this.ws.onclose = null;
      this.ws.close(1000, "signed out");
      this.ws = null;
    }
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
    clearTimeout(this.retryTimer);
    this.connect();
  }

  setState(state) {
    this.state = state;
    this.onState(state, { attempt: this.attempt, nextRetryAt: this.nextRetryAt });
  }

  connect() {
    if (this.stopped) return;
    this.setState(this.attempt === 0 ? "connecting" : "reconnecting");
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.onmessage = (frame) => this.receive(frame);
    ws.onclose = (close) => this.closed(ws, close);
  }

  receive(frame) {
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
      this.ws.greeted = true;
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
    ws.onclose = null;
    ws.onmessage = null;
    ws.close(4000, "connection lost");
    this.closed(ws, { code: 4000 });
  }

  closed(ws, close) {
    if (ws !== this.ws) return;
    this.ws = null;
    this.stopHeartbeat();
    if (this.stopped) return;
    // A refused token shows in a browser as close 4401 or, when the handshake is answered
    // 403, only as 1006; either way let the app check the token now and then.
    if (!ws.greeted) {
      this.refusals += 1;
      if (close.code === CLOSE_UNAUTHORIZED || this.refusals % 3 === 1) this.onRefused();
    }
    this.scheduleRetry();
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
