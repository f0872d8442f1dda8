// The service worker for Web Push (SPEC §13). A push names the group and the sender, never the
// message text (the server leaves it out: push services are third parties); this shows it as a
// system notification, one per group (a newer one replaces the older), and a click focuses the
// open app (which opens the group) or opens a new one. A module worker: the words come from the
// same catalogs as the page's, in the language the page last told it (kept in Cache Storage).

import en from "./i18n/en.js";
import zhCN from "./i18n/zh-CN.js";

const CATALOGS = { en, "zh-CN": zhCN };
const STATE_CACHE = "im-sw-state";
const LANG_ENTRY = "/__im_sw/lang";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("message", (event) => {
  const lang = event.data?.lang;
  if (event.data?.type === "lang" && lang in CATALOGS) {
    event.waitUntil(caches.open(STATE_CACHE).then((cache) => cache.put(LANG_ENTRY, new Response(lang))));
  }
});

async function language() {
  const stored = await (await caches.open(STATE_CACHE)).match(LANG_ENTRY);
  const lang = stored ? await stored.text() : "";
  if (lang in CATALOGS) return lang;
  return (self.navigator.language || "").toLowerCase().startsWith("zh") ? "zh-CN" : "en";
}

function word(catalog, key, params) {
  const text = catalog[key] ?? en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (params[name] === undefined ? whole : String(params[name])));
}

self.addEventListener("push", (event) => {
  let notice = null;
  try {
    notice = event.data?.json();
  } catch {
    notice = null;
  }
  if (!notice || notice.type !== "message") return;
  event.waitUntil(
    language().then((lang) => {
      const catalog = CATALOGS[lang];
      const key = notice.mentioned ? "push.mentioned" : "notify.body";
      return self.registration.showNotification(notice.group_name || word(catalog, "app.title", {}), {
        body: word(catalog, key, { name: notice.sender_name || "…" }),
        tag: notice.group_id,
        renotify: Boolean(notice.mentioned),
        lang,
        data: { group_id: notice.group_id },
      });
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const groupId = event.notification.data?.group_id;
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
      const open = windows.find((client) => new URL(client.url).origin === self.location.origin);
      if (open) {
        open.postMessage({ type: "open-group", group_id: groupId });
        return open.focus();
      }
      return self.clients.openWindow("/");
    }),
  );
});
