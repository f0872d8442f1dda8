// Replies, edits and recalls (SPEC §11): the composer's reply/edit mode, saving an edit and
// recalling over HTTP (the answer is the message in its new state; the EDIT/RECALL entry that
// every member gets applies the same change), quotes of replied-to messages not loaded yet,
// and loading history back to a quoted message.

const MAX_PAGES_BACK = 20;

export function createMessageActions({ store, api, loadOlder }) {
  const { state } = store;

  const startReply = (groupId, messageId) => store.setComposing(groupId, "reply", messageId);
  const startEdit = (groupId, messageId) => store.setComposing(groupId, "edit", messageId);
  const stopComposing = (groupId) => store.setComposing(groupId, null);

  /** Save an edit; throws the server's refusal (worded by the caller). */
  async function saveEdit(groupId, messageId, content) {
    store.applyMessage(await api.editMessage(messageId, content));
    store.setComposing(groupId, null);
  }

  async function recall(message) {
    store.applyMessage(await api.recallMessage(message.message_id));
    if (store.composingOf(message.group_id)?.message_id === message.message_id) {
      store.setComposing(message.group_id, null);
    }
  }

  const asked = new Set();
  /** The replied-to message if held; else asked for once (null meanwhile). A message that
   * cannot be read any more is remembered as missing. */
  function quoted(groupId, messageId) {
    const found = store.findMessage(groupId, messageId);
    if (found || asked.has(messageId) || !state.session) return found;
    asked.add(messageId);
    api
      .getMessage(messageId)
      .then((message) => store.rememberQuoted(message))
      .catch(() => store.rememberQuoted({ message_id: messageId, group_id: groupId, missing: true }));
    return null;
  }

  /** Load older pages of the open conversation until the message is loaded; true if it is. */
  async function reveal(groupId, messageId) {
    const loaded = () => store.convoOf(groupId).ids.has(messageId);
    for (let page = 0; page < MAX_PAGES_BACK && !loaded(); page += 1) {
      if (state.currentId !== groupId || !(await loadOlder())) break;
    }
    return loaded();
  }

  return { startReply, startEdit, stopComposing, saveEdit, recall, quoted, reveal };
}
