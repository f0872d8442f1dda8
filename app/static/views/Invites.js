// Doctors: a group's invite links. Create one (role, how many may use it, how long it lasts),
// see the usable ones with their uses and expiry, copy a link or show its QR code, revoke.

import { html, useEffect, useRef, useState } from "../html.js";
import { errorText, formatFull, formatNumber, t } from "../i18n/index.js";
import { inviteLink } from "../session.js";
import { copyText, roleLabel, useApp } from "./common.js";
import { QrCode } from "./Qr.js";

const EXPIRY_HOURS = [24, 72, 168, 720];

/** A link to share: read-only field, copy, and its QR code. */
export function InviteLink({ id, link, showQr = false }) {
  const { store } = useApp();
  const input = useRef(null);
  const [qr, setQr] = useState(showQr);
  return html`<div class="invite-link">
    <input id=${`${id}-link`} class="invite-url" ref=${input} readonly value=${link}
      aria-label=${t("invites.link")} onFocus=${(e) => e.currentTarget.select()} />
    <div class="invite-actions">
      <button type="button" class="invite-copy" onClick=${() => copyText(store, link, input.current)}>${t("invites.copy")}</button>
      <button type="button" class="invite-qr-toggle" aria-pressed=${qr ? "true" : "false"} onClick=${() => setQr(!qr)}>
        ${t(qr ? "invites.hide_qr" : "invites.show_qr")}</button>
    </div>
    ${qr ? html`<${QrCode} id=${`${id}-qr`} text=${link} label=${t("invites.qr_label")} />` : null}
  </div>`;
}

function CreateInvite({ groupId, onCreated }) {
  const { ctl } = useApp();
  const [busy, setBusy] = useState(false);
  async function submit(event) {
    event.preventDefault();
    const form = event.currentTarget;
    setBusy(true);
    try {
      const invite = await ctl.createGroupInvite(groupId, {
        user_role: form.user_role.value,
        max_uses: Number(form.max_uses.value) || 1,
        expires_in_hours: Number(form.expires_in_hours.value),
      });
      onCreated(invite);
    } catch (error) {
      ctl.report("invites.create_failed")(error);
    } finally {
      setBusy(false);
    }
  }
  return html`<form id="invite-form" class="compact invite-form" onSubmit=${submit}>
    <label for="invite-role">${t("invites.role")}</label>
    <select id="invite-role" name="user_role">
      <option value="PATIENT">${roleLabel("PATIENT")}</option>
      <option value="DOCTOR">${roleLabel("DOCTOR")}</option>
    </select>
    <label for="invite-uses">${t("invites.max_uses")}</label>
    <input id="invite-uses" name="max_uses" type="number" min="1" max="1000" value="1" inputmode="numeric" />
    <label for="invite-expiry">${t("invites.expiry")}</label>
    <select id="invite-expiry" name="expires_in_hours">
      ${EXPIRY_HOURS.map((h) => html`<option value=${h} selected=${h === 72}>${t("invites.hours", { count: h, n: formatNumber(h) })}</option>`)}
    </select>
    <button type="submit" class="primary" disabled=${busy}>${t("invites.create")}</button>
  </form>`;
}

export function InvitesSection({ group }) {
  const { store, ctl } = useApp();
  const [invites, setInvites] = useState(null);
  const [error, setError] = useState(null);
  const [fresh, setFresh] = useState(null);
  const createBox = useRef(null);
  const groupId = group.group_id;

  async function load() {
    try {
      setInvites(await ctl.groupInvites(groupId));
      setError(null);
    } catch (failure) {
      setError(failure);
    }
  }
  useEffect(() => {
    load();
  }, [groupId]);

  async function revoke(invite) {
    if (!confirm(t("invites.confirm_revoke"))) return;
    try {
      await ctl.revokeInvite(invite.code);
      store.toast("info", "invites.revoked");
    } catch (failure) {
      ctl.report("invites.revoke_failed")(failure);
    }
    load();
  }

  return html`<section class="details-section" aria-labelledby="invites-title">
    <h3 id="invites-title">${t("invites.title")}</h3>
    <p class="hint">${t("invites.intro")}</p>
    <details id="invite-create" class="card compact" ref=${createBox}>
      <summary>${t("invites.new")}</summary>
      <${CreateInvite} groupId=${groupId} onCreated=${(invite) => {
        setFresh(invite.code); // shown with its QR code
        createBox.current.open = false;
        load();
      }} />
    </details>
    ${error ? html`<p class="hint" role="alert">${errorText(error)}</p>` : null}
    <ul id="invite-list" class="invite-list">
      ${(invites || []).map((invite) => html`<li key=${invite.code} data-code=${invite.code}>
        <div class="invite-meta">
          <span>${t("invites.summary", {
            role: roleLabel(invite.user_role),
            uses: formatNumber(invite.uses),
            max: formatNumber(invite.max_uses),
          })}</span>
          <span class="hint">${t("invite.expires", { when: formatFull(invite.expires_at) })}</span>
        </div>
        <${InviteLink} id=${`invite-${invite.code}`} link=${inviteLink(invite.code, location.origin)}
          showQr=${invite.code === fresh} />
        <button type="button" class="link danger invite-revoke" onClick=${() => revoke(invite)}>${t("invites.revoke")}</button>
      </li>`)}
    </ul>
    ${invites && !invites.length ? html`<p id="no-invites" class="hint">${t("invites.none")}</p>` : null}
  </section>`;
}
