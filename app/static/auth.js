// The token pair of this browser: kept in storage, refreshed before the access token expires
// (and when the server says it has), rotated on every refresh, one refresh at a time across
// the tabs of this browser (a Web Lock, or a lease in storage where Web Locks are missing),
// and followed when another tab rotates it or signs out. Never logs a token.
//
// Network and timers are handed in, so node tests drive it with fakes.

import {
  afterLock,
  needsRefresh,
  parseSession,
  refreshDelay,
  RETRY_REFRESH_MS,
  rotate,
  SESSION_KEY,
  storageChange,
} from "./session.js";

const LOCK_NAME = "im.refresh";
const LEASE_MS = 15_000;

/** A lock across tabs: the Web Locks API where present (secure contexts), else a lease in
 * storage (write, wait, read back: the last writer holds it; expires by itself). */
export function browserLock(storage, { locks = globalThis.navigator?.locks, now = Date.now } = {}) {
  if (locks?.request) return (name, fn) => locks.request(name, fn);
  const me = `${now()}-${Math.random()}`;
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const read = (key) => {
    try {
      return JSON.parse(storage.getItem(key) || "null");
    } catch {
      return null;
    }
  };
  return async (name, fn) => {
    const key = `${name}.lease`;
    for (let tries = 0; tries < 150; tries += 1) {
      const lease = read(key);
      if (!lease || lease.until < now()) {
        storage.setItem(key, JSON.stringify({ id: me, until: now() + LEASE_MS }));
        await sleep(25);
        if (read(key)?.id === me) {
          try {
            return await fn();
          } finally {
            storage.removeItem(key);
          }
        }
      }
      await sleep(100);
    }
    return fn(); // a tab that died holding it: its lease ran out long ago
  };
}

/**
 * {session, token(), begin(), refresh(), fresh(), end(), adoptStored()}.
 * - `refreshGrant(refreshToken)` → the server's new pair; throws {status} on failure.
 * - `onChange(session)`: a new pair or a new session (not called on end).
 * - `onEnded(reason)`: the session is over here (refresh refused, signed out in another tab).
 */
export function createAuth({
  storage,
  refreshGrant,
  withLock,
  onChange = () => {},
  onEnded = () => {},
  now = () => Date.now(),
  setTimer = (fn, ms) => setTimeout(fn, ms),
  clearTimer = (id) => clearTimeout(id),
}) {
  let current = null;
  let timer = null;
  let inflight = null;

  function schedule(ms) {
    clearTimer(timer);
    timer = current ? setTimer(() => refresh(), ms) : null;
  }

  function save() {
    try {
      storage.setItem(SESSION_KEY, JSON.stringify(current));
    } catch {
      // Storage refused: the session lasts as long as this page.
    }
  }

  function set(session, { persist = true } = {}) {
    current = session;
    if (persist) save();
    schedule(refreshDelay(session, now()));
    onChange(session);
  }

  /** Start (sign-up, login) or resume (stored) a session. */
  function begin(session) {
    set(session);
  }

  function load() {
    return parseSession(storage.getItem(SESSION_KEY));
  }

  /** The session is over here: forget it (and the stored one, unless `keepStored`); tell
   * `onEnded(reason)` unless `silent` (the person signed out: they know). */
  function end(reason = null, { keepStored = false, silent = false } = {}) {
    const had = current !== null;
    current = null;
    clearTimer(timer);
    timer = null;
    if (!keepStored) storage.removeItem(SESSION_KEY);
    if (had && !silent) onEnded(reason);
  }

  async function locked() {
    const held = current;
    if (!held) return "ended";
    const decision = afterLock(held, load(), now());
    if (decision === "gone") {
      end("toast.signed_out_elsewhere", { keepStored: true });
      return "ended";
    }
    if (decision === "adopt") {
      set(load(), { persist: false });
      return "ok";
    }
    let grant;
    try {
      grant = await refreshGrant(held.refresh_token);
    } catch (error) {
      if (current !== held) return current ? "ok" : "ended";
      if (error?.status === 401 || error?.status === 400 || error?.status === 422) {
        end("toast.session_expired");
        return "ended";
      }
      schedule(RETRY_REFRESH_MS); // unreachable: try again later, keep the session
      return "failed";
    }
    if (current !== held) return current ? "ok" : "ended"; // signed out meanwhile
    set(rotate(held, grant, now()));
    return "ok";
  }

  /** Refresh now (one at a time in this tab and across tabs): "ok" | "failed" | "ended". */
  function refresh() {
    if (!current) return Promise.resolve("ended");
    if (!inflight) {
      inflight = Promise.resolve(withLock(LOCK_NAME, locked)).finally(() => {
        inflight = null;
      });
    }
    return inflight;
  }

  /** Before a request: refresh first when the access token is (nearly) spent. */
  async function fresh() {
    if (current && needsRefresh(current, now())) await refresh();
    return current?.access_token || null;
  }

  /** Another tab changed the stored session (the `storage` event). */
  function adoptStored() {
    const stored = load();
    const change = storageChange(current, stored);
    if (change === "adopt") set(stored, { persist: false });
    else if (change === "signed_out") end("toast.signed_out_elsewhere", { keepStored: true });
    return { change, stored };
  }

  return {
    get session() {
      return current;
    },
    token: () => current?.access_token || null,
    load,
    begin,
    refresh,
    fresh,
    end,
    adoptStored,
  };
}
