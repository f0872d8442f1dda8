// Unit tests of app/static/format.js: links, lengths, days.
import assert from "node:assert/strict";
import { test } from "node:test";

import { contentLength, dayKey, daysAgo, linkify, safeHref } from "../../app/static/format.js";

test("http and https links are found; the text around them stays text", () => {
  assert.deepEqual(linkify("see https://example.org/a?b=1 now"), [
    { text: "see " },
    { text: "https://example.org/a?b=1", href: "https://example.org/a?b=1" },
    { text: " now" },
  ]);
  assert.deepEqual(linkify("no links here"), [{ text: "no links here" }]);
});

test("trailing punctuation and CJK punctuation end a link", () => {
  const parts = linkify("看这里：https://example.org/x。然后 (http://a.example/b).");
  const links = parts.filter((p) => p.href).map((p) => p.text);
  assert.deepEqual(links, ["https://example.org/x", "http://a.example/b"]);
  assert.equal(parts.map((p) => p.text).join(""), "看这里：https://example.org/x。然后 (http://a.example/b).");
});

test("a URL with its own parentheses keeps them", () => {
  const [link] = linkify("https://en.wikipedia.org/wiki/Knee_(joint)").filter((p) => p.href);
  assert.equal(link.text, "https://en.wikipedia.org/wiki/Knee_(joint)");
});

test("only http(s) is ever a link; markup stays text", () => {
  assert.equal(safeHref("javascript:alert(1)"), null);
  assert.equal(safeHref("data:text/html,<b>x</b>"), null);
  assert.equal(safeHref("https://ok.example/"), "https://ok.example/");
  const parts = linkify('javascript:alert(1) <img src=x onerror=alert(1)> "https://x.example"');
  assert.deepEqual(parts.filter((p) => p.href).map((p) => p.href), ["https://x.example/"]);
});

test("length counts characters as the server does (code points)", () => {
  assert.equal(contentLength("abc"), 3);
  assert.equal(contentLength("头疼"), 2);
  assert.equal(contentLength("😀👍"), 2);
});

test("days: local calendar keys and days ago", () => {
  const now = new Date(2026, 2, 1, 0, 30);
  assert.equal(dayKey(new Date(2026, 1, 28, 23, 59)), "2026-02-28");
  assert.equal(daysAgo(new Date(2026, 1, 28, 23, 59), now), 1);
  assert.equal(daysAgo(new Date(2026, 2, 1, 0, 1), now), 0);
  assert.equal(daysAgo(new Date(2026, 1, 20), now), 9);
});
