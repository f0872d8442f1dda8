// Rendering: turns state into DOM. No network, no state changes; text always via textContent.

export const $ = (id) => document.getElementById(id);

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key in node && key !== "list") node[key] = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  return node;
}

const ROLE_LABELS = { PATIENT: "Patient", DOCTOR: "Doctor", AI_ASSISTANT: "AI" };
export const roleLabel = (role) => ROLE_LABELS[role] || role;
export const badge = (role) =>
  el("span", { class: `badge role-${role}`, text: roleLabel(role) });

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dayFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

export function shortTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  const today = new Date().toDateString() === date.toDateString();
  return today ? timeFormat.format(date) : `${dayFormat.format(date)} ${timeFormat.format(date)}`;
}

export function timeEl(iso) {
  if (!iso) return null;
  return el("time", { dateTime: iso, title: fullFormat.format(new Date(iso)), text: shortTime(iso) });
}

export function formatDuration(ms) {
  if (ms === null || ms === undefined) return "—";
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

// ---------------------------------------------------------------- toasts

export function toast(text, kind = "error") {
  const box = $("toasts");
  for (const existing of box.children) {
    if (existing.dataset.text === text) existing.remove(); // no pile of identical toasts
  }
  const item = el(
    "div",
    { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status", "data-text": text },
    el("span", { text }),
    el("button", {
      type: "button",
      class: "link",
      "aria-label": "Dismiss",
      text: "×",
      onclick: () => item.remove(),
    }),
  );
  box.append(item);
  setTimeout(() => item.remove(), kind === "error" ? 8000 : 3000);
}

// ---------------------------------------------------------------- connection

export function renderConnection(state, { nextRetryAt = 0 } = {}) {
  const box = $("conn");
  box.dataset.state = state;
  const text = {
    connecting: "Connecting…",
    connected: "Connected",
    reconnecting: "Reconnecting…",
    offline: "Offline",
  }[state];
  // Only state changes go to the live region; the per-second countdown is visual.
  if ($("conn-text").textContent !== text) $("conn-text").textContent = text;
  const seconds = Math.max(0, Math.ceil((nextRetryAt - Date.now()) / 1000));
  $("conn-countdown").textContent =
    state === "reconnecting" && seconds > 0 ? `next try in ${seconds} s` : "";
  $("conn-retry").hidden = state !== "reconnecting" && state !== "offline";
}

// ---------------------------------------------------------------- groups

export function renderGroups(groups, { currentId, meId, nameOf, aiBusy, onOpen }) {
  const list = $("group-list");
  list.replaceChildren(
    ...groups.map((group) => {
      const last = group.last_message;
      let preview = "No messages yet";
      if (aiBusy(group.group_id)) preview = "AI is replying…";
      else if (last && last.msg_type === "SYSTEM") preview = last.msg_content;
      else if (last) {
        const who = last.from_user_id === meId ? "You" : nameOf(last.from_user_id);
        preview = `${who}: ${last.msg_content}`;
      }
      const unread = group.unread_count || 0;
      return el(
        "li",
        { "data-group-id": group.group_id },
        el(
          "button",
          {
            type: "button",
            class: "group-item",
            "aria-current": group.group_id === currentId ? "true" : false,
            onclick: () => onOpen(group.group_id),
          },
          el(
            "span",
            { class: "group-line" },
            el("span", { class: "group-name", text: group.group_name }),
            last ? timeEl(last.created_at) : null,
          ),
          el(
            "span",
            { class: "group-line" },
            el("span", { class: "group-preview", text: preview }),
            unread > 0
              ? el("span", {
                  class: "unread",
                  text: unread > 99 ? "99+" : String(unread),
                  "aria-label": `${unread} unread`,
                })
              : null,
          ),
        ),
      );
    }),
  );
  $("no-groups").hidden = groups.length > 0;
}

// ---------------------------------------------------------------- messages

const GROUP_GAP_MS = 5 * 60 * 1000;

function sameSender(previous, item) {
  if (!previous || previous.kind !== "message" || item.kind !== "message") return false;
  const a = previous.message;
  const b = item.message;
  if (a.msg_type === "SYSTEM" || b.msg_type === "SYSTEM" || a.from_user_id !== b.from_user_id) {
    return false;
  }
  return new Date(b.created_at) - new Date(a.created_at) < GROUP_GAP_MS;
}

function messageHead(name, role, iso) {
  return el("div", { class: "msg-head" }, el("span", { class: "author", text: name }), badge(role), timeEl(iso));
}

function renderMessage(item, previous, { meId, nameOf }) {
  const m = item.message;
  if (m.msg_type === "SYSTEM") {
    return el(
      "li",
      { class: "system", "data-message-id": m.message_id, "data-seq": m.seq },
      el("span", { text: m.msg_content }),
      timeEl(m.created_at),
    );
  }
  const mine = m.from_user_id === meId;
  const ai = m.from_user_role === "AI_ASSISTANT";
  const cont = sameSender(previous, item);
  return el(
    "li",
    {
      class: `msg${mine ? " mine" : ""}${ai ? " ai" : ""}${cont ? " cont" : ""}`,
      "data-message-id": m.message_id,
      "data-seq": m.seq,
    },
    cont ? null : messageHead(mine ? "You" : nameOf(m.from_user_id), m.from_user_role, m.created_at),
    el("div", { class: "bubble", title: shortTime(m.created_at), text: m.msg_content }),
  );
}

function renderPending(item, { meRole, onRetry }) {
  const p = item.pending;
  const status = {
    sending: "Sending…",
    queued: "Waiting for the connection…",
    failed: `Not sent: ${p.error || "unknown error"}`,
  }[p.status];
  return el(
    "li",
    { class: `msg mine pending ${p.status}`, "data-client-msg-id": p.client_msg_id },
    messageHead("You", meRole, p.created_at),
    el("div", { class: "bubble", text: p.content }),
    el(
      "p",
      { class: "msg-status", role: p.status === "failed" ? "alert" : null },
      status,
      p.status === "failed"
        ? el("button", { type: "button", class: "link", text: "Retry", onclick: () => onRetry(p) })
        : null,
    ),
  );
}

export function renderStream(stream, { showReason = false } = {}) {
  const failed = stream.status === "FAILED";
  const node = el(
    "li",
    {
      class: `msg ai stream${failed ? " failed" : ""}`,
      "data-record-id": stream.record_id,
      "data-ai-status": stream.status,
    },
    messageHead("AI Assistant", "AI_ASSISTANT", stream.started_at),
    stream.text ? el("div", { class: "bubble", text: stream.text }) : null,
    el(
      "p",
      { class: "ai-status", role: failed ? "alert" : null },
      failed
        ? "The AI assistant could not answer this message. A doctor will follow up."
        : el("span", { class: "dots", text: "AI is replying…" }),
    ),
    failed && showReason && stream.error
      ? el("p", { class: "ai-error hint", text: `Reason: ${stream.error}` })
      : null,
  );
  return node;
}

/** Update a streaming bubble in place (deltas arrive fast); false when a full render is needed. */
export function patchStream(stream) {
  const node = $("message-list").querySelector(`[data-record-id="${CSS.escape(stream.record_id)}"]`);
  if (!node || node.dataset.aiStatus !== stream.status || !node.querySelector(".bubble")) {
    return false;
  }
  node.querySelector(".bubble").textContent = stream.text;
  return true;
}

export function renderMessages(items, context) {
  const nodes = [];
  let previous = null;
  for (const item of items) {
    if (item.kind === "divider") nodes.push(el("li", { class: "divider", text: "New messages" }));
    else if (item.kind === "message") nodes.push(renderMessage(item, previous, context));
    else if (item.kind === "pending") nodes.push(renderPending(item, context));
    else if (item.kind === "stream") nodes.push(renderStream(item.stream, context));
    previous = item;
  }
  $("message-list").replaceChildren(...nodes);
}

// ---------------------------------------------------------------- members, typing, AI records

export function renderMembers(members, { online, meId, canAdmin, onRemove }) {
  $("member-list").replaceChildren(
    ...members.map((m) => {
      const isOnline = m.user_role === "AI_ASSISTANT" || online.has(m.user_id);
      return el(
        "li",
        { "data-user-id": m.user_id, "data-online": String(isOnline) },
        el("span", {
          class: `presence${isOnline ? " online" : ""}`,
          role: "img",
          "aria-label": isOnline ? "online" : "offline",
          title: isOnline ? "Online" : "Offline",
        }),
        el("span", { class: "member-name", text: m.user_id === meId ? `${m.username} (you)` : m.username }),
        badge(m.user_role),
        canAdmin && m.user_id !== meId && m.user_role !== "AI_ASSISTANT"
          ? el("button", {
              type: "button",
              class: "link danger",
              text: "Remove",
              "aria-label": `Remove ${m.username}`,
              onclick: () => onRemove(m),
            })
          : null,
      );
    }),
  );
}

export function renderTyping(names) {
  let text = "";
  if (names.length === 1) text = `${names[0]} is typing…`;
  else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
  else if (names.length > 2) text = "Several people are typing…";
  $("typing").textContent = text;
}

export function renderAiRecords(data) {
  const { records, total, page, page_size: pageSize } = data;
  $("ai-records-body").replaceChildren(
    ...records.map((r) =>
      el(
        "tr",
        { "data-record-id": r.record_id },
        el("td", {}, timeEl(r.created_at)),
        el("td", {}, el("span", { class: `status status-${r.status}`, text: r.status })),
        el("td", { text: formatDuration(r.duration_ms) }),
        el("td", { text: String(r.attempts ?? "—") }),
        el("td", { class: "error-cell", text: r.error_message || "—" }),
      ),
    ),
  );
  const pages = Math.max(1, Math.ceil(total / pageSize));
  $("ai-records-summary").textContent =
    total === 0 ? "No AI interactions in this group yet." : `${total} interaction(s).`;
  $("ai-records-page").textContent = `Page ${page} of ${pages}`;
  $("ai-records-prev").disabled = page <= 1;
  $("ai-records-next").disabled = page >= pages;
}
