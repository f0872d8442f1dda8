// Unit tests of the session rules (app/static/session.js) and the token manager
// (app/static/auth.js): refresh scheduling, rotation, one refresh at a time across tabs,
// following another tab, invite links. Fake clock, fake timers, fake server; no DOM.
import assert from "node:assert/strict";
import { test } from "node:test";

import { createAuth } from "../../app/static/auth.js";
import {
  afterLock,
  inviteAction,
  inviteLink,
  needsRefresh,
  parseInviteHash,
  parseSession,
  refreshDelay,
  rotate,
  SESSION_KEY,
  sessionFromGrant,
  storageChange,
} from "../../app/static/session.js";
import { memoryStorage } from "../../app/static/store.js";

const USER = { user_id: "user_1", username: "Pat", user_role: "PATIENT" };
const grant = (n, expiresIn = 900) => ({
  access_token: `access-${n}`,
  refresh_token: `refresh-${n}`,
  expires_in: expiresIn,
});

test("a grant becomes a stored session that expires after expires_in", () => {
  const s = sessionFromGrant({ ...grant(1), token_type: "bearer" }, { ...USER, created_at: "x" }, 1000);
  assert.deepEqual(s, {
    access_token: "access-1",
    refresh_token: "refresh-1",
    issued_at: 1000,
    expires_at: 901_000,
    user: USER,
  });
  assert.deepEqual(parseSession(JSON.stringify(s)), s);
});

test("stored sessions of the previous release, or damaged ones, are not resumed", () => {
  assert.equal(parseSession(null), null);
  assert.equal(parseSession("{oops"), null);
  assert.equal(parseSession(JSON.stringify({ token: "t", user: USER })), null);
  assert.equal(parseSession(JSON.stringify({ access_token: "a", refresh_token: "r", user: USER })), null);
});

test("the refresh is scheduled a fifth of the lifetime before expiry, within 5 to 60 s", () => {
  const fifteen = sessionFromGrant(grant(1, 900), USER, 0);
  assert.equal(refreshDelay(fifteen, 0), 900_000 - 60_000); // capped at 60 s
  const minute = sessionFromGrant(grant(1, 60), USER, 0);
  assert.equal(refreshDelay(minute, 0), 60_000 - 12_000);
  const short = sessionFromGrant(grant(1, 10), USER, 0);
  assert.equal(refreshDelay(short, 0), 10_000 - 5_000); // at least 5 s
  assert.equal(refreshDelay(fifteen, 899_000), 0); // overdue: now
  assert.equal(needsRefresh(fifteen, 840_000), true);
  assert.equal(needsRefresh(fifteen, 839_999), false);
});

test("rotation replaces both tokens and keeps the user", () => {
  const first = sessionFromGrant(grant(1), USER, 0);
  const next = rotate(first, grant(2, 600), 5000);
  assert.equal(next.access_token, "access-2");
  assert.equal(next.refresh_token, "refresh-2");
  assert.equal(next.expires_at, 605_000);
  assert.deepEqual(next.user, USER);
});

test("inside the lock: adopt a pair another tab rotated, refresh our own, or give up", () => {
  const held = sessionFromGrant(grant(1), USER, 0);
  const rotated = sessionFromGrant(grant(2), USER, 100_000);
  assert.equal(afterLock(held, held, 850_000), "refresh");
  assert.equal(afterLock(held, rotated, 850_000), "adopt");
  // Another tab's pair that is itself spent is refreshed (with its token, by the caller).
  assert.equal(afterLock(held, rotated, 2_000_000), "refresh");
  assert.equal(afterLock(held, null, 0), "gone");
  assert.equal(afterLock(held, sessionFromGrant(grant(3), { ...USER, user_id: "user_2" }, 0), 0), "gone");
});

test("a change of the stored session in another tab", () => {
  const held = sessionFromGrant(grant(1), USER, 0);
  assert.equal(storageChange(held, held), "same");
  assert.equal(storageChange(held, sessionFromGrant(grant(2), USER, 0)), "adopt");
  assert.equal(storageChange(held, null), "signed_out");
  assert.equal(storageChange(held, sessionFromGrant(grant(2), { ...USER, user_id: "u2" }, 0)), "switched");
  assert.equal(storageChange(null, held), "switched");
});

test("invite links: the code from the hash, a link to share, what it leads to", () => {
  const code = "q8Zx_-abcdefghijklmnopqr";
  assert.equal(parseInviteHash(`#invite=${code}`), code);
  assert.equal(parseInviteHash(`invite=${code}`), code);
  assert.equal(parseInviteHash("#invite="), null);
  assert.equal(parseInviteHash("#invite=<script>alert(1)</script>"), null);
  assert.equal(parseInviteHash("#other=1"), null);
  assert.equal(parseInviteHash(""), null);
  assert.equal(inviteLink(code, "https://chat.example"), `https://chat.example/#invite=${code}`);
  assert.equal(inviteAction({ kind: "doctor" }), "doctor_signup");
  assert.equal(inviteAction({ kind: "group" }), "join");
  assert.equal(inviteAction(null), null);
});

// ------------------------------------------------------------------ auth.js with fakes

/** A fake clock with timers, a lock shared by the "tabs", and a server that rotates. */
function world() {
  let time = 0;
  const timers = new Map();
  let nextId = 1;
  const server = { used: new Set(), calls: [], n: 1, refuse: null, down: false };
  let chain = Promise.resolve();
  return {
    server,
    now: () => time,
    setTimer: (fn, ms) => {
      const id = nextId++;
      timers.set(id, { fn, at: time + ms });
      return id;
    },
    clearTimer: (id) => timers.delete(id),
    /** Move time on and run the timers that fall due. */
    advance(ms) {
      time += ms;
      for (const [id, timer] of [...timers]) {
        if (timer.at <= time) {
          timers.delete(id);
          timer.fn();
        }
      }
    },
    pending: () => [...timers.values()].map((t) => t.at),
    // One lock for every tab of the browser (like navigator.locks): callers run in turn.
    withLock: (_name, fn) => {
      const run = chain.then(fn);
      chain = run.catch(() => {});
      return run;
    },
    refreshGrant: async (token) => {
      server.calls.push(token);
      await null;
      if (server.down) throw Object.assign(new Error("down"), { status: 0 });
      if (server.refuse || server.used.has(token)) {
        throw Object.assign(new Error("refused"), { status: 401, code: "INVALID_REFRESH_TOKEN" });
      }
      server.used.add(token);
      server.n += 1;
      return grant(server.n, 60);
    },
  };
}

function tab(w, storage, extra = {}) {
  const ended = [];
  const auth = createAuth({
    storage,
    refreshGrant: w.refreshGrant,
    withLock: w.withLock,
    now: w.now,
    setTimer: w.setTimer,
    clearTimer: w.clearTimer,
    onEnded: (reason) => ended.push(reason),
    ...extra,
  });
  return { auth, ended };
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

test("auth refreshes before expiry, rotates, stores the new pair and schedules the next", async () => {
  const w = world();
  const storage = memoryStorage();
  const { auth } = tab(w, storage);
  auth.begin(sessionFromGrant(grant(1, 60), USER, w.now()));
  assert.deepEqual(w.pending(), [48_000]);
  w.advance(47_999);
  assert.equal(w.server.calls.length, 0);
  w.advance(1);
  await flush();
  assert.deepEqual(w.server.calls, ["refresh-1"]);
  assert.equal(auth.token(), "access-2");
  assert.equal(parseSession(storage.getItem(SESSION_KEY)).refresh_token, "refresh-2");
  assert.deepEqual(w.pending(), [48_000 + 48_000]);
});

test("concurrent refreshes in one tab make one call", async () => {
  const w = world();
  const { auth } = tab(w, memoryStorage());
  auth.begin(sessionFromGrant(grant(1, 60), USER, 0));
  const outcomes = await Promise.all([auth.refresh(), auth.refresh(), auth.refresh()]);
  assert.deepEqual(outcomes, ["ok", "ok", "ok"]);
  assert.deepEqual(w.server.calls, ["refresh-1"]);
});

test("two tabs refreshing at once: one call; the other adopts the rotated pair", async () => {
  const w = world();
  const storage = memoryStorage(); // localStorage, shared by the tabs of a browser
  const a = tab(w, storage);
  const b = tab(w, storage);
  const session = sessionFromGrant(grant(1, 60), USER, 0);
  a.auth.begin(session);
  b.auth.begin(session);
  w.advance(48_000); // both timers fire
  await flush();
  await flush();
  assert.deepEqual(w.server.calls, ["refresh-1"], "the used-up token was never presented twice");
  assert.equal(a.auth.token(), "access-2");
  assert.equal(b.auth.token(), "access-2");
  assert.deepEqual([a.ended, b.ended], [[], []]);
});

test("a refused refresh ends the session: storage cleared, the person told", async () => {
  const w = world();
  const storage = memoryStorage();
  const { auth, ended } = tab(w, storage);
  auth.begin(sessionFromGrant(grant(1, 60), USER, 0));
  w.server.refuse = true;
  assert.equal(await auth.refresh(), "ended");
  assert.equal(auth.session, null);
  assert.equal(storage.getItem(SESSION_KEY), null);
  assert.deepEqual(ended, ["toast.session_expired"]);
  assert.deepEqual(w.pending(), []);
});

test("an unreachable server keeps the session and tries again later", async () => {
  const w = world();
  const { auth, ended } = tab(w, memoryStorage());
  auth.begin(sessionFromGrant(grant(1, 60), USER, 0));
  w.server.down = true;
  assert.equal(await auth.refresh(), "failed");
  assert.equal(auth.token(), "access-1");
  assert.deepEqual(ended, []);
  assert.deepEqual(w.pending(), [10_000]);
  w.server.down = false;
  w.advance(10_000);
  await flush();
  assert.equal(auth.token(), "access-2");
});

test("fresh() refreshes a spent token before a request, not a good one", async () => {
  const w = world();
  const { auth } = tab(w, memoryStorage());
  auth.begin(sessionFromGrant(grant(1, 60), USER, 0));
  assert.equal(await auth.fresh(), "access-1");
  w.server.calls.length = 0;
  // A pair whose timer slept (a background tab): spent by the time of the request.
  const spent = sessionFromGrant(grant(1, 60), USER, -59_000);
  auth.begin(spent);
  assert.equal(await auth.fresh(), "access-2");
  assert.deepEqual(w.server.calls, ["refresh-1"]);
});

test("another tab's rotation and sign-out are followed", () => {
  const w = world();
  const storage = memoryStorage();
  const { auth, ended } = tab(w, storage);
  auth.begin(sessionFromGrant(grant(1, 60), USER, 0));
  storage.setItem(SESSION_KEY, JSON.stringify(sessionFromGrant(grant(7, 60), USER, 0)));
  assert.equal(auth.adoptStored().change, "adopt");
  assert.equal(auth.token(), "access-7");
  storage.removeItem(SESSION_KEY);
  assert.equal(auth.adoptStored().change, "signed_out");
  assert.equal(auth.session, null);
  assert.deepEqual(ended, ["toast.signed_out_elsewhere"]);
});

test("signing out here is silent and forgets the stored pair", () => {
  const w = world();
  const storage = memoryStorage();
  const { auth, ended } = tab(w, storage);
  auth.begin(sessionFromGrant(grant(1, 60), USER, 0));
  auth.end(null, { silent: true });
  assert.equal(storage.getItem(SESSION_KEY), null);
  assert.deepEqual(ended, []);
  assert.deepEqual(w.pending(), []);
});
