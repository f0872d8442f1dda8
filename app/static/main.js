// Entry point: the language, the store (persisted in localStorage), the controller, effects,
// the views mounted on #app; invite links (`/#invite=<code>`) and sessions changed in other tabs.

import { createController } from "./controller.js";
import { createNotifications, watchTitle } from "./effects.js";
import { html, render } from "./html.js";
import { detectLang, LANG_KEY, setLang } from "./i18n/index.js";
import { parseInviteHash, SESSION_KEY } from "./session.js";
import { listenToWorker } from "./push.js";
import { createStore, memoryStorage } from "./store.js";
import { App } from "./views/App.js";

function browserStorage() {
  try {
    const probe = "im.probe";
    localStorage.setItem(probe, "1");
    localStorage.removeItem(probe);
    return localStorage;
  } catch {
    return memoryStorage(); // storage refused: works for this page's life
  }
}

const storage = browserStorage();
document.documentElement.lang = setLang(detectLang(navigator.languages, storage.getItem(LANG_KEY)));

const store = createStore({ storage });
let controller = null;
const notifications = createNotifications({
  storage,
  store,
  onOpen: (groupId) => controller.openGroup(groupId),
});
controller = createController({
  store,
  storage,
  isVisible: () => document.visibilityState === "visible",
  onMessage: (message) => notifications.onMessage(message),
});
watchTitle(store);
listenToWorker((groupId) => controller.openGroup(groupId));

document.addEventListener("visibilitychange", () => {
  controller.markRead();
  if (document.visibilityState === "visible") controller.wake();
});
// Another tab of this browser rotated the tokens, signed out, or signed someone else in.
window.addEventListener("storage", (event) => {
  if (event.key === SESSION_KEY || event.key === null) controller.sessionChangedElsewhere();
});
// An invite link: the code stays in the address bar (a reload keeps it) until the invite is
// used or dismissed, then leaves it.
const dropHash = () => history.replaceState(history.state, "", location.pathname + location.search);
function takeInvite() {
  if (!location.hash.includes("invite=")) return;
  const code = parseInviteHash(location.hash);
  if (code) controller.openInvite(code);
  else {
    dropHash();
    store.toast("error", "invite.bad_link");
  }
}
window.addEventListener("hashchange", takeInvite);
store.subscribe((state) => {
  if (!state.invite && location.hash.includes("invite=")) dropHash();
});
// Phones: the system back gesture goes from the conversation back to the list.
window.addEventListener("popstate", () => {
  if (store.state.view !== "list") controller.back();
});
store.subscribe((state) => {
  const depth = state.view === "list" ? 0 : state.view === "chat" ? 1 : 2;
  const current = history.state?.depth || 0;
  if (depth > current) history.pushState({ depth }, "");
  else if (depth < current) history.replaceState({ depth }, "");
});

takeInvite();
render(html`<${App} store=${store} ctl=${controller} storage=${storage} notifications=${notifications} />`, document.getElementById("app"));
controller.resume();
