// Client-side chat state and the rules that keep it consistent: messages de-duplicated by
// message_id, the contiguous seq per group (the sync cursor), the outbox keyed by client_msg_id,
// AI streams by record_id. No DOM and no network here.

export const state = {
  token: null,
  user: null,
  groups: new Map(), // group_id -> GroupSummary (+ local fields)
  currentId: null,
  convos: new Map(), // group_id -> conversation (see newConvo)
  pending: new Map(), // client_msg_id -> {client_msg_id, group_id, content, status, error, created_at}
  streams: new Map(), // record_id -> {record_id, group_id, text, status, anchorSeq, started_at}
  users: new Map(), // user_id -> {username, user_role}
  lookups: new Set(), // user_ids whose profile was asked for
  members: new Map(), // group_id -> [GroupMember]
  online: new Set(),
  typing: new Map(), // group_id -> Map(user_id -> expiry ms)
};

export function resetState() {
  state.token = null;
  state.user = null;
  state.currentId = null;
  for (const key of ["groups", "convos", "pending", "streams", "users", "lookups", "members", "typing"]) {
    state[key].clear();
  }
  state.online.clear();
}

export function newClientMsgId() {
  const random = crypto.randomUUID
    ? crypto.randomUUID()
    : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  return `web-${random}`;
}

function newConvo() {
  // contig: highest seq such that every loaded seq from minSeq up to it is present.
  return { bySeq: new Map(), ids: new Set(), minSeq: Infinity, maxSeq: 0, contig: 0, loaded: false };
}

export function convoOf(groupId) {
  let convo = state.convos.get(groupId);
  if (!convo) {
    convo = newConvo();
    state.convos.set(groupId, convo);
  }
  return convo;
}

/** Put messages into a loaded conversation; returns how many were new. */
export function insertMessages(groupId, messages) {
  const convo = convoOf(groupId);
  let added = 0;
  for (const m of messages) {
    if (convo.ids.has(m.message_id) || convo.bySeq.has(m.seq)) continue;
    convo.ids.add(m.message_id);
    convo.bySeq.set(m.seq, m);
    convo.minSeq = Math.min(convo.minSeq, m.seq);
    convo.maxSeq = Math.max(convo.maxSeq, m.seq);
    added += 1;
  }
  if (added && convo.contig < convo.minSeq - 1) convo.contig = convo.minSeq - 1;
  while (convo.bySeq.has(convo.contig + 1)) convo.contig += 1;
  return added;
}

export function sortedGroups() {
  const activity = (g) => g.last_message?.created_at || g.updated_at || g.created_at || "";
  return [...state.groups.values()].sort((a, b) => activity(b).localeCompare(activity(a)));
}

/** Merge a fresh /group/list answer; never moves a group's last message backwards. */
export function mergeGroupList(list) {
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
  return gone;
}

export function forgetGroup(groupId) {
  state.groups.delete(groupId);
  state.convos.delete(groupId);
  state.members.delete(groupId);
  state.typing.delete(groupId);
  for (const [id, p] of state.pending) if (p.group_id === groupId) state.pending.delete(id);
  for (const [id, s] of state.streams) if (s.group_id === groupId) state.streams.delete(id);
}

/**
 * Take in one message from any source (message, message_sent, sync_result, REST).
 * `reading(groupId)` says whether the person is looking at that conversation now.
 * Returns {known, added, gap}: known=false means the group is not in my list yet;
 * gap=true means seqs are missing before it (the caller fetches them).
 */
export function ingestMessage(m, reading) {
  const meId = state.user?.user_id;
  if (m.from_user_id === meId && m.client_msg_id) state.pending.delete(m.client_msg_id);
  if (m.from_user_role === "AI_ASSISTANT") finishStream(m);
  state.typing.get(m.group_id)?.delete(m.from_user_id);
  const group = state.groups.get(m.group_id);
  if (!group) return { known: false, added: 0, gap: false };
  if (m.seq > (group.last_seq || 0)) {
    group.last_seq = m.seq;
    group.last_message = m;
    if (m.from_user_id !== meId && !reading(m.group_id)) {
      group.unread_count = (group.unread_count || 0) + 1;
    }
  }
  const convo = state.convos.get(m.group_id);
  if (!convo?.loaded) return { known: true, added: 0, gap: false };
  const gap = m.seq > convo.contig + 1;
  return { known: true, added: insertMessages(m.group_id, [m]), gap };
}

// ---------------------------------------------------------------- AI streams

export function streamFor(event) {
  let stream = state.streams.get(event.record_id);
  if (!stream) {
    const group = state.groups.get(event.group_id);
    stream = {
      record_id: event.record_id,
      group_id: event.group_id,
      text: "",
      status: "PROCESSING",
      anchorSeq: group?.last_seq || 0,
      started_at: new Date().toISOString(),
    };
    state.streams.set(event.record_id, stream);
  }
  return stream;
}

const finishedRecords = new Set();

/** Whether an ai_status / ai_reply_delta event belongs to a reply already shown in full. */
export const isFinished = (recordId) => finishedRecords.has(recordId);

/** The final AI message replaces its streaming bubble: the server stores the reply with
 * client_msg_id = record_id; without it, the oldest reply still streaming in the group. */
function finishStream(message) {
  let recordId = state.streams.has(message.client_msg_id) ? message.client_msg_id : null;
  if (!recordId) {
    for (const [id, stream] of state.streams) {
      if (stream.group_id === message.group_id && stream.status !== "FAILED") {
        recordId = id;
        break;
      }
    }
  }
  if (message.client_msg_id) finishedRecords.add(message.client_msg_id);
  if (recordId) {
    finishedRecords.add(recordId);
    state.streams.delete(recordId);
  }
}

export function aiBusy(groupId) {
  for (const stream of state.streams.values()) {
    if (stream.group_id === groupId && stream.status === "PROCESSING") return true;
  }
  return false;
}

// ---------------------------------------------------------------- typing

const TYPING_SHOWN_MS = 4000;

export function noteTyping(groupId, userId) {
  if (!state.typing.has(groupId)) state.typing.set(groupId, new Map());
  state.typing.get(groupId).set(userId, Date.now() + TYPING_SHOWN_MS);
}

export function typingUsers(groupId) {
  const now = Date.now();
  const map = state.typing.get(groupId);
  if (!map) return [];
  for (const [userId, until] of map) if (until <= now) map.delete(userId);
  return [...map.keys()];
}

// ---------------------------------------------------------------- conversation view model

/** Messages, the "new messages" divider, AI streams and my unsent messages, in display order. */
export function conversationItems(groupId) {
  const convo = state.convos.get(groupId);
  if (!convo) return [];
  const keyed = [...convo.bySeq.values()].map((message) => ({
    key: message.seq,
    kind: "message",
    message,
  }));
  if (convo.dividerSeq != null && convo.maxSeq > convo.dividerSeq) {
    keyed.push({ key: convo.dividerSeq + 0.25, kind: "divider" });
  }
  for (const stream of state.streams.values()) {
    if (stream.group_id === groupId) {
      keyed.push({ key: Math.min(stream.anchorSeq, convo.maxSeq) + 0.5, kind: "stream", stream });
    }
  }
  keyed.sort((a, b) => a.key - b.key);
  for (const pending of state.pending.values()) {
    if (pending.group_id === groupId) keyed.push({ kind: "pending", pending });
  }
  return keyed;
}
