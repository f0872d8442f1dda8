// The group's details: AI assistant state (doctors switch it and read its records), members
// with presence (unknown while my link is down), adding and removing members, invite links
// (doctors), leaving. The pane is a list of sections (DETAIL_SECTIONS): a later layer (the
// copilot, attachments) adds its section there.

import { html, useState } from "../html.js";
import { formatNumber, t } from "../i18n/index.js";
import { AiRecords } from "./AiRecords.js";
import { Badge, useApp } from "./common.js";
import { CopilotSection } from "./Copilot.js";
import { InvitesSection } from "./Invites.js";

const PRESENCE_LABEL = { online: "presence.online", offline: "presence.offline", unknown: "presence.unknown" };

function Members({ groupId, doctor }) {
  const { store, ctl } = useApp();
  const members = store.state.members.get(groupId) || [];
  const me = store.meId();
  async function remove(member) {
    if (!confirm(t("confirm.remove_member", { name: member.username }))) return;
    try {
      await ctl.removeMember(member);
      store.toast("info", "toast.member_removed", { name: member.username });
    } catch (error) {
      ctl.report("toast.remove_failed", { name: member.username })(error);
    }
  }
  return html`<ul id="member-list" class="member-list">
    ${members.map((m) => {
      const presence = store.presenceOf(m);
      const label = t(PRESENCE_LABEL[presence]);
      return html`<li key=${m.user_id} data-user-id=${m.user_id}
          data-online=${presence === "unknown" ? "unknown" : String(presence === "online")}>
        <span class=${`presence ${presence}`} role="img" aria-label=${label} title=${label}></span>
        <span class="member-name">${m.user_id === me ? t("members.you", { name: m.username }) : m.username}</span>
        <${Badge} role=${m.user_role} />
        ${doctor && m.user_id !== me && m.user_role !== "AI_ASSISTANT"
          ? html`<button type="button" class="link danger" aria-label=${t("members.remove_named", { name: m.username })}
              onClick=${() => remove(m)}>${t("members.remove")}</button>`
          : null}
      </li>`;
    })}
  </ul>`;
}

function AddMember() {
  const { store, ctl } = useApp();
  const [busy, setBusy] = useState(false);
  async function submit(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const userId = form.user_id.value.trim();
    if (!userId) {
      store.toast("error", "members.id_required");
      return;
    }
    setBusy(true);
    try {
      const member = await ctl.addMember(userId);
      form.reset();
      store.toast("info", "toast.member_added", { name: member.username });
    } catch (error) {
      ctl.report("toast.add_failed")(error);
    } finally {
      setBusy(false);
    }
  }
  return html`<form id="add-member-form" class="compact" onSubmit=${submit}>
    <label for="add-member-id">${t("members.add_label")}</label>
    <input id="add-member-id" name="user_id" required maxlength="64" placeholder="user_…" autocomplete="off" />
    <button type="submit" disabled=${busy}>${t("members.add")}</button>
  </form>`;
}

function AiSection({ group, doctor }) {
  const { store, ctl } = useApp();
  const [wanted, setWanted] = useState(null); // the switch's position while the PATCH runs
  const [records, setRecords] = useState(false);
  const on = group.ai_enabled !== false;
  const busy = wanted !== null;
  async function toggle(event) {
    const next = event.currentTarget.checked;
    setWanted(next);
    try {
      await ctl.setAiEnabled(next);
      store.toast("info", next ? "toast.ai_on" : "toast.ai_off");
    } catch (error) {
      ctl.report("toast.ai_switch_failed")(error);
    } finally {
      setWanted(null);
    }
  }
  return html`<section class="details-section" aria-labelledby="ai-title">
    <h3 id="ai-title">${t("ai.section")}</h3>
    <p id="ai-state" class="hint">${on ? t("ai.on_long") : t("ai.off_long")}</p>
    ${doctor
      ? html`<label class="switch">
            <input id="ai-toggle" type="checkbox" role="switch" checked=${busy ? wanted : on} disabled=${busy} onChange=${toggle} />
            <span>${t("ai.switch")}</span>
          </label>
          <button id="show-ai-records" type="button" onClick=${() => setRecords(true)}>${t("records.open")}</button>
          ${records ? html`<${AiRecords} groupId=${group.group_id} onClose=${() => setRecords(false)} />` : null}`
      : null}
  </section>`;
}

function MembersSection({ group, doctor }) {
  const count = group.member_count;
  return html`<section class="details-section" aria-labelledby="members-title">
    <h3 id="members-title">${count == null ? t("members.title") : t("members.title_count", { count: formatNumber(count) })}</h3>
    <${Members} groupId=${group.group_id} doctor=${doctor} />
    ${doctor ? html`<${AddMember} />` : null}
  </section>`;
}

/** The sections of the details pane, in order: {id, Section, show({group, doctor})}. */
export const DETAIL_SECTIONS = [
  { id: "ai", Section: AiSection, show: () => true },
  { id: "members", Section: MembersSection, show: () => true },
  { id: "invites", Section: InvitesSection, show: ({ doctor }) => doctor },
];
// The copilot (doctors) right after the AI assistant's section.
DETAIL_SECTIONS.splice(1, 0, { id: "copilot", Section: CopilotSection, show: ({ doctor }) => doctor });

export function Details({ groupId }) {
  const { store, ctl } = useApp();
  const group = store.state.groups.get(groupId);
  if (!group) return null;
  const doctor = group.my_role === "DOCTOR";
  async function leave() {
    if (!confirm(t("confirm.leave", { name: group.group_name }))) return;
    try {
      await ctl.leaveGroup();
    } catch (error) {
      ctl.report("toast.leave_failed")(error);
    }
  }
  const sections = DETAIL_SECTIONS.filter((s) => s.show({ group, doctor }));
  return html`<div id="details" class="details">
    <header class="details-head">
      <button type="button" class="only-phone back" aria-label=${t("nav.back")} onClick=${ctl.back}>‹</button>
      <h2 id="details-title">${t("details.title")}</h2>
    </header>
    ${sections.map(({ id, Section }) => html`<${Section} key=${id} group=${group} doctor=${doctor} />`)}
    <button id="leave-group" type="button" class="link danger" onClick=${leave}>${t("details.leave")}</button>
  </div>`;
}
