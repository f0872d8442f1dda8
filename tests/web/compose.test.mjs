// Unit tests of the rich-message rules (app/static/compose.js) and the QR drawing
// (app/static/qr.js): mention parsing and picking, highlighting, who may edit or recall.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  canEdit,
  canRecall,
  excerpt,
  insertMention,
  mentionCandidates,
  mentionIds,
  mentionParts,
  mentionQuery,
} from "../../app/static/compose.js";
import { qrPath } from "../../app/static/qr.js";

const MEMBERS = [
  { user_id: "u_me", username: "Dr Grey", user_role: "DOCTOR" },
  { user_id: "u_pat", username: "Pat Smith", user_role: "PATIENT" },
  { user_id: "u_pam", username: "Pamela", user_role: "PATIENT" },
  { user_id: "u_ai", username: "AI Assistant", user_role: "AI_ASSISTANT" },
  { user_id: "u_zh", username: "张三", user_role: "PATIENT" },
];

test("an @ at the start or after a space opens the picker; an e-mail does not", () => {
  assert.deepEqual(mentionQuery("@"), { start: 0, query: "" });
  assert.deepEqual(mentionQuery("hello @Pa"), { start: 6, query: "Pa" });
  assert.deepEqual(mentionQuery("hello @Pa and more", 9), { start: 6, query: "Pa" });
  assert.deepEqual(mentionQuery("你好 @张"), { start: 3, query: "张" });
  assert.equal(mentionQuery("mail me at pat@example.org"), null);
  assert.equal(mentionQuery("@Pat Smith said"), null); // the caret left the mention
  assert.equal(mentionQuery("no at sign"), null);
});

test("candidates: me left out, names starting with the query first, the AI mentionable", () => {
  const names = (q) => mentionCandidates(MEMBERS, q, "u_me").map((m) => m.user_id);
  assert.deepEqual(names("pa"), ["u_pam", "u_pat"]);
  assert.deepEqual(names("smith"), ["u_pat"]);
  assert.deepEqual(names("ai"), ["u_ai"]);
  assert.deepEqual(names("张"), ["u_zh"]);
  assert.ok(!names("").includes("u_me"));
  assert.equal(mentionCandidates(MEMBERS, "", "u_me", 2).length, 2);
});

test("a pick replaces the @query with the name and a space; the caret follows it", () => {
  const text = "thanks @Pa, see you";
  const found = mentionQuery(text, 10);
  assert.deepEqual(insertMention(text, 10, found, "Pat Smith"), {
    text: "thanks @Pat Smith , see you",
    caret: 18,
  });
  assert.deepEqual(insertMention("@", 1, mentionQuery("@"), "AI Assistant"), {
    text: "@AI Assistant ",
    caret: 14,
  });
});

test("mentions sent are the picked users whose @name is still in the text", () => {
  const picked = new Map([
    ["u_pat", "Pat Smith"],
    ["u_ai", "AI Assistant"],
  ]);
  assert.deepEqual(mentionIds("@Pat Smith and @AI Assistant please", picked), ["u_pat", "u_ai"]);
  assert.deepEqual(mentionIds("@Pat Smith only", picked), ["u_pat"]);
  assert.deepEqual(mentionIds("nobody", picked), []);
  const many = new Map(Array.from({ length: 60 }, (_, i) => [`u${i}`, `n${i}`]));
  const text = [...many.values()].map((n) => `@${n}`).join(" ");
  assert.equal(mentionIds(text, many).length, 50);
});

test("mentioned names are found in a message for highlighting, longest first", () => {
  const names = { u_li: "Li", u_lilei: "Li Lei", u_x: "…" };
  const nameOf = (id) => names[id];
  assert.deepEqual(mentionParts("hi @Li Lei and @Li!", ["u_li", "u_lilei"], nameOf), [
    { text: "hi " },
    { text: "@Li Lei", userId: "u_lilei" },
    { text: " and " },
    { text: "@Li", userId: "u_li" },
    { text: "!" },
  ]);
  // Not yet known names are not guessed; text without mentions stays whole.
  assert.deepEqual(mentionParts("@… hi", ["u_x"], nameOf), [{ text: "@… hi" }]);
  assert.deepEqual(mentionParts("plain", [], nameOf), [{ text: "plain" }]);
  // Markup is just text: it comes back as text parts, never parsed.
  assert.deepEqual(mentionParts("<b>@Li</b>", ["u_li"], nameOf), [
    { text: "<b>" },
    { text: "@Li", userId: "u_li" },
    { text: "</b>" },
  ]);
});

test("edit: the sender's text within the window; recall: the sender within 2 min, doctors always", () => {
  const at = Date.parse("2026-01-10T09:00:00Z");
  const mine = { msg_type: "TEXT", from_user_id: "u_me", created_at: "2026-01-10T09:00:00Z" };
  const theirs = { ...mine, from_user_id: "u_pat" };
  assert.equal(canEdit(mine, "u_me", at + 60_000), true);
  assert.equal(canEdit(mine, "u_me", at + 1440 * 60_000), false);
  assert.equal(canEdit(theirs, "u_me", at), false);
  assert.equal(canEdit({ ...mine, recalled_at: "x" }, "u_me", at), false);
  assert.equal(canEdit({ ...mine, msg_type: "SYSTEM" }, "u_me", at), false);
  assert.equal(canRecall(mine, "u_me", false, at + 119_000), true);
  assert.equal(canRecall(mine, "u_me", false, at + 120_000), false);
  assert.equal(canRecall(theirs, "u_me", false, at), false);
  assert.equal(canRecall(theirs, "u_me", true, at + 86_400_000), true);
  assert.equal(canRecall({ ...theirs, recalled_at: "x" }, "u_me", true, at), false);
});

test("quotes are one short line", () => {
  assert.equal(excerpt("a\n\n b   c"), "a b c");
  assert.equal(excerpt("痛".repeat(100), 10), `${"痛".repeat(9)}…`);
});

test("a QR code is drawn as one path of dark modules inside its quiet zone", () => {
  const { size, path } = qrPath("http://127.0.0.1:8000/#invite=q8Zx_-abcdefghijklmnopqr");
  assert.equal((size - 4 - 17) % 4, 0, "a QR version's size is 17 + 4·version, plus the border");
  assert.match(path, /^(M\d+ \d+h1v1h-1z)+$/);
  // The top-left finder pattern: a dark 7×7 ring starting inside the 2-module border.
  assert.ok(path.includes("M2 2h1v1h-1z") && path.includes("M8 8h1v1h-1z"));
  assert.ok(!path.includes("M0 0h1"), "the quiet zone stays light");
});
