// My groups, latest activity first, with unread counts and the last message; doctors create
// groups here. Empty states differ for patients (wait to be added) and doctors (create one).

import { html, useState } from "../html.js";
import { formatListTime, formatNumber, t } from "../i18n/index.js";
import { systemText } from "./messages.js";
import { useApp } from "./common.js";

function CreateGroup() {
  const { store, ctl } = useApp();
  const [busy, setBusy] = useState(false);
  async function submit(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const name = form.group_name.value.trim();
    if (!name) {
      store.toast("error", "group.name_required");
      return;
    }
    setBusy(true);
    try {
      await ctl.createGroup(name, form.description.value.trim());
      form.reset();
      form.closest("details").open = false;
    } catch (error) {
      ctl.report("group.create_failed")(error);
    } finally {
      setBusy(false);
    }
  }
  return html`<details id="create-group" class="card compact">
    <summary>${t("group.new")}</summary>
    <form id="create-group-form" class="compact" onSubmit=${submit}>
      <label for="group-name">${t("group.name")}</label>
      <input id="group-name" name="group_name" required maxlength="100" />
      <label for="group-desc">${t("group.description")} <span class="hint">${t("form.optional")}</span></label>
      <input id="group-desc" name="description" maxlength="2000" />
      <button type="submit" class="primary" disabled=${busy}>${t("group.create")}</button>
    </form>
  </details>`;
}

function preview(group, store, ctl) {
  const last = group.last_message;
  if (store.aiBusy(group.group_id)) return t("list.ai_replying");
  if (!last) return t("list.no_messages");
  if (last.msg_type === "SYSTEM") return systemText(last, ctl.nameOf);
  const mine = last.from_user_id === store.meId();
  if (last.recalled_at) return t(mine ? "msg.recalled_mine" : "msg.recalled");
  const who = last.from_user_id === store.meId() ? t("msg.you") : ctl.nameOf(last.from_user_id);
  return t("list.preview", { who, text: last.msg_content || attachmentLabel(last) });
}

/** What an IMAGE or FILE without a caption says in the list: [Photo] or the file's name. */
function attachmentLabel(message) {
  if (!message.attachment) return "";
  return message.msg_type === "IMAGE" ? t("attach.photo") : `[${message.attachment.name}]`;
}

export function GroupList() {
  const { store, ctl } = useApp();
  const doctor = store.state.session.user.user_role === "DOCTOR";
  const groups = store.sortedGroups();
  return html`
    <h2 id="groups-title">${t("list.title")}</h2>
    ${doctor ? html`<${CreateGroup} />` : null}
    <ul id="group-list" class="group-list">
      ${groups.map((group) => {
        const unread = group.unread_count || 0;
        const last = group.last_message;
        return html`<li key=${group.group_id} data-group-id=${group.group_id}>
          <button type="button" class="group-item"
            aria-current=${group.group_id === store.state.currentId ? "true" : undefined}
            onClick=${() => ctl.openGroup(group.group_id)}>
            <span class="group-line">
              <span class="group-name">${group.group_name}</span>
              ${last ? html`<time dateTime=${last.created_at}>${formatListTime(last.created_at)}</time>` : null}
            </span>
            <span class="group-line">
              <span class="group-preview">${preview(group, store, ctl)}</span>
              ${group.ai_enabled === false ? html`<span class="chip" title=${t("ai.off_long")}>${t("ai.off_chip")}</span>` : null}
              ${unread > 0
                ? html`<span class="unread" aria-label=${t("list.unread", { count: unread })}>
                    ${unread > 99 ? "99+" : formatNumber(unread)}</span>`
                : null}
            </span>
          </button>
        </li>`;
      })}
    </ul>
    ${groups.length === 0
      ? html`<p id="no-groups" class="hint empty-state">${doctor ? t("list.empty_doctor") : t("list.empty_patient")}</p>`
      : null}
  `;
}
