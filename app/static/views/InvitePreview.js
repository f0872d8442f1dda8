// What an opened invite link offers (its public preview: group, inviter, role, expiry), and,
// for a signed-in person, the dialog to join its group now (a doctor invite is for signing
// up a new doctor: signed in, one signs out first).

import { html, useEffect, useRef } from "../html.js";
import { errorText, formatFull, t } from "../i18n/index.js";
import { inviteAction } from "../session.js";
import { roleLabel, useApp } from "./common.js";

export function inviteText(preview) {
  const params = {
    group: preview.group_name || "",
    inviter: preview.inviter_name || "",
    role: roleLabel(preview.user_role),
  };
  if (inviteAction(preview) === "doctor_signup") {
    return t(preview.inviter_name ? "invite.doctor_from" : "invite.doctor", params);
  }
  return t(preview.inviter_name ? "invite.group_from" : "invite.group", params);
}

export function InvitePreview({ invite }) {
  const { ctl } = useApp();
  if (invite.status === "loading") {
    return html`<p id="invite-preview" class="card invite-card" role="status">${t("invite.checking")}</p>`;
  }
  if (invite.status === "missing") {
    return html`<div id="invite-preview" class="card invite-card invalid" role="alert">
      <p>${t("invite.unusable", { why: errorText(invite.error) })}</p>
      <button type="button" class="link" onClick=${ctl.dismissInvite}>${t("action.dismiss")}</button>
    </div>`;
  }
  const p = invite.preview;
  return html`<div id="invite-preview" class="card invite-card" data-kind=${p.kind}>
    <p id="invite-text">${inviteText(p)}</p>
    <p class="hint">${t("invite.expires", { when: formatFull(p.expires_at) })}</p>
  </div>`;
}

/** Signed in and an invite link opened: join now, or not. */
export function InviteDialog() {
  const { store, ctl } = useApp();
  const invite = store.state.invite;
  const dialog = useRef(null);
  useEffect(() => {
    if (!dialog.current.open) dialog.current.showModal();
  }, []);
  const join = () => ctl.acceptInvite().catch(ctl.report("invite.join_failed"));
  const action = invite.status === "ready" ? inviteAction(invite.preview) : null;
  return html`<dialog id="invite-dialog" class="dialog small" aria-labelledby="invite-title" ref=${dialog}
      onCancel=${ctl.dismissInvite}>
    <h2 id="invite-title">${t("invite.title")}</h2>
    <${InvitePreview} invite=${invite} />
    ${action === "doctor_signup" ? html`<p class="hint">${t("invite.doctor_signed_in")}</p>` : null}
    <footer class="dialog-foot">
      <button id="invite-later" type="button" onClick=${ctl.dismissInvite}>${t("invite.not_now")}</button>
      ${action === "join"
        ? html`<button id="invite-join" type="button" class="primary" onClick=${join}>${t("invite.join")}</button>`
        : null}
      ${action === "doctor_signup"
        ? html`<button id="invite-signout" type="button" class="primary" onClick=${ctl.logOut}>${t("account.sign_out")}</button>`
        : null}
    </footer>
  </dialog>`;
}
