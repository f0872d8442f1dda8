// Rules of rich messages without DOM (SPEC §11): the `@` mention being typed and the member
// picker's choices, the mentions a text still holds, mentions found in a message for
// highlighting, and who may edit or recall a message now. Unit-tested with `node --test`.

/** The server's defaults (MESSAGE_EDIT_WINDOW_MINUTES, MESSAGE_RECALL_WINDOW_MINUTES); the
 * server decides, and its refusal is worded if a deployment set shorter windows. */
export const EDIT_WINDOW_MS = 1440 * 60_000;
export const RECALL_WINDOW_MS = 2 * 60_000;
export const MAX_MENTIONS = 50;
const PICKER_SIZE = 8;
const TEXT_TYPES = new Set(["TEXT", "IMAGE", "FILE"]);

/**
 * The mention being typed at the caret: `{start, query}` when the caret ends an `@word` that
 * starts the text or follows a space; null otherwise (an e-mail address is not a mention).
 */
export function mentionQuery(text, caret = text.length) {
  const before = text.slice(0, caret);
  const at = before.lastIndexOf("@");
  if (at < 0) return null;
  if (at > 0 && !/\s/.test(before[at - 1])) return null;
  const query = before.slice(at + 1);
  if (/[\s@]/.test(query) || query.length > 32) return null;
  return { start: at, query };
}

/** Members to offer for a query: name contains it (case-insensitive), me left out, people
 * whose name starts with it first; the AI assistant is a member like any other. */
export function mentionCandidates(members, query, meId, limit = PICKER_SIZE) {
  const q = query.toLocaleLowerCase();
  const scored = [];
  for (const m of members) {
    if (m.user_id === meId) continue;
    const name = (m.username || "").toLocaleLowerCase();
    const at = name.indexOf(q);
    if (at < 0) continue;
    scored.push({ m, rank: at === 0 ? 0 : 1 });
  }
  scored.sort((a, b) => a.rank - b.rank || a.m.username.localeCompare(b.m.username));
  return scored.slice(0, limit).map((s) => s.m);
}

/** Put the picked name in place of the `@query` being typed: {text, caret}. */
export function insertMention(text, caret, found, name) {
  const inserted = `@${name} `;
  const next = text.slice(0, found.start) + inserted + text.slice(caret).replace(/^ /, "");
  return { text: next, caret: found.start + inserted.length };
}

/** The user ids picked whose `@name` is still in the text (at most MAX_MENTIONS, in order). */
export function mentionIds(text, picked) {
  const ids = [];
  for (const [userId, name] of picked) {
    if (text.includes(`@${name}`) && !ids.includes(userId)) ids.push(userId);
  }
  return ids.slice(0, MAX_MENTIONS);
}

/**
 * A plain-text part split around the `@name` of each mentioned user:
 * [{text}, {text: "@Name", userId}, …]. Longer names first, so "@Li Lei" wins over "@Li".
 */
export function mentionParts(text, mentions, nameOf) {
  const names = (mentions || [])
    .map((userId) => ({ userId, token: `@${nameOf(userId)}` }))
    .filter((n) => n.token.length > 1 && n.token !== "@…")
    .sort((a, b) => b.token.length - a.token.length);
  if (!names.length) return [{ text }];
  const parts = [];
  let plain = "";
  let i = 0;
  while (i < text.length) {
    const hit = text[i] === "@" ? names.find((n) => text.startsWith(n.token, i)) : null;
    if (hit) {
      if (plain) parts.push({ text: plain });
      parts.push({ text: hit.token, userId: hit.userId });
      plain = "";
      i += hit.token.length;
    } else {
      plain += text[i];
      i += 1;
    }
  }
  if (plain) parts.push({ text: plain });
  return parts;
}

const age = (message, nowMs) => nowMs - Date.parse(message.created_at);
const changeable = (m) => TEXT_TYPES.has(m.msg_type) && !m.recalled_at;

/** The sender may edit a text (or a caption) within the edit window. */
export function canEdit(message, meId, nowMs, windowMs = EDIT_WINDOW_MS) {
  return changeable(message) && message.from_user_id === meId && age(message, nowMs) < windowMs;
}

/** The sender within the recall window; the group's doctors at any time. */
export function canRecall(message, meId, isDoctor, nowMs, windowMs = RECALL_WINDOW_MS) {
  if (!changeable(message)) return false;
  if (isDoctor) return true;
  return message.from_user_id === meId && age(message, nowMs) < windowMs;
}

/** A one-line excerpt of a message for a quote. */
export function excerpt(text, max = 80) {
  const line = String(text || "").replace(/\s+/g, " ").trim();
  const chars = [...line];
  return chars.length > max ? `${chars.slice(0, max - 1).join("")}…` : line;
}
