// One item of the conversation timeline each: messages (grouped by sender, read ticks, the
// quote of the message replied to, mentions highlighted, "edited", recalled placeholders, the
// actions menu), SYSTEM lines in the reader's language, unsent messages (retry, discard,
// countdown), AI replies streaming or failed, hand-over notices, day separators.

import { Component, html } from "../html.js";
import { errorText, formatDay, formatFull, formatNumber, t } from "../i18n/index.js";
import { Badge, RichText, secondsUntil, Time, useApp, useTick } from "./common.js";
import { AttachmentView } from "./Attachments.js";
import { MessageActions, ReplyQuote } from "./MessageActions.js";

const GROUP_GAP_MS = 5 * 60 * 1000;

// The server writes SYSTEM lines in English ("Dr Wang added Li Lei"); the reader's language
// is rebuilt from the known sender name; anything else is shown as written.
export function systemText(message, nameOf) {
  const content = message.msg_content || "";
  const actor = nameOf(message.from_user_id);
  const patterns = [
    ["system.added", new RegExp(`^${escape(actor)} added (.+)$`)],
    ["system.removed", new RegExp(`^${escape(actor)} removed (.+)$`)],
    ["system.joined", /^(.+) joined$/],
    ["system.left", /^(.+) left$/],
  ];
  for (const [key, pattern] of patterns) {
    const match = content.match(pattern);
    if (match) return t(key, { actor, name: match[1] });
  }
  return content;
}

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

export function sameSender(previous, item) {
  if (previous?.kind !== "message" || item.kind !== "message") return false;
  const a = previous.message;
  const b = item.message;
  if (a.msg_type === "SYSTEM" || b.msg_type === "SYSTEM" || a.from_user_id !== b.from_user_id) {
    return false;
  }
  return new Date(b.created_at) - new Date(a.created_at) < GROUP_GAP_MS;
}

function Head({ name, role, iso }) {
  return html`<div class="msg-head">
    <span class="author">${name}</span><${Badge} role=${role} /><${Time} iso=${iso} />
  </div>`;
}

function Ticks({ readers }) {
  const read = readers > 0;
  const label = read
    ? readers > 1
      ? t("msg.read_by", { count: formatNumber(readers) })
      : t("msg.read")
    : t("msg.sent");
  return html`<span class="ticks" data-read=${read ? "true" : "false"} title=${label} aria-label=${label}>
    ${read ? "✓✓" : "✓"}</span>`;
}

/** A stored message; re-rendered only when its signature changes (keyed, memoised). */
export class MessageItem extends Component {
  shouldComponentUpdate(next) {
    return next.sig !== this.props.sig;
  }

  render({ message: m, cont, mine, name, readers, nameOf, meId }) {
    if (m.msg_type === "SYSTEM") {
      return html`<li class="system" data-message-id=${m.message_id} data-seq=${m.seq}>
        <span>${systemText(m, nameOf)}</span><${Time} iso=${m.created_at} />
      </li>`;
    }
    const ai = m.from_user_role === "AI_ASSISTANT";
    const cls = `msg${mine ? " mine" : ""}${ai ? " ai" : ""}${cont ? " cont" : ""}`;
    return html`<li class=${cls} data-message-id=${m.message_id} data-seq=${m.seq}>
      ${cont ? null : html`<${Head} name=${mine ? t("msg.you") : name} role=${m.from_user_role} iso=${m.created_at} />`}
      ${m.recalled_at
        ? html`<div class="bubble recalled">${t(mine ? "msg.recalled_mine" : "msg.recalled")}</div>`
        : html`<div class="msg-body">
            <div class="bubble">
              ${m.reply_to ? html`<${ReplyQuote} groupId=${m.group_id} messageId=${m.reply_to} />` : null}
              ${m.attachment ? html`<${AttachmentView} attachment=${m.attachment} />` : null}
              ${m.msg_content || !m.attachment
                ? html`<span class="msg-text"><${RichText} text=${m.msg_content} mentions=${m.mentions} nameOf=${nameOf} meId=${meId} /></span>`
                : null}
            </div>
            <${MessageActions} message=${m} mine=${mine} />
          </div>`}
      <div class="msg-meta">
        ${m.edited_at && !m.recalled_at ? html`<span class="edited" title=${formatFull(m.edited_at)}>${t("msg.edited")}</span>` : null}
        ${mine ? html`<${Ticks} readers=${readers} />` : null}
      </div>
    </li>`;
  }
}

export function PendingItem({ pending: p, role }) {
  const { ctl } = useApp();
  const waiting = p.status === "waiting";
  useTick(waiting);
  let status;
  if (p.status === "failed") {
    status = t("pending.failed", { reason: errorText(p.error) });
  } else if (waiting) {
    const seconds = secondsUntil(p.error?.retryAt || 0);
    if (seconds === 0) queueMicrotask(ctl.flushDue);
    status = t("pending.waiting", { seconds });
  } else {
    status = t(p.status === "sending" ? "pending.sending" : "pending.queued");
  }
  return html`<li class=${`msg mine pending ${p.status}`} data-client-msg-id=${p.client_msg_id}>
    <${Head} name=${t("msg.you")} role=${role} iso=${p.created_at} />
    <div class="bubble">
      ${p.reply_to ? html`<${ReplyQuote} groupId=${p.group_id} messageId=${p.reply_to} />` : null}
      ${p.attachment ? html`<span class="attachment pending">${p.attachment.name}</span>` : null}
      ${p.content ? html`<${RichText} text=${p.content} />` : null}
    </div>
    <p class="msg-status" role=${p.status === "failed" ? "alert" : undefined}>
      <span>${status}</span>
      ${p.status === "failed"
        ? html`<button type="button" class="link" onClick=${() => ctl.retry(p.client_msg_id)}>${t("action.retry")}</button>
            <button type="button" class="link danger" onClick=${() => ctl.discard(p.client_msg_id)}>${t("action.discard")}</button>`
        : null}
    </p>
  </li>`;
}

export function StreamItem({ stream }) {
  return html`<li class="msg ai stream" data-record-id=${stream.record_id} data-ai-status=${stream.status}>
    <${Head} name=${t("ai.name")} role="AI_ASSISTANT" iso=${stream.started_at} />
    ${stream.text ? html`<div class="bubble">${stream.text}</div>` : null}
    <p class="ai-status"><span class="dots">${t("ai.replying")}</span></p>
  </li>`;
}

export function AiFailedItem({ failure, showReason }) {
  return html`<li class="msg ai ai-failed" data-record-id=${failure.record_id} data-ai-status="FAILED">
    <${Head} name=${t("ai.name")} role="AI_ASSISTANT" iso=${failure.at} />
    <p class="ai-status" role="note">${t("ai.failed")}</p>
    ${showReason && failure.error
      ? html`<p class="ai-error hint">${t("ai.failed_reason", { reason: failure.error })}</p>`
      : null}
  </li>`;
}

export function NoticeItem({ notice }) {
  const key = notice.kind === "handover" ? "notice.handover" : "notice.ai_on";
  return html`<li class=${`notice ${notice.kind}`} role="note">
    <span>${t(key)}</span><${Time} iso=${notice.at} />
  </li>`;
}

export function DayItem({ at }) {
  return html`<li class="day-sep" role="separator"><span>${formatDay(at)}</span></li>`;
}
