// Small view pieces shared by the panes: the app context, role badges, times, text with safe
// links, countdown ticks, toasts. Text is always rendered as text (htm/Preact escape it).

import { mentionParts } from "../compose.js";
import { linkify } from "../format.js";
import { html, createContext, useContext, useEffect, useRef, useState } from "../html.js";
import { errorText, formatFull, formatTime, t } from "../i18n/index.js";

/** {store, ctl, lang, setLang} for every view. */
export const AppContext = createContext(null);
export const useApp = () => useContext(AppContext);

export function roleLabel(role) {
  return role ? t(`role.${role}`) : "";
}

export function Badge({ role, id }) {
  if (!role) return null;
  return html`<span id=${id} class=${`badge role-${role}`}>${roleLabel(role)}</span>`;
}

export function Time({ iso, text }) {
  if (!iso) return null;
  return html`<time dateTime=${iso} title=${formatFull(iso)}>${text ?? formatTime(iso)}</time>`;
}

/** Plain text with http(s) links made clickable and the `@names` of mentioned users
 * highlighted (mine more); never parsed as HTML. */
export function RichText({ text, mentions = null, nameOf = null, meId = null }) {
  return linkify(text || "").map((part) => {
    if (part.href) {
      return html`<a href=${part.href} target="_blank" rel="noopener noreferrer">${part.text}</a>`;
    }
    if (!mentions?.length || !nameOf) return part.text;
    return mentionParts(part.text, mentions, nameOf).map((piece) =>
      piece.userId
        ? html`<span class=${`mention${piece.userId === meId ? " me" : ""}`} data-user-id=${piece.userId}>${piece.text}</span>`
        : piece.text,
    );
  });
}

/** A modal dialog, open while mounted; `onClose` when closed (button, Escape). */
export function Dialog({ id, title, onClose, wide = false, children }) {
  const ref = useRef(null);
  useEffect(() => {
    if (!ref.current.open) ref.current.showModal();
  }, []);
  return html`<dialog id=${id} class=${`dialog${wide ? "" : " small"}`} aria-labelledby=${`${id}-title`}
      ref=${ref} onClose=${onClose}>
    <header class="dialog-head">
      <h2 id=${`${id}-title`}>${title}</h2>
      <button id=${`${id}-close`} type="button" onClick=${() => ref.current.close()}>${t("action.close")}</button>
    </header>
    ${children}
  </dialog>`;
}

/** Copy a text; where the clipboard is refused, select it in `fallback` (an input). */
export async function copyText(store, text, fallback) {
  try {
    await navigator.clipboard.writeText(text);
    store.toast("info", "toast.copied");
  } catch {
    fallback?.select();
    store.toast("info", "toast.copy_selected");
  }
}

/** Re-render every `ms` while `active` (countdowns). */
export function useTick(active, ms = 1000) {
  const [, setTick] = useState(0);
  useEffect(() => {
    if (!active) return undefined;
    const timer = setInterval(() => setTick((n) => n + 1), ms);
    return () => clearInterval(timer);
  }, [active, ms]);
}

export const secondsUntil = (at) => Math.max(0, Math.ceil((at - Date.now()) / 1000));

function Toast({ toast, onDismiss }) {
  useEffect(() => {
    const timer = setTimeout(onDismiss, toast.kind === "error" ? 8000 : 3500);
    return () => clearTimeout(timer);
  }, [toast.id]);
  const text = toast.error
    ? t("toast.with_reason", { what: t(toast.key, toast.params), why: errorText(toast.error) })
    : t(toast.key, toast.params);
  return html`<div class=${`toast ${toast.kind}`} role=${toast.kind === "error" ? "alert" : "status"}>
    <span>${text}</span>
    <button type="button" class="link" aria-label=${t("action.dismiss")} onClick=${onDismiss}>×</button>
  </div>`;
}

export function Toasts() {
  const { store } = useApp();
  return html`<div id="toasts" class="toasts" aria-live="assertive">
    ${store.state.toasts.map(
      (toast) => html`<${Toast} key=${toast.id} toast=${toast} onDismiss=${() => store.dismissToast(toast.id)} />`,
    )}
  </div>`;
}
