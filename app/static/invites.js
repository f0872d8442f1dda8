// Invite actions (SPEC §10): the invite opened from a link (`/#invite=<code>`: its public
// preview, joining its group, or signing up as a doctor with it), and doctors' invites (a
// group's links: create, list, revoke; doctor invites for colleagues).

import { inviteAction } from "./session.js";

export function createInviteActions({ store, api, loadGroups, openGroup }) {
  const { state } = store;

  /** An invite link was opened: show what it offers (no sign-in needed). */
  async function openInvite(code) {
    if (!store.openInvite(code)) return;
    try {
      store.setInvitePreview(code, await api.previewInvite(code));
    } catch (error) {
      store.setInvitePreview(code, null, error);
    }
  }

  /** Join the opened invite's group (signed in); then open the group. */
  async function acceptInvite() {
    const invite = state.invite;
    if (!invite || inviteAction(invite.preview) !== "join") return false;
    const known = new Set(state.groups.keys());
    try {
      await api.acceptInvite(invite.code);
    } catch (error) {
      if (error?.code !== "ALREADY_MEMBER") throw error;
      store.toast("info", "invite.already_member");
    }
    store.clearInvite();
    await loadGroups();
    const joined = [...state.groups.keys()].find((id) => !known.has(id));
    if (joined) openGroup(joined);
    return true;
  }

  const dismissInvite = () => store.clearInvite();
  const groupInvites = (groupId) => api.groupInvites(groupId);
  const createGroupInvite = (groupId, fields) => api.createGroupInvite(groupId, fields);
  const revokeInvite = (code) => api.revokeInvite(code);
  const createDoctorInvite = () => api.createDoctorInvite();

  return {
    openInvite,
    acceptInvite,
    dismissInvite,
    groupInvites,
    createGroupInvite,
    revokeInvite,
    createDoctorInvite,
  };
}
