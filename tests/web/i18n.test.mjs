// Unit tests of app/static/i18n: both catalogs complete and consistent, every error code the
// server can send is worded, language detection, localised dates.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import {
  CATALOGS,
  detectLang,
  errorText,
  formatDay,
  formatDuration,
  setLang,
  t,
} from "../../app/static/i18n/index.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function placeholders(entry) {
  const texts = typeof entry === "object" ? Object.values(entry) : [entry];
  return [...new Set(texts.flatMap((text) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1])))].sort();
}

function files(dir, ext) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === "vendor" ? [] : files(path, ext);
    return path.endsWith(ext) ? [path] : [];
  });
}

test("zh-CN and en have the same keys and the same placeholders", () => {
  const en = CATALOGS.en;
  const zh = CATALOGS["zh-CN"];
  assert.deepEqual(Object.keys(zh).sort(), Object.keys(en).sort());
  for (const key of Object.keys(en)) {
    assert.deepEqual(placeholders(zh[key]), placeholders(en[key]), key);
    assert.ok(placeholders(en[key]).length || (typeof zh[key] === "string" ? zh[key] : "x"), key);
  }
});

test("every key the client uses is in the catalogs", () => {
  const used = new Set();
  for (const path of files(join(ROOT, "app/static"), ".js")) {
    if (path.includes("/i18n/")) continue;
    const source = readFileSync(path, "utf8");
    for (const m of source.matchAll(/\bt\(\s*"([a-zA-Z_.]+\.[a-zA-Z_.]+)"/g)) used.add(m[1]);
    for (const m of source.matchAll(/(?:toast|report|signOut)\(\s*(?:"(?:error|info)",\s*)?"([a-z]+\.[a-z_]+)"/g)) {
      used.add(m[1]);
    }
  }
  assert.ok(used.size > 100, `found only ${used.size} keys: the scan is broken`);
  const missing = [...used].filter((key) => !(key in CATALOGS.en));
  assert.deepEqual(missing, []);
});

test("every error code the server can send has words in both languages", () => {
  const codes = new Set();
  for (const path of files(join(ROOT, "app"), ".py")) {
    const source = readFileSync(path, "utf8");
    for (const m of source.matchAll(/\bcode="([A-Z][A-Z_]+)"/g)) codes.add(m[1]);
    for (const m of source.matchAll(/default_code = "([A-Z][A-Z_]+)"/g)) codes.add(m[1]);
    for (const m of source.matchAll(/\d{3}: "([A-Z][A-Z_]+)"/g)) codes.add(m[1]);
    for (const m of source.matchAll(/(?:envelope|self\.error)\(\s*"([A-Z][A-Z_]+)"/g)) codes.add(m[1]);
  }
  assert.ok(codes.has("GROUP_NOT_FOUND") && codes.has("RATE_LIMITED") && codes.has("FRAME_TOO_LARGE"));
  for (const lang of ["en", "zh-CN"]) {
    const missing = [...codes].filter((code) => !(`error.${code}` in CATALOGS[lang]));
    assert.deepEqual(missing, [], lang);
  }
});

test("the browser's languages choose; a remembered choice wins", () => {
  assert.equal(detectLang(["zh-CN", "en"]), "zh-CN");
  assert.equal(detectLang(["zh-TW"]), "zh-CN");
  assert.equal(detectLang(["en-GB", "zh-CN"]), "en");
  assert.equal(detectLang(["fr-FR"]), "en");
  assert.equal(detectLang(["zh-CN"], "en"), "en");
  assert.equal(detectLang(["en"], "xx"), "en");
});

test("messages are filled in and pluralised", () => {
  setLang("en");
  assert.equal(t("banner.unsent", { count: 1 }), "1 message waits to be sent.");
  assert.equal(t("banner.unsent", { count: 3 }), "3 messages wait to be sent.");
  assert.equal(t("no.such.key"), "no.such.key");
  setLang("zh-CN");
  assert.equal(t("banner.unsent", { count: 3 }), "3 条消息等待发送。");
  assert.equal(t("typing.one", { name: "王医生" }), "王医生 正在输入…");
});

test("server errors are worded from their code, never shown raw", () => {
  setLang("zh-CN");
  assert.equal(errorText({ status: 404, code: "USER_NOT_FOUND", message: "User x not found" }), "没有这个 ID 的用户，请核对后重试。");
  assert.equal(errorText({ status: 429, code: "RATE_LIMITED", retry_after: 7 }), "发送太频繁，请 7 秒后再试。");
  assert.equal(errorText({ status: 418, code: "SOMETHING_NEW" }), "服务器返回 418，请重试。");
  assert.equal(errorText({ status: 503, code: "SOMETHING_NEW" }), "服务暂时不可用，请稍后重试。");
  const validation = {
    status: 422,
    code: "VALIDATION_ERROR",
    details: [{ loc: ["body", "content"], msg: "String should have at most 5000 characters" }],
  };
  assert.equal(errorText(validation), "请检查：消息内容。");
  setLang("en");
  assert.equal(errorText(validation), "Please check: message.");
  assert.equal(errorText({ code: "NETWORK_ERROR", status: 0 }), "Cannot reach the server. Check the connection and try again.");
});

test("dates and durations are localised", () => {
  const now = new Date(2026, 2, 10, 12, 0);
  setLang("zh-CN");
  assert.equal(formatDay(new Date(2026, 2, 10, 8, 0).toISOString(), now), "今天");
  assert.equal(formatDay(new Date(2026, 2, 9, 8, 0).toISOString(), now), "昨天");
  assert.match(formatDay(new Date(2026, 0, 2).toISOString(), now), /1月2日/);
  assert.match(formatDuration(1500), /1\.5\s*秒/);
  setLang("en");
  assert.equal(formatDay(new Date(2026, 2, 10, 8, 0).toISOString(), now), "Today");
  assert.equal(formatDay(new Date(2026, 2, 9, 8, 0).toISOString(), now), "Yesterday");
  assert.match(formatDay(new Date(2025, 0, 2).toISOString(), now), /January 2, 2025/);
  assert.match(formatDuration(250), /^250\s*ms$/);
});
