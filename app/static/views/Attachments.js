// Attachments (SPEC §12): the composer's attach button (upload, then send the attachment as an
// IMAGE or FILE message) and how a message shows its attachment (an image's thumbnail opening
// the full picture, or a file's name and size as a download link). Links are the server's
// short-lived signed URLs, so <img src> needs no header.

import { html, useRef, useState } from "../html.js";
import { formatNumber, t } from "../i18n/index.js";
import { useApp } from "./common.js";

const ACCEPT = "image/jpeg,image/png,image/webp,image/gif,image/heic,.heic,application/pdf,text/plain,.txt";

export function fileSize(bytes) {
  if (bytes < 1024) return t("attach.bytes", { count: formatNumber(bytes) });
  if (bytes < 1024 * 1024) return t("attach.kib", { count: formatNumber(Math.round(bytes / 1024)) });
  return t("attach.mib", { count: formatNumber(Math.round((bytes / (1024 * 1024)) * 10) / 10) });
}

export function AttachButton({ groupId }) {
  const { ctl, store } = useApp();
  const input = useRef(null);
  const [busy, setBusy] = useState(false);

  async function onChange(event) {
    const file = event.currentTarget.files?.[0];
    event.currentTarget.value = ""; // the same file can be picked again
    if (!file) return;
    setBusy(true);
    try {
      const uploaded = await ctl.api.uploadAttachment(groupId, file);
      const { attachment_id, name, mime } = uploaded;
      const result = ctl.send("", { attachment: { attachment_id, name, mime } });
      if (!result.ok) store.toast("error", "attach.failed", { reason: result.reason });
    } catch (error) {
      ctl.report("attach.failed")(error);
    } finally {
      setBusy(false);
    }
  }

  return html`<label id="attach" class=${`attach${busy ? " busy" : ""}`} title=${t("attach.label")}>
    <span aria-hidden="true">${busy ? "…" : "📎"}</span>
    <span class="sr-only">${busy ? t("attach.uploading") : t("attach.label")}</span>
    <input id="attach-input" type="file" accept=${ACCEPT} ref=${input} disabled=${busy}
      class="sr-only" onChange=${onChange} />
  </label>`;
}

export function AttachmentView({ attachment: a }) {
  if (a.thumbnail_url) {
    return html`<a class="attachment image" href=${a.url} target="_blank" rel="noopener" title=${a.name}>
      <img src=${a.thumbnail_url} alt=${a.name} loading="lazy"
        width=${a.width ? Math.min(320, a.width) : undefined} />
    </a>`;
  }
  return html`<a class="attachment file" href=${a.url} download=${a.name} rel="noopener">
    <span aria-hidden="true">📄</span>
    <span class="attachment-name">${a.name}</span>
    <span class="attachment-size">${fileSize(a.size)}</span>
  </a>`;
}
