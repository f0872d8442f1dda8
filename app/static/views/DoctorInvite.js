// Doctors: invite a colleague. A doctor invite is a link usable once to sign up as a doctor
// (with DOCTOR_SIGNUP=invite, the default, nobody else can); shown with its QR code.

import { html, useState } from "../html.js";
import { formatFull, t } from "../i18n/index.js";
import { inviteLink } from "../session.js";
import { Dialog, useApp } from "./common.js";
import { InviteLink } from "./Invites.js";

export function DoctorInvite({ onClose }) {
  const { ctl } = useApp();
  const [invite, setInvite] = useState(null);
  const [busy, setBusy] = useState(false);
  async function create() {
    setBusy(true);
    try {
      setInvite(await ctl.createDoctorInvite());
    } catch (error) {
      ctl.report("colleague.failed")(error);
    } finally {
      setBusy(false);
    }
  }
  return html`<${Dialog} id="colleague-dialog" title=${t("colleague.title")} onClose=${onClose}>
    <p class="hint">${t("colleague.intro")}</p>
    ${invite
      ? html`<${InviteLink} id="colleague" link=${inviteLink(invite.code, location.origin)} showQr=${true} />
          <p class="hint">${t("invite.expires", { when: formatFull(invite.expires_at) })}</p>`
      : html`<button id="colleague-create" type="button" class="primary" disabled=${busy} onClick=${create}>
          ${t("colleague.create")}</button>`}
  </${Dialog}>`;
}
