// Languages: Simplified Chinese and English. `t(key, params)` words a message in the current
// language; dates, times and durations go through Intl. The choice comes from the browser
// (navigator.languages) until the person picks one, which is remembered.

import { daysAgo } from "../format.js";
import en from "./en.js";
import zhCN from "./zh-CN.js";

export const CATALOGS = { en, "zh-CN": zhCN };
export const LANGUAGES = [
  { code: "zh-CN", name: "简体中文" },
  { code: "en", name: "English" },
];
export const LANG_KEY = "im.lang";

let current = "en";
const formats = new Map();

/** The language for a list of browser languages (and a remembered choice, which wins). */
export function detectLang(languages = [], remembered = null) {
  if (remembered && CATALOGS[remembered]) return remembered;
  for (const tag of languages) {
    const lower = String(tag).toLowerCase();
    if (lower.startsWith("zh")) return "zh-CN";
    if (lower.startsWith("en")) return "en";
  }
  return "en";
}

export function setLang(lang) {
  current = CATALOGS[lang] ? lang : "en";
  return current;
}

export const getLang = () => current;

function format(key, options) {
  const id = `${current}|${key}`;
  if (!formats.has(id)) formats.set(id, new Intl.DateTimeFormat(current, options));
  return formats.get(id);
}

/** The message for `key`; `{name}` placeholders filled; {one, other} chosen by params.count. */
export function t(key, params = {}) {
  let entry = CATALOGS[current][key] ?? en[key];
  if (entry === undefined) return key;
  if (typeof entry === "object") {
    const rule = new Intl.PluralRules(current).select(Number(params.count ?? 0));
    entry = entry[rule] ?? entry.other;
  }
  return entry.replace(/\{(\w+)\}/g, (whole, name) =>
    params[name] === undefined ? whole : String(params[name]),
  );
}

export const has = (key) => key in CATALOGS[current] || key in en;

/**
 * A failure in words: the server's code (`{"error": {"code"}}` or a WebSocket `error` event)
 * mapped to a localized sentence; then the HTTP status; never a stack or raw JSON.
 */
export function errorText(error) {
  if (!error) return t("error.UNKNOWN");
  const code = error.code;
  if (code === "VALIDATION_ERROR" && Array.isArray(error.details) && error.details.length) {
    const fields = error.details.map((d) => {
      const field = (d.loc || []).filter((p) => p !== "body" && p !== "query").at(-1);
      return field && has(`field.${field}`) ? t(`field.${field}`) : field || "";
    });
    return t("error.VALIDATION_ERROR_FIELDS", { fields: [...new Set(fields)].filter(Boolean).join(t("list.sep")) });
  }
  if (code === "RATE_LIMITED" && (error.retry_after || error.details?.retry_after)) {
    return t("error.RATE_LIMITED_WAIT", { seconds: error.retry_after || error.details.retry_after });
  }
  // HTTP_ERROR is an answer without a code (a proxy's page, say a 413): its status says more.
  if (code && code !== "HTTP_ERROR" && has(`error.${code}`)) return t(`error.${code}`);
  if (error.status !== undefined && has(`error.http.${error.status}`)) {
    return t(`error.http.${error.status}`);
  }
  if (code && has(`error.${code}`)) return t(`error.${code}`);
  return t("error.UNKNOWN_STATUS", { status: error.status ?? code ?? "?" });
}

export function formatTime(iso) {
  return iso ? format("time", { hour: "2-digit", minute: "2-digit" }).format(new Date(iso)) : "";
}

export function formatFull(iso) {
  return iso
    ? format("full", { dateStyle: "medium", timeStyle: "medium" }).format(new Date(iso))
    : "";
}

/** "Today" / "Yesterday" / "今天" / "昨天", capitalised as a label. */
function relativeDay(offset) {
  const text = new Intl.RelativeTimeFormat(current, { numeric: "auto" }).format(offset, "day");
  return text.charAt(0).toLocaleUpperCase(current) + text.slice(1);
}

/** A day separator: today / yesterday in words, then the weekday this week, else the date. */
export function formatDay(iso, now = new Date()) {
  const days = daysAgo(iso, now);
  const date = new Date(iso);
  if (days === 0 || days === 1) return relativeDay(-days);
  if (days > 1 && days < 7) return format("weekday", { weekday: "long" }).format(date);
  const sameYear = date.getFullYear() === now.getFullYear();
  return format(sameYear ? "dayShort" : "dayLong", {
    month: "long",
    day: "numeric",
    ...(sameYear ? {} : { year: "numeric" }),
    weekday: "short",
  }).format(date);
}

/** Time in a list: the time today, else the date. */
export function formatListTime(iso, now = new Date()) {
  if (!iso) return "";
  if (daysAgo(iso, now) === 0) return formatTime(iso);
  if (daysAgo(iso, now) === 1) return relativeDay(-1);
  return format("listDay", { month: "numeric", day: "numeric" }).format(new Date(iso));
}

export function formatDuration(ms) {
  if (ms === null || ms === undefined) return "—";
  const unit = (value, name) =>
    new Intl.NumberFormat(current, { style: "unit", unit: name, maximumFractionDigits: 1 }).format(value);
  return ms < 1000 ? unit(ms, "millisecond") : unit(ms / 1000, "second");
}

export const formatNumber = (n) => new Intl.NumberFormat(current).format(n);
