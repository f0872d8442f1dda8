// The composer: the text box with its character counter, the reply/edit bar (replying to a
// message, or editing one of mine), and the mention picker (typing `@` offers the group's
// members, the AI assistant included; a pick is sent as a user id). COMPOSER_TOOLS is the slot
// for tools beside the text box (the attach button). A file pasted into the text box is
// uploaded and sent (Uploads.js), whose progress shows above the text box.

import { insertMention, mentionCandidates, mentionIds, mentionQuery, excerpt } from "../compose.js";
import { COUNTER_FROM_CHARS, contentLength, MAX_CONTENT_CHARS } from "../format.js";
import { html, useEffect, useLayoutEffect, useRef, useState } from "../html.js";
import { formatNumber, t } from "../i18n/index.js";
import { AttachButton } from "./Attachments.js";
import { useApp } from "./common.js";
import { pasteHandler, UploadStatus } from "./Uploads.js";

/** Tools shown before the text box: [{id, Tool}], each rendered as <Tool groupId />. */
export const COMPOSER_TOOLS = [{ id: "attach", Tool: AttachButton }];

function ComposeBar({ groupId, composing }) {
  const { store, ctl } = useApp();
  const target = store.findMessage(groupId, composing.message_id);
  const editing = composing.mode === "edit";
  const who = target ? (target.from_user_id === store.meId() ? t("msg.you") : ctl.nameOf(target.from_user_id)) : "…";
  return html`<div id="compose-bar" class="compose-bar" data-mode=${composing.mode}>
    <span class="compose-what">${editing ? t("compose.editing") : t("compose.replying", { name: who })}</span>
    ${target && !editing ? html`<span class="compose-quote">${excerpt(target.msg_content, 60)}</span>` : null}
    <button id="compose-cancel" type="button" class="link" aria-label=${t(editing ? "compose.cancel_edit" : "compose.cancel_reply")}
      onClick=${() => ctl.stopComposing(groupId)}>×</button>
  </div>`;
}

function MentionPicker({ picker, onPick }) {
  return html`<ul id="mention-picker" class="mention-picker" role="listbox" aria-label=${t("compose.mention_label")}>
    ${picker.candidates.map((m, i) => html`<li key=${m.user_id} role="option" aria-selected=${i === picker.index ? "true" : "false"}
        data-user-id=${m.user_id} onMouseDown=${(e) => {
          e.preventDefault(); // keep the focus (and the caret) in the text box
          onPick(m);
        }}>
      <span class="mention-name">${m.username}</span>
      <span class=${`badge role-${m.user_role}`}>${t(`role.${m.user_role}`)}</span>
    </li>`)}
  </ul>`;
}

export function Composer({ groupId, onSent }) {
  const app = useApp();
  const { store, ctl } = app;
  const composing = store.composingOf(groupId);
  const editing = composing?.mode === "edit" ? store.findMessage(groupId, composing.message_id) : null;
  const [text, setText] = useState(store.state.drafts.get(groupId) || "");
  const [picker, setPicker] = useState(null); // {start, query, candidates, index}
  const [busy, setBusy] = useState(false);
  const picked = useRef(new Map()); // user_id -> name picked in this text
  const caret = useRef(null);
  const input = useRef(null);
  const length = contentLength(text);
  const over = length - MAX_CONTENT_CHARS;

  // Editing starts with the message's words; leaving it brings the draft back.
  const editId = editing?.message_id || null;
  useEffect(() => {
    setText(editing ? editing.msg_content : store.state.drafts.get(groupId) || "");
    setPicker(null);
    if (editing || composing) input.current?.focus();
  }, [editId, composing?.message_id, store.state.drafted.get(groupId)]);
  useLayoutEffect(() => {
    if (caret.current !== null && input.current) {
      input.current.setSelectionRange(caret.current, caret.current);
      caret.current = null;
    }
  });

  function findMention(value, at) {
    const found = mentionQuery(value, at);
    const members = store.state.members.get(groupId) || [];
    const candidates = found ? mentionCandidates(members, found.query, store.meId()) : [];
    setPicker(candidates.length ? { ...found, candidates, index: 0 } : null);
  }

  function pick(member) {
    const at = input.current?.selectionStart ?? text.length;
    const next = insertMention(text, at, picker, member.username);
    picked.current.set(member.user_id, member.username);
    caret.current = next.caret;
    setText(next.text);
    setPicker(null);
    if (!editing) ctl.typing(next.text);
  }

  async function submit(event) {
    event?.preventDefault();
    if (over > 0) {
      store.toast("error", "composer.too_long", { count: formatNumber(over) });
      return;
    }
    if (!text.trim()) return;
    if (editing) {
      if (text === editing.msg_content) {
        ctl.stopComposing(groupId);
        return;
      }
      setBusy(true);
      try {
        await ctl.saveEdit(groupId, editing.message_id, text);
      } catch (error) {
        ctl.report("edit.failed")(error);
      } finally {
        setBusy(false);
      }
      return;
    }
    const replyTo = composing?.mode === "reply" ? composing.message_id : null;
    const result = ctl.send(text, { reply_to: replyTo, mentions: mentionIds(text, picked.current) });
    if (result.ok) {
      picked.current.clear();
      setText("");
      onSent();
    }
    input.current?.focus();
  }

  function onKeyDown(event) {
    const composingIme = event.isComposing || event.keyCode === 229;
    if (picker && !composingIme) {
      const moves = { ArrowDown: 1, ArrowUp: -1 };
      if (event.key in moves) {
        event.preventDefault();
        const n = picker.candidates.length;
        setPicker({ ...picker, index: (picker.index + moves[event.key] + n) % n });
        return;
      }
      if (event.key === "Enter" || event.key === "Tab") {
        event.preventDefault();
        pick(picker.candidates[picker.index]);
        return;
      }
      if (event.key === "Escape") {
        event.preventDefault();
        setPicker(null);
        return;
      }
    }
    if (event.key === "Escape" && composing) {
      ctl.stopComposing(groupId);
      return;
    }
    // Enter sends; Shift+Enter is a new line; never while an IME is composing (Chinese input).
    if (event.key === "Enter" && !event.shiftKey && !composingIme) submit(event);
  }

  function onInput(event) {
    const { value, selectionStart } = event.currentTarget;
    setText(value);
    findMention(value, selectionStart);
    if (!editing) ctl.typing(value);
  }

  const showCounter = length >= COUNTER_FROM_CHARS;
  const label = editing ? t("compose.save") : t("composer.send");
  return html`<form id="composer" class="composer" data-mode=${composing?.mode || "new"} onSubmit=${submit}>
    ${composing ? html`<${ComposeBar} groupId=${groupId} composing=${composing} />` : null}
    ${picker ? html`<${MentionPicker} picker=${picker} onPick=${pick} />` : null}
    <${UploadStatus} groupId=${groupId} />
    ${COMPOSER_TOOLS.length
      ? html`<div class="composer-tools">${COMPOSER_TOOLS.map(({ id, Tool }) => html`<${Tool} key=${id} groupId=${groupId} />`)}</div>`
      : null}
    <label for="composer-input" class="sr-only">${t("composer.label")}</label>
    <textarea id="composer-input" rows="1" ref=${input} value=${text} placeholder=${t("composer.placeholder")}
      aria-describedby="char-count" aria-invalid=${over > 0 ? "true" : undefined}
      aria-autocomplete="list" aria-controls=${picker ? "mention-picker" : undefined}
      onInput=${onInput} onKeyDown=${onKeyDown} onBlur=${() => setPicker(null)}
      onPaste=${pasteHandler(app, groupId, { editing: Boolean(editing) })}></textarea>
    <button type="submit" class="primary" disabled=${busy || over > 0 || !text.trim()}>${label}</button>
    <p id="char-count" class=${`char-count${over > 0 ? " over" : ""}`} aria-live="polite" hidden=${!showCounter}>
      ${over > 0
        ? t("composer.over", { count: formatNumber(over), max: formatNumber(MAX_CONTENT_CHARS) })
        : t("composer.count", { count: formatNumber(length), max: formatNumber(MAX_CONTENT_CHARS) })}
    </p>
  </form>`;
}
