// The web client's wiring: session, sending, WebSocket events, and the page's controls.

import { createApi } from "./api.js";
import { createConversationView, LAST_GROUP_KEY } from "./conversation.js";
import { wireDoctorTools } from "./doctor.js";
import { ChatSocket } from "./socket.js";
import * as store from "./store.js";
import { state } from "./store.js";
import * as ui from "./ui.js";
import { $ } from "./ui.js";

const SESSION_KEY = "im.session";
const TYPING_EVERY_MS = 3000;
const LOAD_OLDER_AT_PX = 60;

const api = createApi({
  getToken: () => state.token,
  onUnauthorized: () =>
    signOut("Your session has expired or is no longer valid. Please sign up again."),
});

const socket = new ChatSocket({
  url: () => {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const id = encodeURIComponent(state.user.user_id);
    return `${scheme}://${location.host}/ws/${id}?token=${encodeURIComponent(state.token)}`;
  },
  onEvent: (event) => handlers[event.type]?.(event),
  onState: (connState, info) => showConnection(connState, info),
  onConnected: () => resync(),
  // Refused: is the token still good? A 401 from /user/me signs out (createApi's
  // onUnauthorized); other failures are the server being away, which the state already shows.
  onRefused: () => api.me().catch(() => {}),
});

const view = createConversationView({ api, socket, report, retry: transmit });
const {
  closeConversation,
  fillGap,
  isNearBottom,
  loadGroups,
  loadMembers,
  loadOlder,
  markRead,
  openGroup,
  reading,
  refreshGroupsSoon,
  renderAll,
  renderConversation,
  renderGroups,
  renderMembers,
  renderTypingLine,
  leaveGroup,
} = view;

/** A catch handler that tells the person what failed, in words. */
function report(prefix) {
  return (error) => {
    if (!error.handled) ui.toast(prefix ? `${prefix}: ${error.message}` : error.message);
  };
}

// ---------------------------------------------------------------- session

function saveSession() {
  localStorage.setItem(SESSION_KEY, JSON.stringify({ token: state.token, user: state.user }));
}

function loadSession() {
  try {
    return JSON.parse(localStorage.getItem(SESSION_KEY) || "null");
  } catch {
    return null;
  }
}

async function signUp(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const username = form.username.value.trim();
  if (!username) {
    ui.toast("Please enter your name.");
    form.username.focus();
    return;
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const created = await api.createUser(username, form.role.value);
    const { access_token: token, token_type: _type, ...user } = created;
    state.token = token;
    state.user = user;
    saveSession();
    enterChat();
  } catch (error) {
    report("Could not sign up")(error);
  } finally {
    button.disabled = false;
  }
}

function signOut(notice) {
  if (!state.token) return;
  socket.stop();
  store.resetState();
  localStorage.removeItem(SESSION_KEY);
  localStorage.removeItem(LAST_GROUP_KEY);
  $("composer-input").value = "";
  $("chat-view").hidden = true;
  $("signup-view").hidden = false;
  $("signup-name").focus();
  if (notice) ui.toast(notice);
}

function enterChat() {
  const me = state.user;
  state.users.set(me.user_id, { username: me.username, user_role: me.user_role });
  $("signup-view").hidden = true;
  $("chat-view").hidden = false;
  $("me-name").textContent = me.username;
  $("me-role").replaceWith(Object.assign(ui.badge(me.user_role), { id: "me-role" }));
  $("me-id").textContent = me.user_id;
  $("create-group").hidden = me.user_role !== "DOCTOR";
  closeConversation();
  socket.start();
  loadGroups().then(() => {
    const last = localStorage.getItem(LAST_GROUP_KEY);
    if (last && state.groups.has(last) && !state.currentId) openGroup(last);
  });
}

async function copyUserId() {
  const id = state.user.user_id;
  try {
    await navigator.clipboard.writeText(id);
    ui.toast("Your user ID is copied.", "info");
  } catch {
    const range = document.createRange();
    range.selectNodeContents($("me-id"));
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    ui.toast("Copying is blocked here: the ID is selected, press Ctrl+C to copy it.", "info");
  }
}

// ---------------------------------------------------------------- sending

function transmit(pending) {
  const sent = socket.send({
    type: "send_message",
    group_id: pending.group_id,
    content: pending.content,
    client_msg_id: pending.client_msg_id,
  });
  pending.status = sent ? "sending" : "queued";
  pending.error = null;
}

function sendFromComposer(event) {
  event?.preventDefault();
  const input = $("composer-input");
  const content = input.value;
  if (!content.trim() || !state.currentId) return;
  const pending = {
    client_msg_id: store.newClientMsgId(),
    group_id: state.currentId,
    content,
    status: "sending",
    created_at: new Date().toISOString(),
  };
  state.pending.set(pending.client_msg_id, pending);
  transmit(pending);
  input.value = "";
  renderConversation({ scroll: "bottom" });
}

let lastTypingSent = 0;
function onComposerInput() {
  const now = Date.now();
  if (!state.currentId || !$("composer-input").value || now - lastTypingSent < TYPING_EVERY_MS) {
    return;
  }
  if (socket.send({ type: "typing", group_id: state.currentId })) lastTypingSent = now;
}

// ---------------------------------------------------------------- server events

/** After every (re)connect: refresh the list, sync what was missed, flush the outbox. */
async function resync() {
  // Replies that were streaming when the link broke: their end may have been missed. The
  // final message comes with the sync; a later FAILED event shows the failure again.
  for (const [id, stream] of state.streams) {
    if (stream.status !== "FAILED") state.streams.delete(id);
  }
  await loadGroups();
  const cursors = {};
  for (const [groupId, group] of state.groups) {
    const convo = state.convos.get(groupId);
    cursors[groupId] = convo?.loaded ? convo.contig : group.last_seq || 0;
  }
  if (Object.keys(cursors).length) socket.send({ type: "sync", cursors });
  for (const pending of state.pending.values()) {
    if (pending.status !== "failed") transmit(pending);
  }
  if (state.currentId) loadMembers(state.currentId);
  markRead();
  renderAll();
}

function takeMessage(message) {
  const result = store.ingestMessage(message, reading);
  if (!result.known) refreshGroupsSoon();
  if (result.gap) fillGap(message.group_id);
}

let typingTimer = null;
const handlers = {
  message: ({ message }) => {
    takeMessage(message);
    renderAll();
    markRead();
  },
  message_sent: ({ message }) => {
    takeMessage(message);
    renderAll();
    markRead();
  },
  sync_result: ({ group_id: groupId, messages, has_more: hasMore }) => {
    for (const m of messages) takeMessage(m);
    if (hasMore && messages.length) {
      socket.send({ type: "sync", cursors: { [groupId]: messages.at(-1).seq } });
    }
    renderAll();
    markRead();
  },
  error: (event) => {
    const pending = event.client_msg_id && state.pending.get(event.client_msg_id);
    if (pending) {
      pending.status = "failed";
      pending.error = event.message;
      ui.toast(`Message not sent: ${event.message}`);
      renderConversation();
    } else if (event.group_id && ["NOT_A_MEMBER", "GROUP_NOT_FOUND"].includes(event.code)) {
      refreshGroupsSoon(); // a sync for a group I no longer belong to
    } else {
      ui.toast(event.message || "The server reported an error.");
    }
  },
  typing: ({ group_id: groupId, user_id: userId }) => {
    store.noteTyping(groupId, userId);
    renderTypingLine();
    clearTimeout(typingTimer);
    typingTimer = setTimeout(renderTypingLine, 4100);
  },
  read: ({ group_id: groupId, user_id: userId, seq }) => {
    const group = state.groups.get(groupId);
    if (group && userId === state.user.user_id) {
      group.last_read_seq = Math.max(group.last_read_seq || 0, seq);
      if (seq >= group.last_seq) group.unread_count = 0;
      renderGroups();
    }
  },
  presence: ({ user_id: userId, online }) => {
    if (online) state.online.add(userId);
    else state.online.delete(userId);
    if (state.currentId) renderMembers();
  },
  member_joined: ({ group_id: groupId, user_id: userId }) => {
    refreshGroupsSoon();
    if (userId !== state.user.user_id && groupId === state.currentId) loadMembers(groupId);
  },
  member_left: ({ group_id: groupId, user_id: userId }) => {
    if (userId === state.user.user_id) {
      const name = state.groups.get(groupId)?.group_name;
      store.forgetGroup(groupId);
      if (groupId === state.currentId) closeConversation();
      if (name) ui.toast(`You are no longer a member of "${name}".`, "info");
      renderGroups();
    } else {
      refreshGroupsSoon();
      if (groupId === state.currentId) loadMembers(groupId);
    }
  },
  group_updated: ({ group }) => {
    const known = state.groups.get(group.group_id);
    if (!known) return refreshGroupsSoon();
    const { last_seq: _seq, ...fields } = group; // last_seq moves with messages only
    Object.assign(known, fields);
    renderAll();
  },
  ai_status: (event) => {
    if (store.isFinished(event.record_id)) return; // its final message is already shown
    if (event.status === "SUCCESS" && !state.streams.has(event.record_id)) return;
    const stream = store.streamFor(event);
    stream.status = event.status;
    if (event.error) stream.error = event.error;
    if (event.status === "SUCCESS") {
      // The final message normally came first; never leave a finished bubble behind.
      setTimeout(() => {
        if (state.streams.get(event.record_id)?.status === "SUCCESS") {
          state.streams.delete(event.record_id);
          renderAll();
        }
      }, 10000);
    }
    renderAll();
  },
  ai_reply_delta: (event) => {
    if (store.isFinished(event.record_id)) return;
    const stream = store.streamFor(event);
    stream.text += event.delta;
    if (event.group_id !== state.currentId || !ui.patchStream(stream)) renderAll();
    else if (isNearBottom()) $("messages").scrollTop = $("messages").scrollHeight;
  },
};

// ---------------------------------------------------------------- connection display

let countdown = null;
function showConnection(connState, info) {
  ui.renderConnection(connState, info);
  clearInterval(countdown);
  if (connState === "reconnecting") {
    countdown = setInterval(() => ui.renderConnection(socket.state, socket), 1000);
  }
}

// ---------------------------------------------------------------- start

function wire() {
  $("signup-form").addEventListener("submit", signUp);
  $("signout").addEventListener("click", () => {
    if (confirm("Sign out? This browser will forget your account.")) signOut();
  });
  $("copy-id").addEventListener("click", copyUserId);
  $("conn-retry").addEventListener("click", () => socket.retryNow());
  $("composer").addEventListener("submit", sendFromComposer);
  $("composer-input").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) sendFromComposer(event);
  });
  $("composer-input").addEventListener("input", onComposerInput);
  $("load-older").addEventListener("click", loadOlder);
  $("messages").addEventListener("scroll", () => {
    if ($("messages").scrollTop < LOAD_OLDER_AT_PX) loadOlder();
    if (isNearBottom()) $("jump-latest").hidden = true;
  });
  $("jump-latest").addEventListener("click", () => renderConversation({ scroll: "bottom" }));
  $("leave-group").addEventListener("click", leaveGroup);
  document.addEventListener("visibilitychange", () => {
    markRead();
    if (document.visibilityState === "visible") socket.retryNow();
  });
  wireDoctorTools({ api, report, openGroup, loadGroups, loadMembers, renderAll });
}

function start() {
  wire();
  const session = loadSession();
  if (!session?.token || !session?.user?.user_id) {
    $("signup-view").hidden = false;
    return;
  }
  state.token = session.token;
  state.user = session.user;
  enterChat();
  api
    .me()
    .then((me) => {
      state.user = me;
      saveSession();
    })
    .catch(() => {}); // a 401 signs out via onUnauthorized; loadGroups reports other failures
}

start();
