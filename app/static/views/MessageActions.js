// A message's actions (reply; edit and recall where the rules allow it now) and the quote of
// the message it replies to, which jumps to that message (loading older history if needed).

import { canEdit, canRecall, excerpt } from "../compose.js";
import { html, useEffect, useRef, useState } from "../html.js";
import { t } from "../i18n/index.js";
import { useApp } from "./common.js";

const FLASH_MS = 2000;

/** Scroll the conversation to a message and make it flash; false if it is not shown. */
function showMessage(messageId) {
  const row = document.querySelector(`#message-list li[data-message-id="${CSS.escape(messageId)}"]`);
  if (!row) return false;
  row.scrollIntoView({ block: "center", behavior: "smooth" });
  row.classList.add("flash");
  setTimeout(() => row.classList.remove("flash"), FLASH_MS);
  return true;
}

const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));

export function ReplyQuote({ groupId, messageId }) {
  const { store, ctl } = useApp();
  const target = ctl.quoted(groupId, messageId);
  let who = "…";
  let words = "";
  if (target?.missing) words = t("quote.missing");
  else if (target) {
    who = target.from_user_id === store.meId() ? t("msg.you") : ctl.nameOf(target.from_user_id);
    words = target.recalled_at ? t("msg.recalled") : excerpt(target.msg_content);
  }
  async function jump() {
    if (showMessage(messageId)) return;
    if (await ctl.reveal(groupId, messageId)) {
      await nextFrame();
      showMessage(messageId);
    } else {
      store.toast("info", "quote.not_found");
    }
  }
  return html`<button type="button" class="quote" data-reply-to=${messageId} onClick=${jump}
      aria-label=${t("quote.jump", { name: who })}>
    <span class="quote-author">${who}</span>
    <span class=${`quote-text${target?.recalled_at ? " recalled" : ""}`}>${words}</span>
  </button>`;
}

export function MessageActions({ message, mine }) {
  const { store, ctl } = useApp();
  const [open, setOpen] = useState(false);
  const box = useRef(null);
  useEffect(() => {
    if (!open) return undefined;
    const close = (event) => {
      if (event.type === "keydown" ? event.key === "Escape" : !box.current?.contains(event.target)) setOpen(false);
    };
    document.addEventListener("click", close);
    document.addEventListener("keydown", close);
    return () => {
      document.removeEventListener("click", close);
      document.removeEventListener("keydown", close);
    };
  }, [open]);

  const group = store.state.groups.get(message.group_id);
  const now = Date.parse(store.serverNowIso());
  const me = store.meId();
  const editable = open && canEdit(message, me, now);
  const recallable = open && canRecall(message, me, group?.my_role === "DOCTOR", now);
  const act = (work) => () => {
    setOpen(false);
    work();
  };
  async function recall() {
    if (!confirm(t(mine ? "confirm.recall_mine" : "confirm.recall_other"))) return;
    try {
      await ctl.recall(message);
    } catch (error) {
      ctl.report("recall.failed")(error);
    }
  }
  return html`<div class="msg-actions" ref=${box}>
    <button type="button" class="msg-more" aria-haspopup="menu" aria-expanded=${open ? "true" : "false"}
      aria-label=${t("msg.actions")} title=${t("msg.actions")} onClick=${() => setOpen(!open)}>⋯</button>
    ${open
      ? html`<div class=${`msg-menu${mine ? " mine" : ""}`} role="menu">
          <button type="button" role="menuitem" class="act-reply"
            onClick=${act(() => ctl.startReply(message.group_id, message.message_id))}>${t("msg.reply")}</button>
          ${editable
            ? html`<button type="button" role="menuitem" class="act-edit"
                onClick=${act(() => ctl.startEdit(message.group_id, message.message_id))}>${t("msg.edit")}</button>`
            : null}
          ${recallable
            ? html`<button type="button" role="menuitem" class="act-recall danger" onClick=${act(recall)}>${t("msg.recall")}</button>`
            : null}
        </div>`
      : null}
  </div>`;
}
