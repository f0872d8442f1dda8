// Doctors' tools: create a group, add members by user ID, switch the AI, read AI records.
// The server enforces who may do what; these controls are only shown to doctors.

import { state } from "./store.js";
import * as ui from "./ui.js";
import { $ } from "./ui.js";

const RECORDS_PAGE_SIZE = 20;

export function wireDoctorTools({ api, report, openGroup, loadGroups, loadMembers, renderAll }) {
  async function busy(form, work) {
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await work();
    } finally {
      button.disabled = false;
    }
  }

  $("create-group-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const name = form.group_name.value.trim();
    if (!name) {
      ui.toast("Please give the group a name.");
      return;
    }
    busy(form, async () => {
      try {
        const group = await api.createGroup(name, form.description.value.trim());
        state.groups.set(group.group_id, {
          ...group,
          my_role: "DOCTOR",
          unread_count: 0,
          last_read_seq: group.last_seq,
          last_message: null,
        });
        form.reset();
        $("create-group").open = false;
        await loadGroups();
        openGroup(group.group_id);
      } catch (error) {
        report("Could not create the group")(error);
      }
    });
  });

  $("add-member-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const userId = form.user_id.value.trim();
    const groupId = state.currentId;
    if (!userId || !groupId) {
      ui.toast("Please paste the user ID of the person to add.");
      return;
    }
    busy(form, async () => {
      try {
        const member = await api.addMember(groupId, userId);
        form.reset();
        ui.toast(`${member.username} was added to the group.`, "info");
        await loadMembers(groupId);
      } catch (error) {
        report("Could not add the member")(error);
      }
    });
  });

  $("ai-toggle").addEventListener("change", async (event) => {
    const toggle = event.currentTarget;
    const groupId = state.currentId;
    const wanted = toggle.checked;
    toggle.disabled = true;
    try {
      const group = await api.updateGroup(groupId, { ai_enabled: wanted });
      const known = state.groups.get(groupId);
      if (known) Object.assign(known, { ai_enabled: group.ai_enabled, updated_at: group.updated_at });
      ui.toast(
        wanted ? "The AI assistant now answers patients here." : "The AI assistant is off: doctors answer.",
        "info",
      );
    } catch (error) {
      toggle.checked = !wanted;
      report("Could not switch the AI assistant")(error);
    } finally {
      toggle.disabled = false;
      renderAll();
    }
  });

  // AI interaction records, newest first, a page at a time.
  const dialog = $("ai-records-dialog");
  let page = 1;
  async function showRecords(wanted) {
    try {
      const data = await api.aiInteractions(state.currentId, wanted, RECORDS_PAGE_SIZE);
      page = data.page;
      ui.renderAiRecords(data);
    } catch (error) {
      report("Could not load the AI records")(error);
    }
  }
  $("show-ai-records").addEventListener("click", async () => {
    $("ai-records-body").replaceChildren();
    $("ai-records-summary").textContent = "Loading…";
    dialog.showModal();
    await showRecords(1);
  });
  $("ai-records-refresh").addEventListener("click", () => showRecords(page));
  $("ai-records-prev").addEventListener("click", () => showRecords(Math.max(1, page - 1)));
  $("ai-records-next").addEventListener("click", () => showRecords(page + 1));
  $("ai-records-close").addEventListener("click", () => dialog.close());
}
