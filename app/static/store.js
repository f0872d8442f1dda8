// Client state and the rules that keep it consistent: messages de-duplicated by message_id, the
// contiguous seq per group (the sync cursor), the outbox of unsent messages (persisted), AI
// streams and failures, read marks, presence, the conversation timeline, replies and changes
// (EDIT/RECALL entries applied to their target), the composer's reply/edit mode, the invite
// being opened. No DOM and no network: storage is handed in, and every change ends with
// `changed()` so the views re-render. Tokens are not kept here (auth.js holds them).

import { contentLength, dayKey, MAX_CONTENT_CHARS } from "./format.js";

const TYPING_SHOWN_MS = 4000;
/** Log entries that change an earlier message instead of being one (SPEC §11). */
const CHANGE_TYPES = new Set(["EDIT", "RECALL"]);
const MAX_KEPT_FAILURES = 200;

/** A storage that forgets (tests, or a browser that refuses localStorage). */
export function memoryStorage() {
  const items = new Map();
  return {
    getItem: (key) => (items.has(key) ? items.get(key) : null),
    setItem: (key, value) => items.set(key, String(value)),
    removeItem: (key) => items.delete(key),
  };
}

function newConvo() {
  // contig: highest seq such that every seq from minSeq up to it is loaded.
  return {
    bySeq: new Map(),
    ids: new Map(), // message_id -> seq
    minSeq: Infinity,
    maxSeq: 0,
    contig: 0,
    loaded: false,
    loadingOlder: false,
    dividerSeq: null,
    notices: [],
  };
}

export function newClientMsgId() {
  const random = globalThis.crypto?.randomUUID
    ? globalThis.crypto.randomUUID()
    : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  return `web-${random}`;
}

export function createStore({ storage = memoryStorage(), now = () => Date.now() } = {}) {
  const listeners = new Set();
  let scheduled = false;

  const state = {
    version: 0,
    session: null, // {user}
    invite: null, // {code, status: "loading"|"ready"|"missing", preview, error} from /#invite=
    connection: { state: "offline", nextRetryAt: 0, attempt: 0 },
    clockSkewMs: 0, // server time − local time, from the `connected` event
    groups: new Map(), // group_id -> GroupSummary (+ local fields)
    currentId: null,
    view: "list", // phones: list → chat → details
    convos: new Map(),
    outbox: new Map(), // client_msg_id -> unsent message (persisted)
    streams: new Map(), // record_id -> live AI reply
    aiFailures: new Map(), // record_id -> failed AI reply (persisted, and doctors: from records)
    finished: new Set(), // record_ids whose reply is shown in full
    users: new Map(), // user_id -> {username, user_role}
    members: new Map(), // group_id -> [GroupMember]
    online: new Set(),
    typing: new Map(), // group_id -> Map(user_id -> expiry ms)
    reads: new Map(), // group_id -> Map(user_id -> seq) (persisted)
    drafts: new Map(), // group_id -> text
    composing: new Map(), // group_id -> {mode: "reply"|"edit", message_id}
    quoted: new Map(), // message_id -> a replied-to message not loaded in its conversation
    copilot: new Map(), // group_id -> Map(record_id -> copilot record) (doctors; copilot.js)
    drafted: new Map(), // group_id -> how often text was put into its composer (putDraft)
    toasts: [],
  };

  // ------------------------------------------------------------------ change notification

  function changed() {
    state.version += 1;
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(() => {
      scheduled = false;
      for (const listener of listeners) listener(state);
    });
  }

  function subscribe(listener) {
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  // ------------------------------------------------------------------ persistence

  const meId = () => state.session?.user?.user_id || null;
  const keyFor = (name) => `im.u.${meId()}.${name}`;

  function readJson(key, fallback) {
    try {
      const raw = storage.getItem(key);
      return raw ? JSON.parse(raw) : fallback;
    } catch {
      return fallback;
    }
  }

  function writeJson(key, value) {
    try {
      storage.setItem(key, JSON.stringify(value));
    } catch {
      // Quota or privacy mode: the state still works for this page's life.
    }
  }

  function persistOutbox() {
    if (meId()) writeJson(keyFor("outbox"), [...state.outbox.values()]);
  }

  function persistFailures() {
    if (!meId()) return;
    const kept = [...state.aiFailures.values()].filter((f) => f.source !== "server");
    writeJson(keyFor("ai"), kept.slice(-MAX_KEPT_FAILURES));
  }

  function persistReads() {
    if (!meId()) return;
    const plain = {};
    for (const [groupId, marks] of state.reads) plain[groupId] = Object.fromEntries(marks);
    writeJson(keyFor("reads"), plain);
  }

  /** Start a session ({user}): the persisted outbox, AI failures and read marks of this user
   * return. */
  function startSession(session) {
    state.session = { user: session.user };
    state.users.set(session.user.user_id, {
      username: session.user.username,
      user_role: session.user.user_role,
    });
    for (const item of readJson(keyFor("outbox"), [])) {
      if (!item?.client_msg_id || !item.group_id || typeof item.content !== "string") continue;
      // A send cut short by the reload is sent again (client_msg_id makes it safe).
      const status = item.status === "failed" ? "failed" : "queued";
      state.outbox.set(item.client_msg_id, { ...item, status });
    }
    for (const failure of readJson(keyFor("ai"), [])) {
      if (failure?.record_id) state.aiFailures.set(failure.record_id, failure);
    }
    for (const [groupId, marks] of Object.entries(readJson(keyFor("reads"), {}))) {
      state.reads.set(groupId, new Map(Object.entries(marks)));
    }
    changed();
  }

  function updateSessionUser(user) {
    if (!state.session) return;
    state.session = { ...state.session, user: { ...state.session.user, ...user } };
    state.users.set(user.user_id, { username: user.username, user_role: user.user_role });
    changed();
  }

  function endSession() {
    state.session = null;
    state.currentId = null;
    state.view = "list";
    for (const key of [
      "groups", "convos", "outbox", "streams", "aiFailures", "finished", "users", "members",
      "online", "typing", "reads", "drafts", "composing", "quoted", "copilot", "drafted",
    ]) {
      state[key].clear();
    }
    state.toasts = [];
    state.connection = { state: "offline", nextRetryAt: 0, attempt: 0 };
    changed();
  }

  // ------------------------------------------------------------------ invite being opened

  /** An invite link was opened (`/#invite=<code>`); its preview follows (setInvitePreview). */
  function openInvite(code) {
    if (state.invite?.code === code) return false;
    state.invite = { code, status: "loading", preview: null, error: null };
    changed();
    return true;
  }

  function setInvitePreview(code, preview, error = null) {
    if (state.invite?.code !== code) return;
    state.invite = { code, status: preview ? "ready" : "missing", preview, error };
    changed();
  }

  function clearInvite() {
    state.invite = null;
    changed();
  }

  /** Signing up or in from the welcome page: the invite is used right after (no dialog). */
  function inviteAfterEntry() {
    if (state.invite) state.invite = { ...state.invite, afterEntry: true };
  }

  // ------------------------------------------------------------------ connection, clock

  function setConnection(connState, { nextRetryAt = 0, attempt = 0 } = {}) {
    state.connection = { state: connState, nextRetryAt, attempt };
    changed();
  }

  const isConnected = () => state.connection.state === "connected";

  function setServerTime(iso) {
    const server = Date.parse(iso);
    if (!Number.isNaN(server)) state.clockSkewMs = server - now();
  }

  /** Now, on the server's clock (so local items sort among the server's timestamps). */
  const serverNowIso = () => new Date(now() + state.clockSkewMs).toISOString();

  // ------------------------------------------------------------------ groups

  function sortedGroups() {
    const activity = (g) => g.last_message?.created_at || g.updated_at || g.created_at || "";
    return [...state.groups.values()].sort((a, b) => activity(b).localeCompare(activity(a)));
  }

  /** Merge a fresh /group/list answer; never moves a group's last message backwards.
   * Returns the ids of groups I am no longer in (forgotten). */
  function mergeGroupList(list) {
    const seen = new Set();
    for (const fresh of list) {
      seen.add(fresh.group_id);
      const old = state.groups.get(fresh.group_id);
      const merged = { ...old, ...fresh };
      if (old && old.last_seq > fresh.last_seq) {
        merged.last_seq = old.last_seq;
        merged.last_message = old.last_message;
      }
      state.groups.set(fresh.group_id, merged);
    }
    const gone = [...state.groups.keys()].filter((id) => !seen.has(id));
    for (const id of gone) forgetGroup(id);
    changed();
    return gone;
  }

  function addGroup(group) {
    state.groups.set(group.group_id, {
      unread_count: 0,
      last_read_seq: group.last_seq,
      last_message: null,
      ...state.groups.get(group.group_id),
      ...group,
    });
    changed();
  }

  function forgetGroup(groupId) {
    state.groups.delete(groupId);
    state.convos.delete(groupId);
    state.members.delete(groupId);
    state.typing.delete(groupId);
    state.composing.delete(groupId);
    for (const [id, p] of state.outbox) if (p.group_id === groupId) state.outbox.delete(id);
    for (const [id, s] of state.streams) if (s.group_id === groupId) state.streams.delete(id);
    for (const [id, f] of state.aiFailures) if (f.group_id === groupId) state.aiFailures.delete(id);
    if (state.currentId === groupId) {
      state.currentId = null;
      state.view = "list";
    }
    persistOutbox();
    persistFailures();
    changed();
  }

  /** A `group_updated` event or a PATCH answer. The hand-over shows as a notice in the
   * conversation when it happens, and as a banner from `ai_enabled` at any time. */
  function updateGroup(group, { live = true } = {}) {
    const known = state.groups.get(group.group_id);
    if (!known) return false;
    const { last_seq: _seq, ...fields } = group; // last_seq moves with messages only
    if (live && known.ai_enabled !== group.ai_enabled && group.ai_enabled !== undefined) {
      const convo = convoOf(group.group_id);
      convo.notices.push({
        id: `${group.group_id}:${group.updated_at || now()}:${group.ai_enabled}`,
        kind: group.ai_enabled ? "ai_on" : "handover",
        at: group.updated_at || serverNowIso(),
      });
    }
    Object.assign(known, fields);
    changed();
    return true;
  }

  const totalUnread = () =>
    [...state.groups.values()].reduce((sum, g) => sum + (g.unread_count || 0), 0);

  // ------------------------------------------------------------------ navigation

  function openGroup(groupId) {
    const group = state.groups.get(groupId);
    if (!group) return false;
    state.currentId = groupId;
    state.view = "chat";
    const convo = convoOf(groupId);
    if (!convo.loaded) convo.dividerSeq = group.unread_count > 0 ? group.last_read_seq : null;
    changed();
    return true;
  }

  function setView(view) {
    state.view = state.currentId ? view : "list";
    changed();
  }

  function closeConversation() {
    state.currentId = null;
    state.view = "list";
    changed();
  }

  // ------------------------------------------------------------------ messages

  function convoOf(groupId) {
    let convo = state.convos.get(groupId);
    if (!convo) {
      convo = newConvo();
      state.convos.set(groupId, convo);
    }
    return convo;
  }

  /** Put messages into a conversation; returns how many were new. */
  function insertMessages(groupId, messages) {
    const convo = convoOf(groupId);
    let added = 0;
    for (const m of messages) {
      if (convo.ids.has(m.message_id) || convo.bySeq.has(m.seq)) continue;
      convo.ids.set(m.message_id, m.seq);
      convo.bySeq.set(m.seq, m);
      convo.minSeq = Math.min(convo.minSeq, m.seq);
      convo.maxSeq = Math.max(convo.maxSeq, m.seq);
      added += 1;
    }
    if (added && convo.contig < convo.minSeq - 1) convo.contig = convo.minSeq - 1;
    while (convo.bySeq.has(convo.contig + 1)) convo.contig += 1;
    if (added) changed();
    return added;
  }

  /** The first page arrived: the conversation is loaded (even when the group is empty). */
  function loadedLatest(groupId, messages) {
    const convo = convoOf(groupId);
    insertMessages(groupId, messages);
    if (!convo.bySeq.size) {
      const group = state.groups.get(groupId);
      convo.contig = Math.max(convo.contig, group?.last_seq || 0);
    }
    convo.loaded = true;
    changed();
  }

  /** The seq to ask older messages before, or null when there is nothing older to ask for
   * (not loaded, already loading, an empty group, or the first message is shown). */
  function olderCursor(groupId) {
    const convo = state.convos.get(groupId);
    if (!convo?.loaded || convo.loadingOlder || !convo.bySeq.size) return null;
    return Number.isFinite(convo.minSeq) && convo.minSeq > 1 ? convo.minSeq : null;
  }

  function setLoadingOlder(groupId, loading) {
    convoOf(groupId).loadingOlder = loading;
    changed();
  }

  /**
   * Take in one message from any source (message, message_sent, sync_result, REST).
   * `reading(groupId)` says whether the person looks at that conversation now.
   * Returns {known, added, gap}: known=false means the group is not in my list yet;
   * gap=true means seqs are missing before it (the caller fetches them).
   */
  function ingestMessage(m, reading = () => false) {
    const me = meId();
    if (m.from_user_id === me && m.client_msg_id && state.outbox.delete(m.client_msg_id)) {
      persistOutbox();
    }
    if (m.from_user_role === "AI_ASSISTANT") finishStream(m);
    state.typing.get(m.group_id)?.delete(m.from_user_id);
    const group = state.groups.get(m.group_id);
    changed();
    if (!group) return { known: false, added: 0, gap: false };
    const change = CHANGE_TYPES.has(m.msg_type);
    if (change) applyChange(m);
    if (m.seq > (group.last_seq || 0)) {
      group.last_seq = m.seq;
      // SPEC §11: an edit or a recall is never a last message and never unread.
      if (!change) group.last_message = m;
      if (!change && m.from_user_id !== me && !reading(m.group_id)) {
        group.unread_count = (group.unread_count || 0) + 1;
      }
    }
    const convo = state.convos.get(m.group_id);
    if (!convo?.loaded) return { known: true, added: 0, gap: false };
    const gap = m.seq > convo.contig + 1;
    return { known: true, added: insertMessages(m.group_id, [m]), gap };
  }

  /** An EDIT or RECALL entry (SPEC §11) changes the message it targets, where loaded; the
   * entry itself keeps the log dense (the sync cursor) but is not shown. */
  function applyChange(entry) {
    const target = findMessage(entry.group_id, entry.target_message_id);
    if (!target) return;
    if (entry.msg_type === "RECALL") {
      const recalledAt = target.recalled_at || entry.created_at;
      replaceMessage({ ...target, msg_content: "", attachment: null, recalled_at: recalledAt });
    } else if (!target.recalled_at && (target.edited_at || "") <= entry.created_at) {
      // A later edit wins; an edit of a recalled message never brings its words back.
      replaceMessage({ ...target, msg_content: entry.msg_content, edited_at: entry.created_at });
    }
  }

  /** A message in its current state (the answer to an edit or a recall, a fetched quote):
   * replaces the copy held in its conversation, among quotes, and as the last message. */
  function replaceMessage(message) {
    const convo = state.convos.get(message.group_id);
    const seq = convo?.ids.get(message.message_id);
    if (seq !== undefined) convo.bySeq.set(seq, message);
    if (state.quoted.has(message.message_id)) state.quoted.set(message.message_id, message);
    const group = state.groups.get(message.group_id);
    if (group?.last_message?.message_id === message.message_id) group.last_message = message;
  }

  function applyMessage(message) {
    const known = findMessage(message.group_id, message.message_id);
    // Never step back: a stale copy must not undo a recall or a later edit.
    if (known?.recalled_at && !message.recalled_at) return;
    if (known && (known.edited_at || "") > (message.edited_at || "")) return;
    replaceMessage(message);
    changed();
  }

  /** A message of a group if held (loaded in the conversation, or fetched as a quote). */
  function findMessage(groupId, messageId) {
    const convo = state.convos.get(groupId);
    const seq = convo?.ids.get(messageId);
    if (seq !== undefined) return convo.bySeq.get(seq);
    const quoted = state.quoted.get(messageId);
    return quoted && quoted.group_id === groupId ? quoted : null;
  }

  /** A replied-to message fetched on its own (not loaded in its conversation). */
  function rememberQuoted(message) {
    if (!findMessage(message.group_id, message.message_id)) {
      state.quoted.set(message.message_id, message);
      changed();
    }
  }

  // ------------------------------------------------------------------ composer: reply, edit

  /** Reply to, or edit, a message in the composer of its group; null mode ends it. */
  function setComposing(groupId, mode = null, messageId = null) {
    if (mode) state.composing.set(groupId, { mode, message_id: messageId });
    else state.composing.delete(groupId);
    changed();
  }

  const composingOf = (groupId) => state.composing.get(groupId) || null;

  /** Sync cursors: per group, the highest seq I have seen with nothing missing below. */
  function syncCursors() {
    const cursors = {};
    for (const [groupId, group] of state.groups) {
      const convo = state.convos.get(groupId);
      cursors[groupId] = convo?.loaded ? convo.contig : group.last_seq || 0;
    }
    return cursors;
  }

  /** Mark the group read locally; returns the seq to report to the server, or null. */
  function markRead(groupId) {
    const group = state.groups.get(groupId);
    if (!group) return null;
    if (group.unread_count) {
      group.unread_count = 0;
      changed();
    }
    const seq = group.last_seq || 0;
    return seq > (group.last_read_seq || 0) ? seq : null;
  }

  function readReported(groupId, seq) {
    const group = state.groups.get(groupId);
    if (group) group.last_read_seq = Math.max(group.last_read_seq || 0, seq);
  }

  // ------------------------------------------------------------------ outbox

  /** Queue a message written in the composer ({reply_to, mentions} optional).
   * {ok, item} or {ok: false, reason}. */
  function queueMessage(groupId, content, { reply_to = null, mentions = [], attachment = null } = {}) {
    if (!content.trim() && !attachment) return { ok: false, reason: "EMPTY" };
    const length = contentLength(content);
    if (length > MAX_CONTENT_CHARS) return { ok: false, reason: "TOO_LONG", length };
    const item = {
      client_msg_id: newClientMsgId(),
      group_id: groupId,
      content,
      reply_to,
      mentions,
      attachment, // {attachment_id, name, mime} of an upload, sent as an IMAGE or FILE
      created_at: serverNowIso(),
      status: "queued",
      error: null,
    };
    state.outbox.set(item.client_msg_id, item);
    state.drafts.delete(groupId);
    if (state.composing.get(groupId)?.mode === "reply") state.composing.delete(groupId);
    persistOutbox();
    changed();
    return { ok: true, item };
  }

  function setOutboxStatus(clientMsgId, status, error = null) {
    const item = state.outbox.get(clientMsgId);
    if (!item) return null;
    state.outbox.set(clientMsgId, { ...item, status, error });
    persistOutbox();
    changed();
    return state.outbox.get(clientMsgId);
  }

  /** A refused send: RATE_LIMITED waits and goes again by itself; anything else waits for the
   * person to retry or discard it. `error` is {code, message, retry_after?}. */
  function sendFailed(clientMsgId, error) {
    const retryAfter = Number(error?.retry_after ?? error?.details?.retry_after);
    if (error?.code === "RATE_LIMITED" && retryAfter > 0) {
      const retryAt = now() + retryAfter * 1000;
      return setOutboxStatus(clientMsgId, "waiting", { code: error.code, retryAt });
    }
    return setOutboxStatus(clientMsgId, "failed", {
      code: error?.code || "UNKNOWN",
      message: error?.message || "",
    });
  }

  const retryMessage = (clientMsgId) => setOutboxStatus(clientMsgId, "queued");

  function discardMessage(clientMsgId) {
    const had = state.outbox.delete(clientMsgId);
    persistOutbox();
    changed();
    return had;
  }

  /** What to (re)send now, oldest first: queued ones, sends cut short, waits that are over. */
  function dueForSending() {
    const due = [...state.outbox.values()].filter(
      (item) =>
        item.status === "queued" ||
        item.status === "sending" ||
        (item.status === "waiting" && (item.error?.retryAt || 0) <= now()),
    );
    return due.sort((a, b) => a.created_at.localeCompare(b.created_at));
  }

  function setDraft(groupId, text) {
    if (text) state.drafts.set(groupId, text);
    else state.drafts.delete(groupId);
  }

  /** Put text into a group's composer (a copilot suggestion): the composer follows `drafted`. */
  function putDraft(groupId, text) {
    setDraft(groupId, text);
    state.drafted.set(groupId, (state.drafted.get(groupId) || 0) + 1);
    changed();
  }

  // ------------------------------------------------------------------ AI streams, failures

  function streamFor(event) {
    let stream = state.streams.get(event.record_id);
    if (!stream) {
      stream = {
        record_id: event.record_id,
        group_id: event.group_id,
        user_message_id: event.user_message_id || null,
        text: "",
        status: "PROCESSING",
        started_at: serverNowIso(),
      };
      state.streams.set(event.record_id, stream);
    }
    return stream;
  }

  /** ai_status: PROCESSING shows "replying", FAILED becomes a kept failure notice. */
  function aiStatus(event) {
    if (state.finished.has(event.record_id)) return;
    if (event.status === "SUCCESS") {
      // The final message normally came first; it removes the bubble. If not, it will.
      const stream = state.streams.get(event.record_id);
      if (stream) stream.status = "SUCCESS";
      changed();
      return;
    }
    if (event.status === "FAILED") {
      const stream = state.streams.get(event.record_id);
      state.streams.delete(event.record_id);
      state.aiFailures.set(event.record_id, {
        record_id: event.record_id,
        group_id: event.group_id,
        user_message_id: event.user_message_id || stream?.user_message_id || null,
        error: event.error || null,
        at: stream?.started_at || serverNowIso(),
        source: "event",
      });
      persistFailures();
      changed();
      return;
    }
    streamFor(event).status = event.status;
    changed();
  }

  function aiDelta(event) {
    if (state.finished.has(event.record_id) || state.aiFailures.has(event.record_id)) return;
    const stream = streamFor(event);
    stream.text += event.delta;
    changed();
  }

  /** The final AI message replaces its streaming bubble: the server stores the reply with
   * client_msg_id = record_id; without it, the oldest reply still streaming in the group. */
  function finishStream(message) {
    let recordId = state.streams.has(message.client_msg_id) ? message.client_msg_id : null;
    if (!recordId) {
      for (const [id, stream] of state.streams) {
        if (stream.group_id === message.group_id) {
          recordId = id;
          break;
        }
      }
    }
    if (message.client_msg_id) state.finished.add(message.client_msg_id);
    if (recordId) {
      state.finished.add(recordId);
      state.streams.delete(recordId);
    }
  }

  /** Replies that were streaming when the link broke: the sync brings their final message. */
  function dropLiveStreams() {
    state.streams.clear();
    changed();
  }

  /** A doctor's view of the group's AI records (server state): failures shown from them. */
  function aiRecords(groupId, records) {
    for (const record of records) {
      if (record.status === "FAILED") {
        state.aiFailures.set(record.record_id, {
          record_id: record.record_id,
          group_id: groupId,
          user_message_id: record.user_message_id,
          error: record.error_message,
          at: record.updated_at || record.created_at,
          source: "server",
        });
      } else if (record.status === "SUCCESS") {
        state.finished.add(record.record_id);
        state.aiFailures.delete(record.record_id);
      }
    }
    persistFailures();
    changed();
  }

  function aiBusy(groupId) {
    for (const stream of state.streams.values()) {
      if (stream.group_id === groupId && stream.status === "PROCESSING") return true;
    }
    return false;
  }

  // ------------------------------------------------------------------ members, presence

  function setMembers(groupId, members) {
    state.members.set(groupId, members);
    for (const m of members) {
      state.users.set(m.user_id, { username: m.username, user_role: m.user_role });
      if (m.online) state.online.add(m.user_id);
      else state.online.delete(m.user_id);
    }
    const group = state.groups.get(groupId);
    if (group) group.member_count = members.length;
    changed();
  }

  function setPresence(userId, online) {
    if (online) state.online.add(userId);
    else state.online.delete(userId);
    changed();
  }

  /** "online" | "offline" | "unknown": nothing is known while my own link is down. */
  function presenceOf(member) {
    if (!isConnected()) return "unknown";
    if (member.user_role === "AI_ASSISTANT" || state.online.has(member.user_id)) return "online";
    return "offline";
  }

  function rememberUser(user) {
    state.users.set(user.user_id, { username: user.username, user_role: user.user_role });
    changed();
  }

  // ------------------------------------------------------------------ typing, read marks

  function noteTyping(groupId, userId) {
    if (!state.typing.has(groupId)) state.typing.set(groupId, new Map());
    state.typing.get(groupId).set(userId, now() + TYPING_SHOWN_MS);
    changed();
  }

  function typingUsers(groupId) {
    const map = state.typing.get(groupId);
    if (!map) return [];
    const at = now();
    for (const [userId, until] of map) if (until <= at) map.delete(userId);
    return [...map.keys()];
  }

  /** A `read` event: someone read the group up to seq (mine moves my unread count). */
  function noteRead(groupId, userId, seq) {
    const group = state.groups.get(groupId);
    if (userId === meId()) {
      if (group) {
        group.last_read_seq = Math.max(group.last_read_seq || 0, seq);
        if (seq >= (group.last_seq || 0)) group.unread_count = 0;
      }
    } else {
      if (state.users.get(userId)?.user_role === "AI_ASSISTANT") return;
      if (!state.reads.has(groupId)) state.reads.set(groupId, new Map());
      const marks = state.reads.get(groupId);
      if ((marks.get(userId) || 0) >= seq) return;
      marks.set(userId, seq);
      persistReads();
    }
    changed();
  }

  /** How many others (people, not the AI) have read up to a seq. */
  function readersOf(groupId, seq) {
    const marks = state.reads.get(groupId);
    if (!marks) return 0;
    let count = 0;
    for (const [userId, mark] of marks) {
      if (mark >= seq && state.users.get(userId)?.user_role !== "AI_ASSISTANT") count += 1;
    }
    return count;
  }

  // ------------------------------------------------------------------ toasts

  let toastId = 0;
  /** A toast: {kind: "error"|"info", key, params, error}; the view words it. */
  function toast(kind, key, params = {}, error = null) {
    const text = JSON.stringify([key, params, error?.code]);
    state.toasts = state.toasts.filter((t) => t.text !== text); // no pile of the same
    toastId += 1;
    const item = { id: toastId, kind, key, params, error, text };
    state.toasts = [...state.toasts, item].slice(-4);
    changed();
    return item.id;
  }

  function dismissToast(id) {
    state.toasts = state.toasts.filter((t) => t.id !== id);
    changed();
  }

  // ------------------------------------------------------------------ the timeline

  /**
   * The open conversation in display order: day separators, messages by seq, the "new
   * messages" divider, each AI reply (streaming or failed) right after the message it answers,
   * and local items (unsent messages, hand-over notices) at their time among the messages.
   * Every item has a stable `key` for keyed rendering.
   */
  function timeline(groupId) {
    const convo = state.convos.get(groupId);
    if (!convo) return [];
    const messages = [...convo.bySeq.values()]
      .filter((m) => !CHANGE_TYPES.has(m.msg_type))
      .sort((a, b) => a.seq - b.seq);
    const anchored = new Map(); // message_id -> AI items after it
    const floating = []; // items placed by time
    const anchor = (item, messageId) => {
      if (messageId && convo.ids.has(messageId)) {
        if (!anchored.has(messageId)) anchored.set(messageId, []);
        anchored.get(messageId).push(item);
        return true;
      }
      return false;
    };
    for (const stream of state.streams.values()) {
      if (stream.group_id !== groupId) continue;
      const item = { key: `s:${stream.record_id}`, kind: "stream", stream, at: stream.started_at };
      if (!anchor(item, stream.user_message_id)) floating.push(item);
    }
    for (const failure of state.aiFailures.values()) {
      if (failure.group_id !== groupId || state.finished.has(failure.record_id)) continue;
      // A failure whose question is not loaded (older history) shows when it is.
      const item = { key: `f:${failure.record_id}`, kind: "ai_failed", failure, at: failure.at };
      if (!anchor(item, failure.user_message_id) && !failure.user_message_id) floating.push(item);
    }
    for (const pending of state.outbox.values()) {
      if (pending.group_id === groupId) {
        floating.push({ key: `p:${pending.client_msg_id}`, kind: "pending", pending, at: pending.created_at });
      }
    }
    for (const notice of convo.notices) {
      floating.push({ key: `n:${notice.id}`, kind: "notice", notice, at: notice.at });
    }
    floating.sort((a, b) => a.at.localeCompare(b.at));

    const ordered = [];
    let f = 0;
    let divided = convo.dividerSeq == null;
    for (const message of messages) {
      while (f < floating.length && floating[f].at < message.created_at) ordered.push(floating[f++]);
      if (!divided && message.seq > convo.dividerSeq) {
        // Before the first unread message loaded (the first unread may be further back).
        ordered.push({ key: "divider", kind: "divider", at: message.created_at });
        divided = true;
      }
      ordered.push({ key: `m:${message.message_id}`, kind: "message", message, at: message.created_at });
      for (const item of (anchored.get(message.message_id) || []).sort((a, b) => a.at.localeCompare(b.at))) {
        ordered.push(item);
      }
    }
    while (f < floating.length) ordered.push(floating[f++]);

    const items = [];
    let lastDay = null;
    for (const item of ordered) {
      const day = dayKey(item.at);
      if (day !== lastDay && item.kind !== "divider") {
        items.push({ key: `d:${day}`, kind: "day", at: item.at });
        lastDay = day;
      }
      items.push(item);
    }
    return items;
  }

  return {
    state,
    subscribe,
    changed,
    // session
    startSession,
    updateSessionUser,
    endSession,
    meId,
    // invite being opened
    openInvite,
    setInvitePreview,
    clearInvite,
    inviteAfterEntry,
    // connection
    setConnection,
    isConnected,
    setServerTime,
    serverNowIso,
    // groups and navigation
    sortedGroups,
    mergeGroupList,
    addGroup,
    forgetGroup,
    updateGroup,
    totalUnread,
    openGroup,
    setView,
    closeConversation,
    // messages
    convoOf,
    insertMessages,
    loadedLatest,
    olderCursor,
    setLoadingOlder,
    ingestMessage,
    syncCursors,
    markRead,
    readReported,
    applyMessage,
    findMessage,
    rememberQuoted,
    setComposing,
    composingOf,
    // outbox
    queueMessage,
    setOutboxStatus,
    sendFailed,
    retryMessage,
    discardMessage,
    dueForSending,
    setDraft,
    putDraft,
    // AI
    aiStatus,
    aiDelta,
    aiRecords,
    aiBusy,
    dropLiveStreams,
    // people
    setMembers,
    setPresence,
    presenceOf,
    rememberUser,
    noteTyping,
    typingUsers,
    noteRead,
    readersOf,
    // toasts
    toast,
    dismissToast,
    // view model
    timeline,
  };
}
