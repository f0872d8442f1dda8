// The open conversation: header (back on phones, AI state, details), the hand-over banner, the
// timeline (only this part scrolls; history loads at the top), typing line, composer. Files
// dropped anywhere on it are uploaded and sent (Uploads.js), with a drop target while dragging.

import { Component, html, useState } from "../html.js";
import { getLang, t } from "../i18n/index.js";
import { useApp } from "./common.js";
import { Composer } from "./Composer.js";
import { DropTarget, useFileDrop } from "./Uploads.js";
import {
  AiFailedItem,
  DayItem,
  MessageItem,
  NoticeItem,
  PendingItem,
  sameSender,
  StreamItem,
} from "./messages.js";

const NEAR_BOTTOM_PX = 80;
const LOAD_OLDER_AT_PX = 60;

const firstMessageKey = (items) => items.find((i) => i.kind === "message")?.key;

class Timeline extends Component {
  constructor() {
    super();
    this.box = null;
    this.state = { jump: false };
  }

  componentDidMount() {
    this.toBottom();
  }

  getSnapshotBeforeUpdate() {
    const box = this.box;
    if (!box) return null;
    return {
      top: box.scrollTop,
      height: box.scrollHeight,
      nearBottom: box.scrollHeight - box.scrollTop - box.clientHeight < NEAR_BOTTOM_PX,
    };
  }

  componentDidUpdate(previous, _state, snap) {
    const box = this.box;
    if (!box || !snap) return;
    if (this.props.bottomToken !== previous.bottomToken || snap.nearBottom) {
      this.toBottom();
    } else if (firstMessageKey(previous.items) !== firstMessageKey(this.props.items) && box.scrollHeight > snap.height) {
      box.scrollTop = snap.top + (box.scrollHeight - snap.height); // older page prepended
    } else if (box.scrollHeight > snap.height && !this.state.jump) {
      this.setState({ jump: true });
    }
  }

  toBottom() {
    if (this.box) this.box.scrollTop = this.box.scrollHeight;
    if (this.state.jump) this.setState({ jump: false });
  }

  onScroll = () => {
    const box = this.box;
    if (box.scrollTop < LOAD_OLDER_AT_PX) this.props.onTop();
    if (this.state.jump && box.scrollHeight - box.scrollTop - box.clientHeight < NEAR_BOTTOM_PX) {
      this.setState({ jump: false });
    }
  };

  render({ items, canLoadOlder, loadingOlder, onTop, ctx }, { jump }) {
    let previous = null;
    const rows = items.map((item) => {
      const row = renderItem(item, previous, ctx);
      if (item.kind !== "day") previous = item;
      return row;
    });
    return html`<div id="messages" class="messages" tabindex="0" ref=${(el) => (this.box = el)}
      onScroll=${this.onScroll}>
      ${canLoadOlder
        ? html`<button id="load-older" type="button" class="link load-older" disabled=${loadingOlder}
            onClick=${onTop}>${loadingOlder ? t("convo.loading") : t("convo.load_older")}</button>`
        : null}
      ${ctx.loaded && !items.some((i) => i.kind === "message")
        ? html`<p id="no-messages" class="empty-state hint">${t(ctx.doctor ? "convo.empty_doctor" : "convo.empty_patient")}</p>`
        : null}
      <ol id="message-list" class="message-list" role="log" aria-label=${t("convo.messages")}>${rows}</ol>
      ${jump
        ? html`<button id="jump-latest" type="button" class="jump" onClick=${() => this.toBottom()}>${t("convo.jump")}</button>`
        : null}
    </div>`;
  }
}

function renderItem(item, previous, ctx) {
  switch (item.kind) {
    case "message": {
      const m = item.message;
      const mine = m.from_user_id === ctx.meId;
      const cont = sameSender(previous, item);
      const name = ctx.nameOf(m.from_user_id);
      const readers = mine ? ctx.readersOf(m.seq) : 0;
      const mentioned = (m.mentions || []).map(ctx.nameOf).join(",");
      const sig = `${m.message_id}|${m.edited_at || ""}|${m.recalled_at || ""}|${cont}|${readers}|${name}|${mentioned}|${ctx.lang}`;
      return html`<${MessageItem} key=${item.key} sig=${sig} message=${m} cont=${cont} mine=${mine}
        name=${name} readers=${readers} nameOf=${ctx.nameOf} meId=${ctx.meId} />`;
    }
    case "pending":
      return html`<${PendingItem} key=${item.key} pending=${item.pending} role=${ctx.myRole} />`;
    case "stream":
      return html`<${StreamItem} key=${item.key} stream=${item.stream} />`;
    case "ai_failed":
      return html`<${AiFailedItem} key=${item.key} failure=${item.failure} showReason=${ctx.doctor} />`;
    case "notice":
      return html`<${NoticeItem} key=${item.key} notice=${item.notice} />`;
    case "divider":
      return html`<li key="divider" class="divider">${t("convo.new_messages")}</li>`;
    default:
      return html`<${DayItem} key=${item.key} at=${item.at} />`;
  }
}

function typingLine(names) {
  if (names.length === 1) return t("typing.one", { name: names[0] });
  if (names.length === 2) return t("typing.two", { a: names[0], b: names[1] });
  if (names.length > 2) return t("typing.many");
  return "";
}

export function Conversation({ groupId }) {
  const app = useApp();
  const { store, ctl } = app;
  const [bottomToken, setBottomToken] = useState(0);
  const drop = useFileDrop(app, groupId);
  const group = store.state.groups.get(groupId);
  if (!group) return null;
  const convo = store.convoOf(groupId);
  const doctor = group.my_role === "DOCTOR";
  const ctx = {
    meId: store.meId(),
    myRole: group.my_role || store.state.session.user.user_role,
    doctor,
    lang: getLang(),
    loaded: convo.loaded,
    nameOf: ctl.nameOf,
    readersOf: (seq) => store.readersOf(groupId, seq),
  };
  const aiOn = group.ai_enabled !== false;
  return html`<div id="convo" class=${`convo${drop.dragging ? " dragging" : ""}`} ...${drop.handlers}>
    ${drop.dragging ? html`<${DropTarget} />` : null}
    <header class="convo-head">
      <button id="back" type="button" class="only-phone back" aria-label=${t("nav.back")} onClick=${ctl.back}>‹</button>
      <div class="convo-titles">
        <h2 id="convo-title">${group.group_name}</h2>
        ${group.description ? html`<p id="convo-desc" class="hint">${group.description}</p>` : null}
      </div>
      <span id="ai-badge" class="ai-state" data-on=${String(aiOn)}>${aiOn ? t("ai.on") : t("ai.off")}</span>
      <button id="show-details" type="button" class="only-phone" onClick=${() => store.setView("details")}>
        ${t("nav.details")}</button>
    </header>
    ${aiOn
      ? null
      : html`<p id="handover" class="handover" role="status">${t(doctor ? "handover.doctor" : "handover.patient")}</p>`}
    <${Timeline} items=${store.timeline(groupId)} ctx=${ctx} bottomToken=${bottomToken}
      canLoadOlder=${store.olderCursor(groupId) !== null || convo.loadingOlder} loadingOlder=${convo.loadingOlder}
      onTop=${() => ctl.loadOlder()} />
    <p id="typing" class="typing" aria-live="polite">${typingLine(store.typingUsers(groupId).map(ctl.nameOf))}</p>
    <${Composer} groupId=${groupId} onSent=${() => setBottomToken((n) => n + 1)} />
  </div>`;
}
