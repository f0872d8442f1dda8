// Unit tests of the client's state rules (app/static/store.js): no DOM, no network.
import assert from "node:assert/strict";
import { test } from "node:test";

import { createStore, memoryStorage } from "../../app/static/store.js";

const ME = { user_id: "user_me", username: "Pat", user_role: "PATIENT" };
const DOC = "user_doc";

function msg(seq, extra = {}) {
  return {
    message_id: `msg_${seq}`,
    group_id: "g1",
    seq,
    from_user_id: DOC,
    from_user_role: "DOCTOR",
    msg_type: "TEXT",
    msg_content: `m${seq}`,
    client_msg_id: null,
    created_at: new Date(Date.UTC(2026, 0, 10, 9, 0, seq)).toISOString(),
    ...extra,
  };
}

function group(extra = {}) {
  return {
    group_id: "g1",
    group_name: "Knee",
    ai_enabled: true,
    last_seq: 0,
    unread_count: 0,
    last_read_seq: 0,
    last_message: null,
    my_role: "PATIENT",
    member_count: 3,
    ...extra,
  };
}

function signedIn({ storage = memoryStorage(), now } = {}) {
  const store = createStore({ storage, now });
  store.startSession({ token: "t", user: ME });
  return store;
}

test("messages are de-duplicated by message_id and kept in seq order", () => {
  const store = signedIn();
  store.mergeGroupList([group({ last_seq: 3 })]);
  store.loadedLatest("g1", [msg(3), msg(2)]);
  assert.equal(store.insertMessages("g1", [msg(2), msg(1)]), 1);
  const seqs = store.timeline("g1").filter((i) => i.kind === "message").map((i) => i.message.seq);
  assert.deepEqual(seqs, [1, 2, 3]);
  assert.equal(store.convoOf("g1").contig, 3);
});

test("a gap is reported and the sync cursor stays below it", () => {
  const store = signedIn();
  store.mergeGroupList([group({ last_seq: 2 })]);
  store.loadedLatest("g1", [msg(1), msg(2)]);
  const result = store.ingestMessage(msg(5));
  assert.deepEqual(result, { known: true, added: 1, gap: true });
  assert.deepEqual(store.syncCursors(), { g1: 2 });
  store.insertMessages("g1", [msg(3), msg(4)]);
  assert.deepEqual(store.syncCursors(), { g1: 5 });
});

test("unread counts only others' messages in a group I am not reading", () => {
  const store = signedIn();
  store.mergeGroupList([group()]);
  store.ingestMessage(msg(1), () => false);
  store.ingestMessage(msg(2, { from_user_id: ME.user_id, from_user_role: "PATIENT" }), () => false);
  store.ingestMessage(msg(3), () => true);
  assert.equal(store.state.groups.get("g1").unread_count, 1);
  assert.equal(store.totalUnread(), 1);
  assert.equal(store.markRead("g1"), 3);
  assert.equal(store.totalUnread(), 0);
});

test("no older page is asked for in an empty group (never before_seq=Infinity)", () => {
  const store = signedIn();
  store.mergeGroupList([group()]);
  assert.equal(store.olderCursor("g1"), null, "not loaded yet");
  store.loadedLatest("g1", []);
  assert.equal(store.olderCursor("g1"), null);
  assert.equal(store.convoOf("g1").loaded, true);
});

test("older pages are asked before the first loaded seq, until seq 1", () => {
  const store = signedIn();
  store.mergeGroupList([group({ last_seq: 60 })]);
  store.loadedLatest("g1", [msg(59), msg(60)]);
  assert.equal(store.olderCursor("g1"), 59);
  store.setLoadingOlder("g1", true);
  assert.equal(store.olderCursor("g1"), null, "one request at a time");
  store.setLoadingOlder("g1", false);
  store.insertMessages("g1", [msg(1)]);
  assert.equal(store.olderCursor("g1"), null);
});

test("the outbox survives a reload: unsent messages come back, sends cut short are queued", () => {
  const storage = memoryStorage();
  const first = signedIn({ storage });
  first.mergeGroupList([group()]);
  const a = first.queueMessage("g1", "written offline").item;
  const b = first.queueMessage("g1", "refused").item;
  first.setOutboxStatus(a.client_msg_id, "sending");
  first.sendFailed(b.client_msg_id, { code: "NOT_A_MEMBER", message: "no" });

  const second = signedIn({ storage });
  const items = [...second.state.outbox.values()];
  assert.deepEqual(items.map((i) => [i.content, i.status]), [
    ["written offline", "queued"],
    ["refused", "failed"],
  ]);
  assert.deepEqual(second.dueForSending().map((i) => i.content), ["written offline"]);
  assert.equal(items[1].error.code, "NOT_A_MEMBER");
});

test("an acknowledged message leaves the outbox (also after a reload)", () => {
  const storage = memoryStorage();
  const store = signedIn({ storage });
  store.mergeGroupList([group()]);
  store.loadedLatest("g1", []);
  const { item } = store.queueMessage("g1", "hello");
  store.ingestMessage(
    msg(1, { from_user_id: ME.user_id, from_user_role: "PATIENT", client_msg_id: item.client_msg_id }),
  );
  assert.equal(store.state.outbox.size, 0);
  assert.equal(signedIn({ storage }).state.outbox.size, 0);
});

test("a failed send can be retried or discarded", () => {
  const store = signedIn();
  store.mergeGroupList([group()]);
  const { item } = store.queueMessage("g1", "x");
  store.sendFailed(item.client_msg_id, { code: "INTERNAL_ERROR" });
  assert.equal(store.dueForSending().length, 0);
  store.retryMessage(item.client_msg_id);
  assert.equal(store.dueForSending().length, 1);
  store.sendFailed(item.client_msg_id, { code: "INTERNAL_ERROR" });
  assert.equal(store.discardMessage(item.client_msg_id), true);
  assert.equal(store.state.outbox.size, 0);
});

test("a rate-limited send waits for its countdown, then is due again", () => {
  let clock = 1_000_000;
  const store = signedIn({ now: () => clock });
  store.mergeGroupList([group()]);
  const { item } = store.queueMessage("g1", "x");
  store.sendFailed(item.client_msg_id, { code: "RATE_LIMITED", details: { retry_after: 3 } });
  const waiting = store.state.outbox.get(item.client_msg_id);
  assert.equal(waiting.status, "waiting");
  assert.equal(waiting.error.retryAt, clock + 3000);
  assert.equal(store.dueForSending().length, 0);
  clock += 3000;
  assert.equal(store.dueForSending().length, 1);
});

test("content over 5,000 characters (code points) is refused, never cut", () => {
  const store = signedIn();
  store.mergeGroupList([group()]);
  assert.equal(store.queueMessage("g1", "   ").reason, "EMPTY");
  const long = store.queueMessage("g1", "字".repeat(5001));
  assert.deepEqual([long.ok, long.reason, long.length], [false, "TOO_LONG", 5001]);
  // 5,000 emoji are 10,000 UTF-16 units but 5,000 characters for the server.
  assert.equal(store.queueMessage("g1", "😀".repeat(5000)).ok, true);
  assert.equal(store.state.outbox.size, 1);
});

test("an unsent message stays in time order among newer messages", () => {
  let clock = Date.UTC(2026, 0, 10, 9, 0, 2, 500);
  const store = signedIn({ now: () => clock });
  store.mergeGroupList([group({ last_seq: 2 })]);
  store.loadedLatest("g1", [msg(1), msg(2)]);
  const { item } = store.queueMessage("g1", "mine");
  store.sendFailed(item.client_msg_id, { code: "INTERNAL_ERROR" });
  clock += 10_000;
  store.ingestMessage(msg(3)); // created at 09:00:03, after my failed one
  const order = store.timeline("g1").filter((i) => i.kind !== "day").map((i) => i.key);
  assert.deepEqual(order, ["m:msg_1", "m:msg_2", `p:${item.client_msg_id}`, "m:msg_3"]);
});

test("local times use the server's clock (skew from the connected event)", () => {
  const clock = Date.UTC(2026, 0, 10, 9, 0, 0);
  const store = signedIn({ now: () => clock });
  store.setServerTime(new Date(clock + 60_000).toISOString());
  assert.equal(store.serverNowIso(), new Date(clock + 60_000).toISOString());
});

test("day separators come between days, once per day", () => {
  const store = signedIn();
  store.mergeGroupList([group({ last_seq: 3 })]);
  const day1 = new Date(2026, 0, 10, 23, 50).toISOString();
  const day2 = new Date(2026, 0, 11, 0, 10).toISOString();
  store.loadedLatest("g1", [
    msg(1, { created_at: day1 }),
    msg(2, { created_at: day1 }),
    msg(3, { created_at: day2 }),
  ]);
  const kinds = store.timeline("g1").map((i) => i.kind);
  assert.deepEqual(kinds, ["day", "message", "message", "day", "message"]);
});

test("the new-messages divider sits after my last read seq", () => {
  const store = signedIn();
  store.mergeGroupList([group({ last_seq: 3, unread_count: 2, last_read_seq: 1 })]);
  store.openGroup("g1");
  store.loadedLatest("g1", [msg(1), msg(2), msg(3)]);
  const keys = store.timeline("g1").filter((i) => i.kind !== "day").map((i) => i.key);
  assert.deepEqual(keys, ["m:msg_1", "divider", "m:msg_2", "m:msg_3"]);
});

test("an AI reply streams after its question and is replaced by the final message", () => {
  const store = signedIn();
  store.mergeGroupList([group({ last_seq: 2 })]);
  store.loadedLatest("g1", [msg(1, { from_user_id: ME.user_id }), msg(2)]);
  const event = { group_id: "g1", record_id: "record_1", user_message_id: "msg_1" };
  store.aiStatus({ ...event, status: "PROCESSING" });
  store.aiDelta({ ...event, delta: "Rest " });
  store.aiDelta({ ...event, delta: "well." });
  assert.equal(store.aiBusy("g1"), true);
  let keys = store.timeline("g1").filter((i) => i.kind !== "day").map((i) => i.key);
  assert.deepEqual(keys, ["m:msg_1", "s:record_1", "m:msg_2"]);
  assert.equal(store.state.streams.get("record_1").text, "Rest well.");
  store.ingestMessage(msg(3, { from_user_role: "AI_ASSISTANT", client_msg_id: "record_1" }));
  store.aiStatus({ ...event, status: "SUCCESS" });
  keys = store.timeline("g1").filter((i) => i.kind !== "day").map((i) => i.key);
  assert.deepEqual(keys, ["m:msg_1", "m:msg_2", "m:msg_3"]);
  assert.equal(store.aiBusy("g1"), false);
});

test("the AI's failure is kept for a patient across a reload, after the question", () => {
  const storage = memoryStorage();
  const store = signedIn({ storage });
  store.mergeGroupList([group({ last_seq: 1 })]);
  store.loadedLatest("g1", [msg(1, { from_user_id: ME.user_id })]);
  const event = { group_id: "g1", record_id: "record_9", user_message_id: "msg_1" };
  store.aiStatus({ ...event, status: "PROCESSING" });
  store.aiStatus({ ...event, status: "FAILED", error: "AI service unreachable" });

  const reloaded = signedIn({ storage });
  reloaded.mergeGroupList([group({ last_seq: 1 })]);
  reloaded.loadedLatest("g1", [msg(1, { from_user_id: ME.user_id })]);
  const items = reloaded.timeline("g1").filter((i) => i.kind !== "day");
  assert.deepEqual(items.map((i) => i.key), ["m:msg_1", "f:record_9"]);
  assert.equal(items[1].failure.error, "AI service unreachable");
});

test("doctors' failures come from the server's records; a later success clears one", () => {
  const store = signedIn();
  store.mergeGroupList([group({ last_seq: 1, my_role: "DOCTOR" })]);
  store.loadedLatest("g1", [msg(1)]);
  const record = { record_id: "record_1", user_message_id: "msg_1", created_at: msg(1).created_at };
  store.aiRecords("g1", [{ ...record, status: "FAILED", error_message: "HTTP 503" }]);
  assert.equal(store.timeline("g1").at(-1).kind, "ai_failed");
  store.aiRecords("g1", [{ ...record, status: "SUCCESS" }]);
  assert.equal(store.timeline("g1").at(-1).kind, "message");
});

test("the hand-over: a live group_updated adds a notice; the state says AI off", () => {
  const store = signedIn();
  store.mergeGroupList([group({ last_seq: 1 })]);
  store.loadedLatest("g1", [msg(1)]);
  store.updateGroup({ group_id: "g1", ai_enabled: false, last_seq: 99, updated_at: "2026-01-10T09:05:00Z" });
  const g = store.state.groups.get("g1");
  assert.equal(g.ai_enabled, false);
  assert.equal(g.last_seq, 1, "last_seq moves with messages only");
  const notice = store.timeline("g1").at(-1);
  assert.equal(notice.kind, "notice");
  assert.equal(notice.notice.kind, "handover");
  // A list refresh (not live) does not add another notice.
  store.updateGroup({ group_id: "g1", ai_enabled: false }, { live: false });
  assert.equal(store.timeline("g1").filter((i) => i.kind === "notice").length, 1);
});

test("presence is unknown while my own connection is down", () => {
  const store = signedIn();
  store.setMembers("g1", [
    { user_id: DOC, username: "Dr", user_role: "DOCTOR", online: true },
    { user_id: "user_ai", username: "AI", user_role: "AI_ASSISTANT", online: true },
  ]);
  store.setConnection("connected");
  assert.equal(store.presenceOf({ user_id: DOC, user_role: "DOCTOR" }), "online");
  store.setPresence(DOC, false);
  assert.equal(store.presenceOf({ user_id: DOC, user_role: "DOCTOR" }), "offline");
  store.setConnection("reconnecting");
  assert.equal(store.presenceOf({ user_id: DOC, user_role: "DOCTOR" }), "unknown");
  assert.equal(store.presenceOf({ user_id: "user_ai", user_role: "AI_ASSISTANT" }), "unknown");
});

test("read ticks: others' read marks (not mine, not the AI's) persist", () => {
  const storage = memoryStorage();
  const store = signedIn({ storage });
  store.mergeGroupList([group({ last_seq: 5 })]);
  store.rememberUser({ user_id: "user_ai", username: "AI", user_role: "AI_ASSISTANT" });
  store.noteRead("g1", DOC, 4);
  store.noteRead("g1", "user_ai", 5);
  store.noteRead("g1", DOC, 2); // never backwards
  assert.equal(store.readersOf("g1", 4), 1);
  assert.equal(store.readersOf("g1", 5), 0);
  store.noteRead("g1", ME.user_id, 5);
  assert.equal(store.state.groups.get("g1").unread_count, 0);
  assert.equal(signedIn({ storage }).readersOf("g1", 3), 1);
});

test("merging the group list forgets groups I left, and their outbox", () => {
  const store = signedIn();
  store.mergeGroupList([group(), group({ group_id: "g2" })]);
  store.openGroup("g2");
  store.queueMessage("g2", "x");
  const gone = store.mergeGroupList([group()]);
  assert.deepEqual(gone, ["g2"]);
  assert.equal(store.state.currentId, null);
  assert.equal(store.state.view, "list");
  assert.equal(store.state.outbox.size, 0);
});

test("one user's persisted state is not another's; sign-out clears memory", () => {
  const storage = memoryStorage();
  const store = signedIn({ storage });
  store.mergeGroupList([group()]);
  store.queueMessage("g1", "private");
  store.endSession();
  assert.equal(store.state.outbox.size, 0);
  const other = createStore({ storage });
  other.startSession({ token: "t2", user: { ...ME, user_id: "user_other" } });
  assert.equal(other.state.outbox.size, 0);
});

test("listeners are told once per batch of changes", async () => {
  const store = signedIn();
  let calls = 0;
  store.subscribe(() => {
    calls += 1;
  });
  store.mergeGroupList([group()]);
  store.noteTyping("g1", DOC);
  store.toast("info", "toast.id_copied");
  await Promise.resolve();
  assert.equal(calls, 1);
  assert.deepEqual(store.typingUsers("g1"), [DOC]);
});

test("identical toasts do not pile up", () => {
  const store = signedIn();
  store.toast("error", "toast.add_failed", {}, { code: "USER_NOT_FOUND" });
  store.toast("error", "toast.add_failed", {}, { code: "USER_NOT_FOUND" });
  store.toast("error", "toast.add_failed", {}, { code: "ALREADY_MEMBER" });
  assert.equal(store.state.toasts.length, 2);
});

test("edit and recall entries change their target, are hidden, never unread (SPEC §11)", () => {
  const store = signedIn();
  store.mergeGroupList([group({ last_seq: 1, last_message: msg(1) })]);
  store.loadedLatest("g1", [msg(1)]);
  const at = "2026-01-10T09:10:00.000Z";
  store.ingestMessage(msg(2, { msg_type: "EDIT", msg_content: "m1, corrected", target_message_id: "msg_1", created_at: at }));
  let items = store.timeline("g1").filter((i) => i.kind === "message");
  assert.deepEqual(items.map((i) => [i.message.msg_content, i.message.edited_at]), [["m1, corrected", at]]);
  assert.equal(store.state.groups.get("g1").unread_count, 0);
  store.ingestMessage(msg(3, { msg_type: "RECALL", msg_content: "", target_message_id: "msg_1", created_at: at }));
  items = store.timeline("g1").filter((i) => i.kind === "message");
  assert.equal(items.length, 1);
  assert.equal(items[0].message.recalled_at, at);
  assert.equal(items[0].message.msg_content, "");
  assert.deepEqual(store.syncCursors(), { g1: 3 }, "the entries keep the log dense");
  const last = store.state.groups.get("g1").last_message;
  assert.deepEqual([last.message_id, last.recalled_at], ["msg_1", at]);
});

// ------------------------------------------------------------------ replies, edits, recalls

function loaded(messages, extra = {}) {
  const store = signedIn();
  store.mergeGroupList([group({ last_seq: messages.length, ...extra })]);
  store.loadedLatest("g1", messages);
  return store;
}

const entry = (seq, type, target, extra = {}) =>
  msg(seq, { msg_type: type, target_message_id: target, msg_content: type === "EDIT" ? "new words" : "", ...extra });

test("an EDIT entry changes its target, is not shown, and an older one never wins", () => {
  const store = loaded([msg(1), msg(2)]);
  store.ingestMessage(entry(3, "EDIT", "msg_1", { msg_content: "second", created_at: "2026-01-10T09:10:00Z" }));
  store.ingestMessage(entry(4, "EDIT", "msg_1", { msg_content: "first", created_at: "2026-01-10T09:05:00Z" }));
  const shown = store.timeline("g1").filter((i) => i.kind === "message").map((i) => i.message);
  assert.deepEqual(shown.map((m) => m.seq), [1, 2]);
  assert.equal(shown[0].msg_content, "second");
  assert.equal(shown[0].edited_at, "2026-01-10T09:10:00Z");
  assert.equal(store.convoOf("g1").contig, 4, "the entries keep the sync cursor dense");
  assert.equal(store.state.groups.get("g1").unread_count, 0, "changes are never unread");
});

test("a RECALL entry empties its target for good, also as the group's last message", () => {
  const store = loaded([msg(1)], { last_message: msg(1) });
  store.ingestMessage(entry(2, "RECALL", "msg_1"));
  const target = store.findMessage("g1", "msg_1");
  assert.equal(target.msg_content, "");
  assert.ok(target.recalled_at);
  assert.equal(store.state.groups.get("g1").last_message.recalled_at, target.recalled_at);
  // An edit entry after the recall (served empty) and a stale copy never bring words back.
  store.ingestMessage(entry(3, "EDIT", "msg_1", { created_at: "2026-01-10T10:00:00Z" }));
  store.applyMessage(msg(1));
  assert.equal(store.findMessage("g1", "msg_1").msg_content, "");
});

test("the answer to an edit or a recall replaces the held copy (conversation and quotes)", () => {
  const store = loaded([msg(1)]);
  store.applyMessage({ ...msg(1), msg_content: "fixed", edited_at: "2026-01-10T09:30:00Z" });
  assert.equal(store.findMessage("g1", "msg_1").msg_content, "fixed");
  // A quoted message not loaded in the conversation is held apart, and changes too.
  const old = msg(0, { message_id: "msg_old", seq: 0 });
  store.rememberQuoted(old);
  assert.equal(store.findMessage("g1", "msg_old").msg_content, "m0");
  store.ingestMessage(entry(2, "RECALL", "msg_old"));
  assert.equal(store.findMessage("g1", "msg_old").msg_content, "");
  assert.equal(store.findMessage("other", "msg_old"), null);
});

test("a reply and its mentions are queued with the message; the reply mode ends on send", () => {
  const storage = memoryStorage();
  const store = signedIn({ storage });
  store.mergeGroupList([group()]);
  store.setComposing("g1", "reply", "msg_1");
  assert.deepEqual(store.composingOf("g1"), { mode: "reply", message_id: "msg_1" });
  const { item } = store.queueMessage("g1", "@Pat yes", { reply_to: "msg_1", mentions: ["user_pat"] });
  assert.equal(item.reply_to, "msg_1");
  assert.deepEqual(item.mentions, ["user_pat"]);
  assert.equal(store.composingOf("g1"), null);
  // The outbox keeps them across a reload.
  const again = createStore({ storage });
  again.startSession({ user: ME });
  const [kept] = again.state.outbox.values();
  assert.equal(kept.reply_to, "msg_1");
  assert.deepEqual(kept.mentions, ["user_pat"]);
  // Editing is a mode of its own, ended explicitly.
  store.setComposing("g1", "edit", "msg_2");
  store.queueMessage("g1", "other");
  assert.equal(store.composingOf("g1").mode, "edit");
  store.setComposing("g1", null);
  assert.equal(store.composingOf("g1"), null);
});

test("an invite link: loading, then its preview or why it cannot be used; kept across sign-out", () => {
  const store = signedIn();
  assert.equal(store.openInvite("code1"), true);
  assert.equal(store.openInvite("code1"), false, "the same link is opened once");
  assert.equal(store.state.invite.status, "loading");
  store.setInvitePreview("other", { kind: "group" }); // an answer for another code: ignored
  assert.equal(store.state.invite.status, "loading");
  store.setInvitePreview("code1", { kind: "group", group_name: "Knee" });
  assert.equal(store.state.invite.status, "ready");
  store.endSession();
  assert.equal(store.state.invite.code, "code1");
  store.openInvite("code2");
  store.setInvitePreview("code2", null, { code: "INVITE_NOT_FOUND" });
  assert.equal(store.state.invite.status, "missing");
  store.clearInvite();
  assert.equal(store.state.invite, null);
});

test("the session holds the user only, never tokens", () => {
  const store = createStore();
  store.startSession({ access_token: "secret", refresh_token: "secret", user: ME });
  assert.deepEqual(store.state.session, { user: ME });
});

test("an attachment is queued without words, kept across reloads, and settles like a send", () => {
  const storage = memoryStorage();
  const store = signedIn({ storage });
  store.mergeGroupList([group()]);
  store.loadedLatest("g1", []);
  assert.equal(store.queueMessage("g1", "  ").reason, "EMPTY");
  const attachment = { attachment_id: "att_1", name: "皮疹.jpg", mime: "image/jpeg" };
  const { ok, item } = store.queueMessage("g1", "", { attachment });
  assert.ok(ok);
  assert.deepEqual(item.attachment, attachment);
  assert.deepEqual(signedIn({ storage }).state.outbox.get(item.client_msg_id).attachment, attachment);
  store.ingestMessage(
    msg(1, {
      from_user_id: ME.user_id,
      from_user_role: "PATIENT",
      msg_type: "IMAGE",
      msg_content: "",
      client_msg_id: item.client_msg_id,
      attachment: { ...attachment, size: 10, url: "/api/attachments/att_1/content?exp=1&sig=x" },
    }),
  );
  assert.equal(store.state.outbox.size, 0);
});
