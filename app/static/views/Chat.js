// The signed-in layout: desktop shows three panes (groups, conversation, details); a phone
// shows one at a time (list → chat → details, like WeChat), chosen by `data-view`.

import { html } from "../html.js";
import { t } from "../i18n/index.js";
import { AccountMenu } from "./Account.js";
import { useApp, secondsUntil, useTick } from "./common.js";
import { Conversation } from "./Conversation.js";
import { Details } from "./Details.js";
import { GroupList } from "./GroupList.js";

const CONN_TEXT = {
  connecting: "conn.connecting",
  connected: "conn.connected",
  reconnecting: "conn.reconnecting",
  offline: "conn.offline",
};

function ConnectionStatus() {
  const { store } = useApp();
  const { state: connState } = store.state.connection;
  return html`<div id="conn" class="conn" data-state=${connState}>
    <span class="dot" aria-hidden="true"></span>
    <span id="conn-text">${t(CONN_TEXT[connState])}</span>
  </div>`;
}

/** While my own link is down, say so plainly, with the next try and a way to try now. */
function ConnectionBanner() {
  const { store, ctl } = useApp();
  const { state: connState, nextRetryAt } = store.state.connection;
  const down = connState === "reconnecting" || connState === "offline";
  useTick(down);
  if (!down) return null;
  const seconds = secondsUntil(nextRetryAt);
  const unsent = store.state.outbox.size;
  return html`<div id="conn-banner" class="conn-banner" role="status" data-state=${connState}>
    <span>${connState === "offline" ? t("banner.offline") : t("banner.reconnecting")}</span>
    ${seconds > 0 ? html`<span class="countdown">${t("banner.next_try", { seconds })}</span>` : null}
    ${unsent ? html`<span>${t("banner.unsent", { count: unsent })}</span>` : null}
    <button id="conn-retry" type="button" class="link" onClick=${ctl.retryConnection}>${t("banner.retry_now")}</button>
  </div>`;
}

export function Chat() {
  const { store } = useApp();
  const { view, currentId } = store.state;
  return html`<div id="chat-view" class="chat" data-view=${view} data-open=${currentId ? "true" : "false"}>
    <header class="topbar">
      <h1>${t("app.title")}</h1>
      <${ConnectionStatus} />
      <${AccountMenu} />
    </header>
    <${ConnectionBanner} />
    <nav class="pane pane-list" aria-labelledby="groups-title"><${GroupList} /></nav>
    <section class="pane pane-chat" aria-labelledby="convo-title">
      ${currentId
        ? html`<${Conversation} key=${currentId} groupId=${currentId} />`
        : html`<p id="empty-convo" class="empty">${t("convo.choose")}</p>`}
    </section>
    <aside class="pane pane-details" aria-labelledby="details-title">
      ${currentId ? html`<${Details} key=${currentId} groupId=${currentId} />` : null}
    </aside>
  </div>`;
}
