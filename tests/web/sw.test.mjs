// Unit tests of app/static/sw.js, the Web Push service worker, in a stand-in worker scope: a
// push shows one notification per group, naming the group and the sender in the language the
// page told it, and a click brings the open app to that group (or opens the app).
import assert from "node:assert/strict";
import { test } from "node:test";

const handlers = {};
const shown = [];
const messages = [];
let opened = null;
const store = new Map();
let windows = [];

globalThis.self = {
  location: { origin: "https://chat.example" },
  navigator: { language: "en-GB" },
  addEventListener: (type, handler) => (handlers[type] = handler),
  skipWaiting: () => {},
  registration: { showNotification: async (title, options) => shown.push({ title, options }) },
  clients: {
    claim: async () => {},
    matchAll: async () => windows,
    openWindow: async (url) => (opened = url),
  },
};
globalThis.caches = {
  open: async () => ({
    match: async (key) => (store.has(key) ? new Response(store.get(key)) : undefined),
    put: async (key, response) => store.set(key, await response.text()),
  }),
};
await import("../../app/static/sw.js");

async function dispatch(type, event) {
  let work = Promise.resolve();
  handlers[type]({ ...event, waitUntil: (promise) => (work = promise) });
  await work;
}

const notice = {
  type: "message",
  group_id: "group_1",
  group_name: "Fever clinic",
  sender_name: "Li Lei",
  seq: 7,
  mentioned: false,
};

test("a push shows the group and the sender, in the browser's language by default", async () => {
  shown.length = 0;
  await dispatch("push", { data: { json: () => notice } });
  assert.equal(shown.length, 1);
  assert.equal(shown[0].title, "Fever clinic");
  assert.equal(shown[0].options.body, "New message from Li Lei");
  assert.equal(shown[0].options.tag, "group_1");
  assert.deepEqual(shown[0].options.data, { group_id: "group_1" });
});

test("the page's language wins, and a mention says so", async () => {
  shown.length = 0;
  await dispatch("message", { data: { type: "lang", lang: "zh-CN" } });
  await dispatch("push", { data: { json: () => ({ ...notice, mentioned: true }) } });
  assert.equal(shown[0].options.body, "Li Lei 提到了你");
  assert.equal(shown[0].options.lang, "zh-CN");
  assert.equal(shown[0].options.renotify, true);
});

test("a push that is not a message notice shows nothing", async () => {
  shown.length = 0;
  await dispatch("push", { data: { json: () => ({ type: "other" }) } });
  await dispatch("push", { data: { json: () => { throw new SyntaxError("not JSON"); } } });
  assert.equal(shown.length, 0);
});

test("a click focuses the open app on the group, or opens the app", async () => {
  let focused = false;
  windows = [
    {
      url: "https://chat.example/",
      postMessage: (message) => messages.push(message),
      focus: async () => (focused = true),
    },
  ];
  const notification = { data: { group_id: "group_1" }, close: () => {} };
  await dispatch("notificationclick", { notification });
  assert.ok(focused);
  assert.deepEqual(messages, [{ type: "open-group", group_id: "group_1" }]);
  windows = [];
  await dispatch("notificationclick", { notification });
  assert.equal(opened, "/");
});
