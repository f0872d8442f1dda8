// The groups list and the open conversation: loading (first page, older pages, missed
// messages), reading marks, members, and rendering them. Sending and server events are app.js's.

import * as store from "./store.js";
import { state } from "./store.js";
import * as ui from "./ui.js";
import { $ } from "./ui.js";

export const LAST_GROUP_KEY = "im.lastGroup";
const NEAR_BOTTOM_PX = 60;

export function createConversationView({ api, socket, report, retry }) {
  // ---------------------------------------------------------------- groups

  async function loadGroups() {
    try {
      const gone = store.mergeGroupList(await api.listGroups());
      if (gone.includes(state.currentId)) closeConversation();
    } catch (error) {
      report("Could not load your groups")(error);
    }
    renderGroups();
    markRead();
  }

  let groupRefresh = null;
  function refreshGroupsSoon() {
    clearTimeout(groupRefresh);
    groupRefresh = setTimeout(loadGroups, 150);
  }

  function renderGroups() {
    ui.renderGroups(store.sortedGroups(), {
      currentId: state.currentId,
      meId: state.user?.user_id,
      nameOf,
      aiBusy: store.aiBusy,
      onOpen: openGroup,
    });
  }

  function nameOf(userId) {
    const known = state.users.get(userId);
    if (known) return known.username;
    if (!state.lookups.has(userId) && state.token) {
      state.lookups.add(userId);
      api
        .getUser(userId)
        .then((u) => state.users.set(u.user_id, { username: u.username, user_role: u.user_role }))
        .catch(() => state.users.set(userId, { username: "Unknown user" }))
        .finally(renderAll);
    }
    return "…";
  }

  // ---------------------------------------------------------------- conversation

  function openGroup(groupId) {
    const group = state.groups.get(groupId);
    if (!group) return;
    state.currentId = groupId;
    localStorage.setItem(LAST_GROUP_KEY, groupId);
    $("empty-convo").hidden = true;
    $("convo").hidden = false;
    const convo = store.convoOf(groupId);
    convo.dividerSeq = group.unread_count > 0 ? group.last_read_seq : null;
    renderHeader();
    renderGroups();
    renderMembers();
    renderTypingLine();
    renderConversation({ scroll: "bottom" });
    if (!convo.loaded) loadLatest(groupId);
    loadMembers(groupId);
    markRead();
    $("composer-input").focus();
  }

  function closeConversation() {
    state.currentId = null;
    $("convo").hidden = true;
    $("empty-convo").hidden = false;
  }

  async function loadLatest(groupId) {
    try {
      const page = await api.latestMessages(groupId, 50);
      const convo = store.convoOf(groupId);
      store.insertMessages(groupId, page.messages);
      convo.loaded = true;
      await fillGap(groupId); // anything that arrived while the page was on its way
    } catch (error) {
      report("Could not load messages")(error);
    }
    if (groupId === state.currentId) {
      renderConversation({ scroll: "bottom" });
      markRead();
    }
  }

  async function loadOlder() {
    const groupId = state.currentId;
    const convo = state.convos.get(groupId);
    if (!convo?.loaded || convo.loadingOlder || convo.minSeq <= 1) return;
    convo.loadingOlder = true;
    try {
      const page = await api.messagesBefore(groupId, convo.minSeq, 50);
      store.insertMessages(groupId, page.messages);
      if (groupId === state.currentId) renderConversation({ scroll: "prepend" });
    } catch (error) {
      report("Could not load older messages")(error);
    } finally {
      convo.loadingOlder = false;
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
      report("Could not fetch missed messages")(error);
    } finally {
      gapFills.delete(groupId);
    }
    renderAll();
  }

  function reading(groupId) {
    return groupId === state.currentId && document.visibilityState === "visible";
  }

  /** Tell the server I have read the open conversation up to its last message. */
  function markRead() {
    const groupId = state.currentId;
    const group = state.groups.get(groupId);
    if (!group || !reading(groupId)) return;
    if (group.unread_count) {
      group.unread_count = 0;
      renderGroups();
    }
    const seq = group.last_seq || 0;
    if (seq > (group.last_read_seq || 0) && socket.send({ type: "read", group_id: groupId, seq })) {
      group.last_read_seq = seq;
    }
  }

  function isNearBottom() {
    const box = $("messages");
    return box.scrollHeight - box.scrollTop - box.clientHeight < NEAR_BOTTOM_PX;
  }

  function renderConversation({ scroll } = {}) {
    const groupId = state.currentId;
    if (!groupId) return;
    const box = $("messages");
    const nearBottom = isNearBottom();
    const oldHeight = box.scrollHeight;
    const oldTop = box.scrollTop;
    const convo = store.convoOf(groupId);
    ui.renderMessages(store.conversationItems(groupId), {
      meId: state.user.user_id,
      meRole: state.groups.get(groupId)?.my_role || state.user.user_role,
      showReason: state.groups.get(groupId)?.my_role === "DOCTOR", // AI errors: for doctors
      nameOf,
      onRetry: (pending) => {
        retry(pending);
        renderConversation({ scroll: "bottom" });
      },
    });
    $("load-older").hidden = !(convo.loaded && convo.minSeq > 1);
    if (scroll === "bottom" || (scroll !== "prepend" && nearBottom)) {
      box.scrollTop = box.scrollHeight;
      $("jump-latest").hidden = true;
    } else if (scroll === "prepend") {
      box.scrollTop = oldTop + (box.scrollHeight - oldHeight);
    } else if (box.scrollHeight > oldHeight) {
      $("jump-latest").hidden = false;
    }
  }

  function renderHeader() {
    const group = state.groups.get(state.currentId);
    if (!group) return;
    const doctor = group.my_role === "DOCTOR";
    $("convo-title").textContent = group.group_name;
    $("convo-desc").textContent = group.description || "";
    $("ai-badge").textContent = group.ai_enabled ? "AI assistant on" : "AI assistant off";
    $("ai-badge").dataset.on = String(group.ai_enabled);
    $("ai-toggle-wrap").hidden = !doctor;
    $("ai-toggle").checked = group.ai_enabled;
    $("show-ai-records").hidden = !doctor;
    $("add-member-form").hidden = !doctor;
    $("members-title").textContent = `Members (${group.member_count ?? "…"})`;
  }

  async function loadMembers(groupId) {
    try {
      const members = await api.members(groupId);
      state.members.set(groupId, members);
      for (const m of members) {
        state.users.set(m.user_id, { username: m.username, user_role: m.user_role });
        if (m.online) state.online.add(m.user_id);
        else state.online.delete(m.user_id);
      }
      const group = state.groups.get(groupId);
      if (group) group.member_count = members.length;
    } catch (error) {
      report("Could not load the members")(error);
    }
    if (groupId === state.currentId) renderAll();
  }

  function renderMembers() {
    const groupId = state.currentId;
    const group = state.groups.get(groupId);
    ui.renderMembers(state.members.get(groupId) || [], {
      online: state.online,
      meId: state.user.user_id,
      canAdmin: group?.my_role === "DOCTOR",
      onRemove: removeMember,
    });
  }

  async function removeMember(member) {
    if (!confirm(`Remove ${member.username} from this group?`)) return;
    try {
      await api.removeMember(state.currentId, member.user_id);
      ui.toast(`${member.username} was removed.`, "info");
    } catch (error) {
      report(`Could not remove ${member.username}`)(error);
    }
  }

  async function leaveGroup() {
    const group = state.groups.get(state.currentId);
    if (!group || !confirm(`Leave "${group.group_name}"?`)) return;
    try {
      await api.removeMember(group.group_id, state.user.user_id);
      store.forgetGroup(group.group_id);
      closeConversation();
      renderGroups();
    } catch (error) {
      report("Could not leave the group")(error);
    }
  }

  function renderTypingLine() {
    const ids = state.currentId ? store.typingUsers(state.currentId) : [];
    ui.renderTyping(ids.map(nameOf));
  }

  function renderAll() {
    renderGroups();
    if (!state.currentId) return;
    renderHeader();
    renderMembers();
    renderTypingLine();
    renderConversation();
  }

  return {
    closeConversation,
    fillGap,
    isNearBottom,
    loadGroups,
    loadMembers,
    loadOlder,
    markRead,
    nameOf,
    openGroup,
    reading,
    refreshGroupsSoon,
    renderAll,
    renderConversation,
    renderGroups,
    renderMembers,
    renderTypingLine,
    leaveGroup,
  };
}
