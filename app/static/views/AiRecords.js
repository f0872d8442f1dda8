// Doctors: the group's AI interaction records, newest first, a page at a time, each with the
// question and the answer. A table on desktop; on a phone every row is a card (CSS).

import { html, useEffect, useRef, useState } from "../html.js";
import { errorText, formatDuration, formatNumber, t } from "../i18n/index.js";
import { Time, useApp } from "./common.js";

function question(record) {
  try {
    return JSON.parse(record.request_content)?.message ?? record.request_content;
  } catch {
    return record.request_content || "";
  }
}

function Row({ record: r }) {
  return html`<tr data-record-id=${r.record_id}>
    <td data-label=${t("records.when")}><${Time} iso=${r.created_at} text=${undefined} /></td>
    <td data-label=${t("records.status")}><span class=${`status status-${r.status}`}>${t(`records.status.${r.status}`)}</span></td>
    <td data-label=${t("records.duration")} class="duration">${formatDuration(r.duration_ms)}</td>
    <td data-label=${t("records.attempts")}>${r.attempts ?? "—"}</td>
    <td data-label=${t("records.error")} class="error-cell">${r.error_message || "—"}</td>
    <td data-label=${t("records.exchange")} class="exchange">
      <details>
        <summary>${t("records.show")}</summary>
        <p><strong>${t("records.question")}</strong> ${question(r)}</p>
        <p><strong>${t("records.answer")}</strong> ${r.response_content || "—"}</p>
      </details>
    </td>
  </tr>`;
}

export function AiRecords({ groupId, onClose }) {
  const { ctl } = useApp();
  const dialog = useRef(null);
  const [page, setPage] = useState(1);
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);

  async function load(wanted) {
    setError(null);
    try {
      const answer = await ctl.aiRecordsPage(wanted);
      setData(answer);
      setPage(answer.page);
    } catch (failure) {
      setError(failure);
    }
  }

  useEffect(() => {
    dialog.current.showModal();
    load(1);
  }, [groupId]);

  const pages = data ? Math.max(1, Math.ceil(data.total / data.page_size)) : 1;
  let summary = t("records.loading");
  if (error) summary = t("toast.with_reason", { what: t("toast.load_records_failed"), why: errorText(error) });
  else if (data) summary = data.total === 0 ? t("records.none") : t("records.count", { count: data.total, n: formatNumber(data.total) });
  return html`<dialog id="ai-records-dialog" class="dialog" aria-labelledby="ai-records-title" ref=${dialog}
      onClose=${onClose} onCancel=${onClose}>
    <header class="dialog-head">
      <h2 id="ai-records-title">${t("records.title")}</h2>
      <button id="ai-records-refresh" type="button" onClick=${() => load(page)}>${t("action.refresh")}</button>
      <button id="ai-records-close" type="button" onClick=${() => dialog.current.close()}>${t("action.close")}</button>
    </header>
    <p id="ai-records-summary" class="hint" role="status">${summary}</p>
    <div class="table-wrap">
      <table class="records">
        <thead><tr>
          <th scope="col">${t("records.when")}</th><th scope="col">${t("records.status")}</th>
          <th scope="col">${t("records.duration")}</th><th scope="col">${t("records.attempts")}</th>
          <th scope="col">${t("records.error")}</th><th scope="col">${t("records.exchange")}</th>
        </tr></thead>
        <tbody id="ai-records-body">
          ${(data?.records || []).map((r) => html`<${Row} key=${r.record_id} record=${r} />`)}
        </tbody>
      </table>
    </div>
    <footer class="dialog-foot">
      <button id="ai-records-prev" type="button" disabled=${page <= 1} onClick=${() => load(page - 1)}>${t("records.newer")}</button>
      <span id="ai-records-page">${t("records.page", { page: formatNumber(page), pages: formatNumber(pages) })}</span>
      <button id="ai-records-next" type="button" disabled=${page >= pages} onClick=${() => load(page + 1)}>${t("records.older")}</button>
    </footer>
  </dialog>`;
}
