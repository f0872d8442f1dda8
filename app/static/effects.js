// Effects of the state outside the page's own DOM tree: the tab title with the unread count,
// the page language, and system notifications while the tab is hidden (after an explicit
// opt-in). A notification names the group and the sender, never the message text.

import { t } from "./i18n/index.js";

export const NOTIFY_KEY = "im.notify";

export function createNotifications({ storage, store, onOpen }) {
  const supported = () => typeof Notification !== "undefined";
  const permission = () => (supported() ? Notification.permission : "denied");
  const enabled = () => supported() && storage.getItem(NOTIFY_KEY) === "on" && permission() === "granted";

  async function enable() {
    if (!supported()) return false;
    const answer = permission() === "granted" ? "granted" : await Notification.requestPermission();
    if (answer === "granted") storage.setItem(NOTIFY_KEY, "on");
    store.toast("info", answer === "granted" ? "notify.enabled" : "notify.denied");
    return answer === "granted";
  }

  function disable() {
    storage.removeItem(NOTIFY_KEY);
  }

  /** A message from someone else arrived: notify when the tab is hidden. */
  function onMessage(message) {
    if (!enabled() || document.visibilityState !== "hidden") return;
    const group = store.state.groups.get(message.group_id);
    if (!group || message.msg_type === "SYSTEM") return;
    const sender = store.state.users.get(message.from_user_id)?.username || "…";
    const note = new Notification(group.group_name, {
      body: t("notify.body", { name: sender }),
      tag: message.group_id,
      lang: document.documentElement.lang,
    });
    note.onclick = () => {
      window.focus();
      onOpen(message.group_id);
      note.close();
    };
  }

  return { supported, permission, enabled, enable, disable, onMessage };
}

/** Keep the tab title in step with the unread count. */
export function watchTitle(store) {
  let last = null;
  return store.subscribe(() => {
    const unread = store.state.session ? store.totalUnread() : 0;
    const title = unread > 0 ? t("title.unread", { count: unread > 99 ? "99+" : unread }) : t("app.title");
    if (title !== last) {
      document.title = title;
      last = title;
    }
  });
}
