// Uploads (SPEC §16): the files carried by a paste or a drop, the percentage of an upload, an
// XMLHttpRequest with upload progress and cancel (fetch reports no upload progress), and the
// per-group tracker of what is being uploaded that the composer shows. No DOM: the request
// class is handed in, and every change of the tracker ends with its listeners being called.

/** Whether a drag carries files (a drag of text or a link does not make a drop target). */
export function carriesFiles(transfer) {
  return Array.from(transfer?.types || []).includes("Files");
}

/** The files of a DataTransfer (a drop) or of clipboardData (a paste), in order, never null. */
export function filesFrom(transfer) {
  if (!transfer) return [];
  const fromItems = Array.from(transfer.items || [])
    .filter((item) => item.kind === "file")
    .map((item) => item.getAsFile())
    .filter(Boolean);
  if (fromItems.length) return fromItems;
  return Array.from(transfer.files || []).filter(Boolean);
}

/** A whole percentage from 0 to 100 (0 while the size is not known). */
export function percentOf(loaded, total) {
  if (!(total > 0) || !(loaded > 0)) return 0;
  return Math.min(100, Math.max(0, Math.floor((loaded / total) * 100)));
}

/** Thrown by `sendWithProgress` when the person cancelled. */
export class UploadCancelled extends Error {
  constructor() {
    super("upload cancelled");
    this.name = "UploadCancelled";
    this.cancelled = true;
  }
}

/**
 * One request with upload progress: resolves {status, data, retryAfter} for any HTTP answer
 * (data: the JSON body or null); rejects with UploadCancelled when `signal` aborts, and with
 * {network: true} when no answer came. `onProgress(loaded, total)` follows the request body.
 */
export function sendWithProgress({ XHR, method, url, headers = {}, body, onProgress, signal }) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new UploadCancelled());
      return;
    }
    const xhr = new XHR();
    xhr.open(method, url);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.responseType = "text";
    const onAbort = () => xhr.abort();
    signal?.addEventListener("abort", onAbort, { once: true });
    const done = () => signal?.removeEventListener("abort", onAbort);
    if (onProgress && xhr.upload) {
      xhr.upload.addEventListener("progress", (e) => onProgress(e.loaded, e.lengthComputable ? e.total : 0));
    }
    xhr.addEventListener("load", () => {
      done();
      let data = null;
      try {
        data = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        data = null;
      }
      resolve({ status: xhr.status, data, retryAfter: Number(xhr.getResponseHeader("Retry-After")) || null });
    });
    xhr.addEventListener("abort", () => {
      done();
      reject(new UploadCancelled());
    });
    for (const kind of ["error", "timeout"]) {
      xhr.addEventListener(kind, () => {
        done();
        reject(Object.assign(new Error("network"), { network: true }));
      });
    }
    xhr.send(body);
  });
}

/**
 * What is being uploaded, per group: {name, loaded, total, percent, index, count} or nothing.
 * `begin(groupId, files)` returns a job whose `progress`, `next` and `end` update it; one job
 * per group at a time (a second one waits its turn by being refused: `begin` returns null).
 */
export function createUploads() {
  const jobs = new Map(); // groupId -> {state, controller}
  const listeners = new Set();
  const emit = () => {
    for (const listener of listeners) listener();
  };

  function begin(groupId, files) {
    if (jobs.has(groupId) || !files.length) return null;
    const controller = new AbortController();
    const entry = { controller, state: null };
    jobs.set(groupId, entry);
    const job = {
      signal: controller.signal,
      next(index) {
        const file = files[index];
        entry.state = { name: file.name, loaded: 0, total: file.size || 0, percent: 0, index, count: files.length };
        emit();
      },
      progress(loaded, total) {
        if (!entry.state) return;
        const size = total || entry.state.total;
        entry.state = { ...entry.state, loaded, total: size, percent: percentOf(loaded, size) };
        emit();
      },
      end() {
        if (jobs.get(groupId) === entry) jobs.delete(groupId);
        emit();
      },
    };
    job.next(0);
    return job;
  }

  return {
    begin,
    of: (groupId) => jobs.get(groupId)?.state || null,
    busy: (groupId) => jobs.has(groupId),
    cancel(groupId) {
      jobs.get(groupId)?.controller.abort();
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** A file's kind in a few letters for its card ("PDF", "TXT"), from its name or else its type. */
export function fileKind(name, mime = "") {
  const ext = /\.([A-Za-z0-9]{1,5})$/.exec(String(name || ""))?.[1];
  if (ext) return ext.toUpperCase();
  const sub = /^[\w-]+\/(?:x-)?([\w-]{1,5})$/.exec(String(mime || ""))?.[1];
  return sub ? sub.toUpperCase() : "";
}
