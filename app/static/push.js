// Web Push opt-in (SPEC §13): register the service worker (sw.js), subscribe with the server's
// VAPID key and hand the subscription to the server, which pushes while no tab of mine is
// open; opting out unsubscribes here and there. Also: the language the worker words pushes in,
// and the worker's "open this group" after a click on a notification.

export function pushSupported() {
  return "serviceWorker" in navigator && "PushManager" in window && window.isSecureContext;
}

function keyBytes(base64url) {
  const text = atob(base64url.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

export async function enablePush(api, lang) {
  const { enabled, public_key: key } = await api.pushPublicKey();
  if (!enabled) return false; // off on this server: the in-tab notifications are all there is
  const registration = await navigator.serviceWorker.register("/sw.js", { type: "module" });
  await navigator.serviceWorker.ready;
  registration.active?.postMessage({ type: "lang", lang });
  const subscription =
    (await registration.pushManager.getSubscription()) ||
    (await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key) }));
  await api.pushSubscribe(subscription.toJSON());
  return true;
}

export async function disablePush(api) {
  const registration = await navigator.serviceWorker.getRegistration("/sw.js");
  const subscription = await registration?.pushManager.getSubscription();
  if (!subscription) return;
  try {
    await api.pushUnsubscribe(subscription.endpoint);
  } finally {
    await subscription.unsubscribe();
  }
}

/** The worker asks the open app to show a group after a click on its notification. */
export function listenToWorker(openGroup) {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.addEventListener("message", (event) => {
    if (event.data?.type === "open-group" && event.data.group_id) openGroup(event.data.group_id);
  });
}
