// Attachments (SPEC §12, §16): the composer's attach button (upload with progress, then send
// the attachment as an IMAGE or FILE message: Uploads.js) and how a message shows its
// attachment (an image's thumbnail opening the full picture in the lightbox, or a file as a
// card: icon, name, kind and size, download). Links are the server's short-lived signed URLs,
// so <img src> needs no header.

import { html, useRef, useState } from "../html.js";
import { formatNumber, t } from "../i18n/index.js";
import { fileKind } from "../upload.js";
import { useApp } from "./common.js";
import { Lightbox } from "./Lightbox.js";
import { uploadFiles, useUpload } from "./Uploads.js";

// Drawn here rather than as emoji: not every device has an emoji font.
const paperclip = () => html`<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2"
  stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">
  <path d="M21 11.5l-8.6 8.6a5 5 0 0 1-7.1-7.1l8.6-8.6a3.3 3.3 0 0 1 4.7 4.7l-8.6 8.6a1.7 1.7 0 0 1-2.4-2.4l7.9-7.9" />
</svg>`;
const documentIcon = () => html`<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2"
  stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">
  <path d="M14 3H6a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V9z" /><path d="M14 3v6h6M8 13h8M8 17h6" />
</svg>`;

const ACCEPT = "image/jpeg,image/png,image/webp,image/gif,image/heic,.heic,application/pdf,text/plain,.txt";

export function fileSize(bytes) {
  if (bytes < 1024) return t("attach.bytes", { count: formatNumber(bytes) });
  if (bytes < 1024 * 1024) return t("attach.kib", { count: formatNumber(Math.round(bytes / 1024)) });
  return t("attach.mib", { count: formatNumber(Math.round((bytes / (1024 * 1024)) * 10) / 10) });
}

export function AttachButton({ groupId }) {
  const app = useApp();
  const input = useRef(null);
  const busy = useUpload(groupId) !== null;

  function onChange(event) {
    const files = Array.from(event.currentTarget.files || []);
    event.currentTarget.value = ""; // the same file can be picked again
    uploadFiles(app, groupId, files);
  }

  return html`<label id="attach" class=${`attach${busy ? " busy" : ""}`} title=${t("attach.label")}>
    ${busy ? html`<span aria-hidden="true">…</span>` : paperclip()}
    <span class="sr-only">${busy ? t("attach.uploading") : t("attach.label")}</span>
    <input id="attach-input" type="file" accept=${ACCEPT} ref=${input} disabled=${busy} multiple
      class="sr-only" onChange=${onChange} />
  </label>`;
}

/** A thumbnail that opens the full picture in the lightbox (a new tab with Ctrl/Cmd/Shift). */
function ImageAttachment({ attachment: a }) {
  const [open, setOpen] = useState(false);
  const thumb = useRef(null);
  function onClick(event) {
    if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    setOpen(true);
  }
  function onClose() {
    setOpen(false);
    thumb.current?.focus();
  }
  // Its size is known before it loads, so the timeline does not jump when it does.
  const width = a.width ? Math.min(320, a.width) : undefined;
  const height = width && a.height ? Math.round((a.height * width) / a.width) : undefined;
  return html`<a class="attachment image" href=${a.url} target="_blank" rel="noopener" ref=${thumb}
      title=${t("lightbox.open", { name: a.name })} aria-haspopup="dialog" onClick=${onClick}>
      <img src=${a.thumbnail_url} alt=${a.name} loading="lazy" width=${width} height=${height} />
    </a>${open ? html`<${Lightbox} attachment=${a} onClose=${onClose} />` : null}`;
}

export function AttachmentView({ attachment: a }) {
  if (a.thumbnail_url) return html`<${ImageAttachment} attachment=${a} />`;
  const kind = fileKind(a.name, a.mime);
  return html`<a class="attachment file" href=${a.url} download=${a.name} rel="noopener"
      title=${t("attach.download_named", { name: a.name })}>
    <span class="attachment-icon" data-kind=${kind}>${documentIcon()}</span>
    <span class="attachment-text">
      <span class="attachment-name">${a.name}</span>
      <span class="attachment-meta">
        ${kind ? html`<span class="attachment-kind">${kind}</span>` : null}
        <span class="attachment-size">${fileSize(a.size)}</span>
      </span>
    </span>
    <span class="attachment-download">${t("attach.download")}</span>
  </a>`;
}
