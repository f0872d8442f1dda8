// Pure text rules shared by the store and the views: content length as the server counts it,
// links found in plain text, and calendar days. No DOM, no network; unit-tested with node.

export const MAX_CONTENT_CHARS = 5000;
export const COUNTER_FROM_CHARS = 4000;

/** Characters as the server counts them (Unicode code points, not UTF-16 units). */
export function contentLength(text) {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

// A URL ends at whitespace, angle brackets, quotes, or CJK punctuation and full-width forms.
const URL_RE = /\bhttps?:\/\/[^\s<>"'\u3000-\u303f\uff00-\uffef]+/gi;
const TRAILING = /[.,;:!?)\]}'"]+$/;

/** Safe http(s) link target or null: anything else (javascript:, data:…) is never a link. */
export function safeHref(candidate) {
  try {
    const url = new URL(candidate);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

/**
 * Split plain text into strings and links: [{text}, {text, href}, …]. The text is never parsed
 * as HTML; the view renders each part as a text node or an <a> with that text.
 */
export function linkify(text) {
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(URL_RE)) {
    let raw = match[0];
    // "(see https://x.org/a)" keeps its ")" outside unless the URL opened a "(" itself.
    const trailing = raw.match(TRAILING)?.[0] || "";
    let keep = raw.length - trailing.length;
    if (trailing.startsWith(")") && raw.slice(0, keep).includes("(")) keep += 1;
    raw = raw.slice(0, keep);
    const href = safeHref(raw);
    if (!href) continue;
    if (match.index > last) parts.push({ text: text.slice(last, match.index) });
    parts.push({ text: raw, href });
    last = match.index + raw.length;
  }
  if (last < text.length) parts.push({ text: text.slice(last) });
  return parts;
}

/** The local calendar day of an instant, as a sortable key "2026-11-22". */
export function dayKey(value) {
  const date = value instanceof Date ? value : new Date(value);
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** Whole calendar days from `value`'s day to `now`'s day (0 today, 1 yesterday…). */
export function daysAgo(value, now = new Date()) {
  const day = new Date(value);
  const a = Date.UTC(day.getFullYear(), day.getMonth(), day.getDate());
  const b = Date.UTC(now.getFullYear(), now.getMonth(), now.getDate());
  return Math.round((b - a) / 86_400_000);
}
