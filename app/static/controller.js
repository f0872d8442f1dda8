// What the person and the server do to the state: the session (tokens in auth.js), loading
// pages, sending, WebSocket events, doctors' actions. It calls the API and the socket and
// changes the store; it never touches the DOM (the views render the store, effects.js does the
// title and alerts). Account, invite and message-change actions live in their own modules and
// are merged into the controller here.

import { createAccountActions } from "./account.js";
import { createApi } from "./api.js";
import { browserLock, createAuth } from "./auth.js";
import { createInviteActions } from "./invites.js";
import { createMessageActions } from "./message-actions.js";
import { createCopilotActions } from "./copilot.js";
import { sessionFromGrant } from "./session.js";
import { ChatSocket } from "./socket.js";

export const LAST_GROUP_KEY = "im.lastGroup";
const TYPING_EVERY_MS = 3000;
const PAGE_SIZE = 50;
const RECORDS_PAGE_SIZE = 20;

export function createController({ store, storage, isVisible = () => true, onMessage = () => {} }) {
  const { state } = store;

  const auth = createAuth({
    storage,
    refreshGrant: (refreshToken) => api.refresh(refreshToken),
    withLock: browserLock(storage),
    onEnded: (reason) => leave(reason),
  });
  const api = createApi({ auth, onUnauthorized: () => signOut("toast.session_expired") });

  const socket = new ChatSocket({
    // Built at each connect, with the access token of that moment (refreshed by the probe).
    url: () => {
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      const id = encodeURIComponent(state.session.user.user_id);
      return `${scheme}://${location.host}/ws/${id}?token=${encodeURIComponent(auth.token())}`;
    },
    // Up, and my token still good (refreshed first when spent)? A 401 signs out.
    probe: async () => {
      if (!state.session) return false;
      try {
        store.updateSessionUser(await api.me());
        return true;
      } catch {
        return false;
      }
    },
    onEvent: (event) => handlers[event.type]?.(event),
    onState: (connState, info) => store.setConnection(connState, info),
    onConnected: (event) => resync(event),
    // Closed with 4401: a refresh, then a new socket at once; a refused refresh signs out.
    onRefused: async () => (await auth.refresh()) === "ok",
  });

  /** A catch handler that tells the person what failed, in their language. */
  function report(key, params = {}) {
    return (error) => {
      if (!error?.handled) store.toast("error", key, params, error);
    };
  }

  // ---------------------------------------------------------------- session

  /** Enter with a grant of the server (sign-up, login): {access_token, refresh_token,
   * expires_in} and the user. Returns once the group list is loaded. */
  function enterWithGrant(grant, user) {
    return enter(sessionFromGrant(grant, user, Date.now()));
  }

  async function enter(session) {
    auth.begin(session);
    store.startSession(session);
    socket.start();
    await loadGroups();
    const last = storage.getItem(LAST_GROUP_KEY);
    if (last && state.groups.has(last) && !state.currentId) openGroup(last);
  }

  /** Resume the session kept in this browser; false when there is none. */
  function resume() {
    const session = auth.load();
    if (!session) return false;
    enter(session);
    return true;
  }

  /** The session is over on this page (signed out, refused, or ended in another tab). */
  function leave(noticeKey) {
    if (!state.session) return;
    socket.stop();
    storage.removeItem(LAST_GROUP_KEY);
    store.endSession();
    if (noticeKey) store.toast("error", noticeKey);
  }

  function signOut(noticeKey) {
    auth.end(null, { silent: true });
    leave(noticeKey);
  }

  /** Another tab changed the stored session: follow it (a new pair, a sign-out, another
   * person signing in). */
  function sessionChangedElsewhere() {
    const { change, stored } = auth.adoptStored();
    if (change === "switched") {
      leave(null);
      if (stored) enter(stored);
    }
  }

  /** The page is shown again: timers may have slept, so refresh a spent token, reconnect. */
  function wake() {
    if (!state.session) return;
    auth.fresh().finally(() => socket.retryNow());
  }

  // ---------------------------------------------------------------- groups, conversation

  async function loadGroups() {
    try {
      const gone = store.mergeGroupList(await api.listGroups());
      if (gone.length) saveLastGroup();
    } catch (error) {
      report("toast.load_groups_failed")(error);
    }
    markRead();
  }

  let groupRefresh = null;
  function refreshGroupsSoon() {
    clearTimeout(groupRefresh);
    groupRefresh = setTimeout(loadGroups, 150);
  }

  function saveLastGroup() {
    if (state.currentId) storage.setItem(LAST_GROUP_KEY, state.currentId);
    else storage.removeItem(LAST_GROUP_KEY);
  }

  function openGroup(groupId) {
    if (!store.openGroup(groupId)) return;
    saveLastGroup();
    const convo = store.convoOf(groupId);
    if (!convo.loaded) loadLatest(groupId);
    loadMembers(groupId);
    if (state.groups.get(groupId)?.my_role === "DOCTOR") loadAiFailures(groupId);
    markRead();
  }

  function back() {
    if (state.view === "details") store.setView("chat");
    else {
      store.closeConversation();
      saveLastGroup();
    }
  }

  async function loadLatest(groupId) {
    try {
      const page = await api.latestMessages(groupId, PAGE_SIZE);
      store.loadedLatest(groupId, page.messages);
      await fillGap(groupId); // anything that arrived while the page was on its way
    } catch (error) {
      report("toast.load_messages_failed")(error);
    }
    markRead();
  }

  async function loadOlder() {
    const groupId = state.currentId;
    const before = store.olderCursor(groupId);
    if (before === null) return false;
    store.setLoadingOlder(groupId, true);
    try {
      const page = await api.messagesBefore(groupId, before, PAGE_SIZE);
      store.insertMessages(groupId, page.messages);
      return true;
    } catch (error) {
      report("toast.load_older_failed")(error);
      return false;
    } finally {
      store.setLoadingOlder(groupId, false);
    }
  }

  const gapFills = new Set();
  /** Fetch every message after the conversation's contiguous seq (missed pushes). */
  async function fillGap(groupId) {
    if (gapFills.has(groupId)) return;
    gapFills.add(groupId);
    try {
      for (let round = 0; round < 20; round += 1) {
        const convo = state.convos.get(groupId);
        if (!convo) return;
        const page = await api.messagesAfter(groupId, convo.contig, 200);
        for (const m of page.messages) store.ingestMessage(m, reading);
        if (!page.has_more) break;
      }
    } catch (error) {
      report("toast.fetch_missed_failed")(error);
    } finally {
      gapFills.delete(groupId);
    }
  }

  function reading(groupId) {
    return groupId === state.currentId && state.view !== "list" && isVisible();
  }

  /** Tell the server I have read the open conversation up to its last message. */
  function markRead() {
    const groupId = state.currentId;
    if (!groupId || !reading(groupId)) return;
    const seq = store.markRead(groupId);
    if (seq !== null && socket.send({ type: "read", group_id: groupId, seq })) {
      store.readReported(groupId, seq);
    }
  }

  async function loadMembers(groupId) {
    try {
      store.setMembers(groupId, await api.members(groupId));
    } catch (error) {
      report("toast.load_members_failed")(error);
    }
  }

  const lookups = new Set();
  /** A user's name, asked for once when unknown ("…" meanwhile). */
  function nameOf(userId) {
    const known = state.users.get(userId);
    if (known) return known.username;
    if (!lookups.has(userId) && state.session) {
      lookups.add(userId);
      api
        .getUser(userId)
        .then((u) => store.rememberUser(u))
        .catch(() => store.rememberUser({ user_id: userId, username: "?", user_role: null }));
    }
    return "…";
  }

  // ---------------------------------------------------------------- sending

  function transmit(item) {
    const event = {
      type: "send_message",
      group_id: item.group_id,
      content: item.content,
      client_msg_id: item.client_msg_id,
    };
    if (item.reply_to) event.reply_to = item.reply_to;
    if (item.mentions?.length) event.mentions = item.mentions;
    if (item.attachment) event.attachment_id = item.attachment.attachment_id;
    const sent = socket.send(event);
    store.setOutboxStatus(item.client_msg_id, sent ? "sending" : "queued");
  }

  /** Queue the composer's text ({reply_to, mentions, attachment} optional) and send it when the
   * link is up; {ok, reason?}. To the open group, or to `group_id` (an upload that finished
   * after the person moved to another group still goes where it was meant to). */
  function send(text, { group_id = null, ...extras } = {}) {
    const groupId = group_id || state.currentId;
    if (!groupId) return { ok: false, reason: "NO_GROUP" };
    const result = store.queueMessage(groupId, text, extras);
    if (result.ok) transmit(result.item);
    return result;
  }

  function retry(clientMsgId) {
    const item = store.retryMessage(clientMsgId);
    if (item) transmit(item);
  }

  const discard = (clientMsgId) => store.discardMessage(clientMsgId);

  /** Waits of rate-limited sends end: send them again (called every second by the view). */
  function flushDue() {
    if (!socket.connected) return;
    for (const item of store.dueForSending()) {
      if (item.status === "waiting") transmit(item);
    }
  }

  let lastTypingSent = 0;
  function typing(text) {
    store.setDraft(state.currentId, text);
    const now = Date.now();
    if (!state.currentId || !text || now - lastTypingSent < TYPING_EVERY_MS) return;
    if (socket.send({ type: "typing", group_id: state.currentId })) lastTypingSent = now;
  }

  // ---------------------------------------------------------------- server events

  /** After every (re)connect: refresh the list, sync what was missed, flush the outbox. */
  async function resync(event) {
    store.setServerTime(event.server_time);
    store.dropLiveStreams();
    await loadGroups();
    const cursors = store.syncCursors();
    if (Object.keys(cursors).length) socket.send({ type: "sync", cursors });
    for (const item of store.dueForSending()) transmit(item);
    if (state.currentId) {
      loadMembers(state.currentId);
      if (state.groups.get(state.currentId)?.my_role === "DOCTOR") loadAiFailures(state.currentId);
    }
    markRead();
  }

  function takeMessage(message) {
    const result = store.ingestMessage(message, reading);
    if (!result.known) refreshGroupsSoon();
    if (result.gap) fillGap(message.group_id);
    return result;
  }

  const { copilotHandlers, ...copilot } = createCopilotActions({ store, api });
  let typingTimer = null;
  const handlers = {
    message: ({ message }) => {
      takeMessage(message);
      markRead();
      if (message.from_user_id !== store.meId()) onMessage(message);
    },
    message_sent: ({ message }) => {
      takeMessage(message);
      markRead();
    },
    sync_result: ({ group_id: groupId, messages, has_more: hasMore }) => {
      for (const m of messages) takeMessage(m);
      if (hasMore && messages.length) {
        socket.send({ type: "sync", cursors: { [groupId]: messages.at(-1).seq } });
      }
      markRead();
    },
    error: (event) => {
      if (event.client_msg_id && state.outbox.has(event.client_msg_id)) {
        store.sendFailed(event.client_msg_id, event);
      } else if (event.group_id && ["NOT_A_MEMBER", "GROUP_NOT_FOUND"].includes(event.code)) {
        refreshGroupsSoon(); // a sync for a group I no longer belong to
      } else {
        store.toast("error", "toast.server_error", {}, event);
      }
    },
    typing: ({ group_id: groupId, user_id: userId }) => {
      store.noteTyping(groupId, userId);
      clearTimeout(typingTimer);
      typingTimer = setTimeout(() => store.changed(), 4100);
    },
    read: ({ group_id: groupId, user_id: userId, seq }) => store.noteRead(groupId, userId, seq),
    presence: ({ user_id: userId, online }) => store.setPresence(userId, online),
    member_joined: ({ group_id: groupId, user_id: userId }) => {
      refreshGroupsSoon();
      if (userId !== store.meId() && groupId === state.currentId) loadMembers(groupId);
    },
    member_left: ({ group_id: groupId, user_id: userId }) => {
      if (userId === store.meId()) {
        const name = state.groups.get(groupId)?.group_name;
        store.forgetGroup(groupId);
        saveLastGroup();
        if (name) store.toast("info", "toast.removed_from_group", { name });
      } else {
        refreshGroupsSoon();
        if (groupId === state.currentId) loadMembers(groupId);
      }
    },
    group_updated: ({ group }) => {
      if (!store.updateGroup(group)) refreshGroupsSoon();
    },
    ai_status: (event) => store.aiStatus(event),
    ai_reply_delta: (event) => store.aiDelta(event),
    ...copilotHandlers,
  };

  // ---------------------------------------------------------------- doctors

  async function createGroup(name, description) {
    const group = await api.createGroup(name, description);
    store.addGroup({ ...group, my_role: "DOCTOR" });
    await loadGroups();
    openGroup(group.group_id);
    return group;
  }

  async function addMember(userId) {
    const groupId = state.currentId;
    const member = await api.addMember(groupId, userId);
    await loadMembers(groupId);
    return member;
  }

  async function removeMember(member) {
    await api.removeMember(state.currentId, member.user_id);
  }

  async function leaveGroup() {
    const groupId = state.currentId;
    await api.removeMember(groupId, store.meId());
    store.forgetGroup(groupId);
    saveLastGroup();
  }

  async function setAiEnabled(enabled) {
    const groupId = state.currentId;
    const group = await api.updateGroup(groupId, { ai_enabled: enabled });
    store.updateGroup(group);
    return group;
  }

  /** Doctors: the AI's failed replies of this group, from the server's records. */
  async function loadAiFailures(groupId) {
    try {
      const data = await api.aiInteractions(groupId, 1, 100);
      store.aiRecords(groupId, data.records);
    } catch (error) {
      if (error?.status !== 403) report("toast.load_records_failed")(error);
    }
  }

  async function aiRecordsPage(page) {
    const data = await api.aiInteractions(state.currentId, page, RECORDS_PAGE_SIZE);
    store.aiRecords(state.currentId, data.records);
    return data;
  }

  const context = { store, api, auth, report, loadGroups, openGroup, loadOlder, enterWithGrant, signOut };
  return {
    api,
    socket,
    report,
    resume,
    signOut,
    sessionChangedElsewhere,
    wake,
    ...createAccountActions(context),
    ...createInviteActions(context),
    ...createMessageActions(context),
    ...copilot,
    openGroup,
    back,
    loadOlder,
    markRead,
    nameOf,
    send,
    retry,
    discard,
    flushDue,
    typing,
    createGroup,
    addMember,
    removeMember,
    leaveGroup,
    setAiEnabled,
    aiRecordsPage,
    retryConnection: () => socket.retryNow(),
  };
}
