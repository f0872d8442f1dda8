// Uploads in the conversation (SPEC §16): every way in (the attach button, a paste into the
// composer, a drop onto the conversation) takes the same path: upload with progress, then send
// the attachment as an IMAGE or FILE message. The composer shows the progress bar with a
// cancel button; a failure is worded by errorText in a toast. One upload job per group at a
// time; several files from one paste or drop go one after another.

import { html, useEffect, useRef, useState } from "../html.js";
import { formatNumber, t } from "../i18n/index.js";
import { carriesFiles, createUploads, filesFrom } from "../upload.js";

/** The uploads of this tab, shared by the composer, the attach button and the drop target. */
export const uploads = createUploads();

/** Upload `files` to the group one after another, each sent as a message once uploaded. */
export async function uploadFiles({ ctl, store }, groupId, files) {
  if (!files.length) return;
  const job = uploads.begin(groupId, files);
  if (!job) {
    store.toast("info", "attach.busy");
    return;
  }
  try {
    for (let index = 0; index < files.length; index += 1) {
      job.next(index);
      const file = files[index];
      try {
        const uploaded = await ctl.api.uploadAttachment(groupId, file, {
          onProgress: job.progress,
          signal: job.signal,
        });
        job.progress(1, 1);
        const { attachment_id, name, mime } = uploaded;
        const result = ctl.send("", { group_id: groupId, attachment: { attachment_id, name, mime } });
        if (!result.ok) store.toast("error", "attach.failed_named", { name: file.name, reason: result.reason });
      } catch (error) {
        if (error?.cancelled) {
          store.toast("info", "attach.cancelled");
          return;
        }
        ctl.report("attach.failed_named", { name: file.name })(error);
      }
    }
  } finally {
    job.end();
  }
}

/** What is being uploaded to the group (re-rendering on every change), or null. */
export function useUpload(groupId) {
  const [, setVersion] = useState(0);
  useEffect(() => uploads.subscribe(() => setVersion((n) => n + 1)), []);
  return uploads.of(groupId);
}

/** The composer's upload line: the file's name, a progress bar and its percentage, cancel. */
export function UploadStatus({ groupId }) {
  const upload = useUpload(groupId);
  if (!upload) return null;
  const percent = formatNumber(upload.percent);
  return html`<div id="upload-status" class="upload-status" role="status" data-percent=${upload.percent}>
    <span class="upload-name">${upload.count > 1
      ? t("upload.name_of", { name: upload.name, index: formatNumber(upload.index + 1), count: formatNumber(upload.count) })
      : upload.name}</span>
    <progress id="upload-progress" max="100" value=${upload.percent}
      aria-label=${t("upload.progress", { name: upload.name })}>${t("upload.percent", { percent })}</progress>
    <span class="upload-percent" aria-hidden="true">${t("upload.percent", { percent })}</span>
    <button id="upload-cancel" type="button" class="link" onClick=${() => uploads.cancel(groupId)}>
      ${t("upload.cancel")}</button>
  </div>`;
}

/** A paste handler for the text box: pasted files are uploaded, pasted text stays text (and
 * while a message is being edited, a file is not sent: an edit changes words only). */
export function pasteHandler(app, groupId, { editing = false } = {}) {
  return (event) => {
    if (editing) return;
    const files = filesFrom(event.clipboardData);
    if (!files.length) return;
    event.preventDefault();
    uploadFiles(app, groupId, files);
  };
}

/**
 * Dropping files onto an element: {dragging, handlers} (spread the handlers on it and show a
 * drop target while `dragging`). A drag of text or a link is left alone.
 */
export function useFileDrop(app, groupId) {
  const [dragging, setDragging] = useState(false);
  const depth = useRef(0); // dragenter/dragleave pairs of the element's children
  const reset = () => {
    depth.current = 0;
    setDragging(false);
  };
  // A file dropped beside the drop target must not replace the app by opening in the tab.
  useEffect(() => {
    const refuse = (event) => {
      if (event.defaultPrevented || !carriesFiles(event.dataTransfer)) return;
      event.preventDefault();
      if (event.type === "dragover") event.dataTransfer.dropEffect = "none";
      if (event.type === "drop") reset();
    };
    window.addEventListener("dragover", refuse);
    window.addEventListener("drop", refuse);
    window.addEventListener("dragend", reset);
    return () => {
      window.removeEventListener("dragover", refuse);
      window.removeEventListener("drop", refuse);
      window.removeEventListener("dragend", reset);
    };
  }, []);
  const handlers = {
    onDragEnter(event) {
      if (!carriesFiles(event.dataTransfer)) return;
      event.preventDefault();
      depth.current += 1;
      setDragging(true);
    },
    onDragOver(event) {
      if (!carriesFiles(event.dataTransfer)) return;
      event.preventDefault(); // allows the drop
      event.dataTransfer.dropEffect = "copy";
      if (!dragging) setDragging(true);
    },
    onDragLeave(event) {
      if (!carriesFiles(event.dataTransfer)) return;
      depth.current = Math.max(0, depth.current - 1);
      if (depth.current === 0) setDragging(false);
    },
    onDrop(event) {
      if (!carriesFiles(event.dataTransfer)) return;
      event.preventDefault(); // never open the file in the tab instead
      reset();
      uploadFiles(app, groupId, filesFrom(event.dataTransfer));
    },
  };
  return { dragging, handlers };
}

export function DropTarget() {
  return html`<div id="drop-target" class="drop-target" aria-hidden="true">
    <p>${t("upload.drop_here")}</p>
  </div>`;
}
