// Unit tests of app/static/upload.js: the files of a paste or a drop, percentages, file kinds,
// the XMLHttpRequest with progress and cancel (against a fake), the per-group upload tracker.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  carriesFiles,
  createUploads,
  fileKind,
  filesFrom,
  percentOf,
  sendWithProgress,
  UploadCancelled,
} from "../../app/static/upload.js";

const file = (name, size = 10) => ({ name, size });
const fileItem = (f) => ({ kind: "file", getAsFile: () => f });
const textItem = () => ({ kind: "string", getAsFile: () => null });

test("a drag carries files only when its types say Files", () => {
  assert.equal(carriesFiles({ types: ["Files"] }), true);
  assert.equal(carriesFiles({ types: ["text/plain", "Files"] }), true);
  assert.equal(carriesFiles({ types: ["text/plain", "text/uri-list"] }), false);
  assert.equal(carriesFiles(null), false);
  assert.equal(carriesFiles({}), false);
});

test("the files of a paste or a drop come from its items, in order; text items are left", () => {
  const a = file("a.png");
  const b = file("b.pdf");
  assert.deepEqual(filesFrom({ items: [textItem(), fileItem(a), fileItem(b)], files: [] }), [a, b]);
  assert.deepEqual(filesFrom({ items: [textItem()], files: [] }), []);
  assert.deepEqual(filesFrom({ items: [{ kind: "file", getAsFile: () => null }] }), []);
});

test("without items (older browsers) the files list is used; nothing gives nothing", () => {
  const a = file("a.png");
  assert.deepEqual(filesFrom({ files: [a] }), [a]);
  assert.deepEqual(filesFrom({ items: [], files: [a] }), [a]);
  assert.deepEqual(filesFrom(null), []);
  assert.deepEqual(filesFrom(undefined), []);
});

test("percentages are whole, from 0 to 100, and 0 while the size is unknown", () => {
  assert.equal(percentOf(0, 100), 0);
  assert.equal(percentOf(1, 3), 33);
  assert.equal(percentOf(99.9, 100), 99);
  assert.equal(percentOf(100, 100), 100);
  assert.equal(percentOf(150, 100), 100);
  assert.equal(percentOf(50, 0), 0);
  assert.equal(percentOf(-5, 10), 0);
  assert.equal(percentOf(Number.NaN, 10), 0);
});

test("a file's kind comes from its name, else from its type", () => {
  assert.equal(fileKind("化验单.pdf", "application/pdf"), "PDF");
  assert.equal(fileKind("notes.txt"), "TXT");
  assert.equal(fileKind("scan", "application/pdf"), "PDF");
  assert.equal(fileKind("scan", "text/plain"), "PLAIN");
  assert.equal(fileKind("scan", ""), "");
  assert.equal(fileKind("archive.verylongext", "weird"), "");
});

/** A fake XMLHttpRequest: records the request; the test decides what happens. */
class FakeXHR {
  static last = null;

  constructor() {
    this.listeners = {};
    this.uploadListeners = {};
    this.headers = {};
    this.upload = { addEventListener: (kind, fn) => (this.uploadListeners[kind] = fn) };
    FakeXHR.last = this;
  }

  open(method, url) {
    Object.assign(this, { method, url });
  }

  setRequestHeader(name, value) {
    this.headers[name] = value;
  }

  addEventListener(kind, fn) {
    this.listeners[kind] = fn;
  }

  getResponseHeader(name) {
    return (this.responseHeaders || {})[name] ?? null;
  }

  send(body) {
    this.body = body;
  }

  abort() {
    this.listeners.abort?.();
  }

  progress(loaded, total) {
    this.uploadListeners.progress?.({ loaded, total, lengthComputable: total > 0 });
  }

  answer(status, text, headers = {}) {
    Object.assign(this, { status, responseText: text, responseHeaders: headers });
    this.listeners.load();
  }
}

test("an upload reports its progress and resolves with the server's answer", async () => {
  const seen = [];
  const pending = sendWithProgress({
    XHR: FakeXHR,
    method: "POST",
    url: "/api/attachments",
    headers: { Authorization: "Bearer x" },
    body: "form",
    onProgress: (loaded, total) => seen.push([loaded, total]),
  });
  const xhr = FakeXHR.last;
  assert.equal(xhr.method, "POST");
  assert.equal(xhr.headers.Authorization, "Bearer x");
  assert.equal(xhr.body, "form");
  xhr.progress(50, 200);
  xhr.progress(200, 200);
  xhr.answer(201, JSON.stringify({ attachment_id: "a1" }));
  assert.deepEqual(await pending, { status: 201, data: { attachment_id: "a1" }, retryAfter: null });
  assert.deepEqual(seen, [
    [50, 200],
    [200, 200],
  ]);
});

test("an error answer resolves with its status and body (the caller words it)", async () => {
  const pending = sendWithProgress({ XHR: FakeXHR, method: "POST", url: "/u", body: null });
  FakeXHR.last.answer(413, '{"error":{"code":"ATTACHMENT_TOO_LARGE"}}', { "Retry-After": "3" });
  const answer = await pending;
  assert.equal(answer.status, 413);
  assert.equal(answer.data.error.code, "ATTACHMENT_TOO_LARGE");
  assert.equal(answer.retryAfter, 3);
  const proxy = sendWithProgress({ XHR: FakeXHR, method: "POST", url: "/u", body: null });
  FakeXHR.last.answer(502, "<html>bad gateway</html>");
  assert.deepEqual(await proxy, { status: 502, data: null, retryAfter: null });
});

test("cancelling aborts the request; no answer at all is a network failure", async () => {
  const controller = new AbortController();
  const pending = sendWithProgress({ XHR: FakeXHR, method: "POST", url: "/u", body: null, signal: controller.signal });
  controller.abort();
  await assert.rejects(pending, (error) => error instanceof UploadCancelled && error.cancelled);
  await assert.rejects(
    sendWithProgress({ XHR: FakeXHR, method: "POST", url: "/u", body: null, signal: controller.signal }),
    UploadCancelled,
  );
  const lost = sendWithProgress({ XHR: FakeXHR, method: "POST", url: "/u", body: null });
  FakeXHR.last.listeners.error();
  await assert.rejects(lost, (error) => error.network === true);
});

test("the tracker keeps one job per group, follows its files and progress, and ends", () => {
  const uploads = createUploads();
  let calls = 0;
  const stop = uploads.subscribe(() => (calls += 1));
  assert.equal(uploads.of("g1"), null);
  const job = uploads.begin("g1", [file("a.png", 400), file("b.pdf", 100)]);
  assert.deepEqual(uploads.of("g1"), { name: "a.png", loaded: 0, total: 400, percent: 0, index: 0, count: 2 });
  assert.equal(uploads.begin("g1", [file("c.png")]), null, "a second job waits for the first");
  assert.equal(uploads.busy("g1"), true);
  assert.equal(uploads.busy("g2"), false);
  job.progress(100, 400);
  assert.equal(uploads.of("g1").percent, 25);
  job.progress(400, 0); // a total the browser did not know: the file's size
  assert.equal(uploads.of("g1").percent, 100);
  job.next(1);
  assert.equal(uploads.of("g1").name, "b.pdf");
  assert.equal(uploads.of("g1").percent, 0);
  job.end();
  assert.equal(uploads.of("g1"), null);
  assert.ok(calls >= 5);
  stop();
  assert.equal(uploads.begin("g1", []), null, "nothing to upload is no job");
});

test("cancel aborts the group's job", () => {
  const uploads = createUploads();
  const job = uploads.begin("g1", [file("a.png")]);
  assert.equal(job.signal.aborted, false);
  uploads.cancel("g2");
  assert.equal(job.signal.aborted, false);
  uploads.cancel("g1");
  assert.equal(job.signal.aborted, true);
});

// The API's upload with progress (app/static/api.js), against the fake request: the server's
// refusals become ApiErrors that errorText words in both languages; a cancel is not an error.
test("upload refusals and failures are worded in both languages; a cancel is its own kind", async () => {
  const { createApi, ApiError } = await import("../../app/static/api.js");
  const { errorText, setLang } = await import("../../app/static/i18n/index.js");
  const saved = { XHR: globalThis.XMLHttpRequest, location: globalThis.location };
  globalThis.XMLHttpRequest = FakeXHR;
  Object.defineProperty(globalThis, "location", { value: { origin: "http://chat.test" }, configurable: true });
  try {
    const auth = { fresh: async () => "tok", refresh: async () => "ok", token: () => "tok2" };
    const api = createApi({ auth, onUnauthorized: () => {} });
    const upload = async (answer, options = {}) => {
      const seen = [];
      const onProgress = (loaded, total) => seen.push([loaded, total]);
      const pending = api.uploadAttachment("g1", new File(["x"], "a.png"), { onProgress, ...options });
      await new Promise((resolve) => setTimeout(resolve, 0)); // auth.fresh() first
      const xhr = FakeXHR.last;
      assert.equal(xhr.url, "http://chat.test/api/attachments");
      assert.equal(xhr.headers.Authorization, "Bearer tok");
      assert.equal(xhr.body.get("group_id"), "g1");
      answer(xhr);
      return { pending, seen };
    };

    const ok = await upload((xhr) => {
      xhr.progress(1, 2);
      xhr.answer(201, '{"attachment_id":"att_1","name":"a.png","mime":"image/png"}');
    });
    assert.equal((await ok.pending).attachment_id, "att_1");
    assert.deepEqual(ok.seen, [[1, 2]]);

    const cases = [
      [(xhr) => xhr.answer(413, '{"error":{"code":"ATTACHMENT_TOO_LARGE"}}'), "ATTACHMENT_TOO_LARGE", 413],
      [(xhr) => xhr.answer(415, '{"error":{"code":"UNSUPPORTED_MEDIA_TYPE"}}'), "UNSUPPORTED_MEDIA_TYPE", 415],
      [(xhr) => xhr.answer(422, '{"error":{"code":"VALIDATION_ERROR","details":[]}}'), "VALIDATION_ERROR", 422],
      [(xhr) => xhr.answer(413, "<html>too large</html>"), "HTTP_ERROR", 413], // a proxy's page
      [(xhr) => xhr.listeners.error(), "NETWORK_ERROR", 0],
    ];
    for (const [answer, code, status] of cases) {
      const { pending } = await upload(answer);
      const error = await pending.then(
        () => assert.fail("should be refused"),
        (e) => e,
      );
      assert.ok(error instanceof ApiError, code);
      assert.equal(error.code, code);
      assert.equal(error.status, status);
      const words = {};
      for (const lang of ["en", "zh-CN"]) {
        setLang(lang);
        words[lang] = errorText(error);
        assert.ok(words[lang] && !/\berror\.\w/.test(words[lang]), `${code} in ${lang}: ${words[lang]}`);
      }
      assert.notEqual(words.en, words["zh-CN"], code);
      if (status === 413) assert.match(words.en, /too large/);
    }
    setLang("en");

    const controller = new AbortController();
    const cancelled = await upload(() => controller.abort(), { signal: controller.signal });
    await assert.rejects(cancelled.pending, (error) => error.cancelled === true && !(error instanceof ApiError));
  } finally {
    globalThis.XMLHttpRequest = saved.XHR;
    Object.defineProperty(globalThis, "location", { value: saved.location, configurable: true });
  }
});
