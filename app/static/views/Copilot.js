// Doctors: the AI copilot section of the details pane (SPEC §15): "Summarise" and "Suggest a
// reply", each record's text as it streams in, and "Use" to put a suggestion into the composer.

import { html, useEffect, useState } from "../html.js";
import { t } from "../i18n/index.js";
import { Time, useApp } from "./common.js";

function Record({ groupId, record: r }) {
  const { store, ctl } = useApp();
  function use() {
    ctl.useSuggestion(groupId, r.content);
    if (store.state.view === "details") ctl.back(); // a phone: on to the message box
    store.toast("info", "toast.copilot_used");
  }
  return html`<li class="copilot-record" data-record-id=${r.record_id} data-kind=${r.kind} data-status=${r.status}>
    <div class="copilot-head">
      <strong>${t(`copilot.kind.${r.kind}`)}</strong>
      <span class=${`status status-${r.status}`}>${t(`copilot.status.${r.status}`)}</span>
      <${Time} iso=${r.created_at} text=${undefined} />
    </div>
    ${r.content ? html`<p class="copilot-text">${r.content}</p>` : null}
    ${r.error ? html`<p class="copilot-error">${r.error}</p>` : null}
    ${r.kind === "SUGGESTION" && r.status === "SUCCESS"
      ? html`<button type="button" class="copilot-use" onClick=${use}>${t("copilot.use")}</button>`
      : null}
  </li>`;
}

export function CopilotSection({ group }) {
  const { ctl } = useApp();
  const groupId = group.group_id;
  const [busy, setBusy] = useState(false);
  // Read again when the AI is switched off: the hand-over's summary is on its way.
  useEffect(() => {
    ctl.loadCopilot(groupId).catch(ctl.report("toast.copilot_load_failed"));
  }, [groupId, group.ai_enabled]);
  async function ask(what) {
    setBusy(true);
    try {
      await ctl.askCopilot(groupId, what);
    } catch (error) {
      ctl.report(`toast.copilot_${what}_failed`)(error);
    } finally {
      setBusy(false);
    }
  }
  const records = ctl.copilotRecords(groupId);
  return html`<section id="copilot" class="details-section" aria-labelledby="copilot-title">
    <h3 id="copilot-title">${t("copilot.section")}</h3>
    <p class="hint">${t("copilot.hint")}</p>
    <div class="copilot-actions">
      <button id="copilot-summarise" type="button" disabled=${busy} onClick=${() => ask("summary")}>${t("copilot.summarise")}</button>
      <button id="copilot-suggest" type="button" disabled=${busy} onClick=${() => ask("suggest")}>${t("copilot.suggest")}</button>
    </div>
    ${records.length
      ? html`<ul id="copilot-records" class="copilot-records">
          ${records.map((r) => html`<${Record} key=${r.record_id} groupId=${groupId} record=${r} />`)}
        </ul>`
      : html`<p id="copilot-empty" class="hint">${t("copilot.none")}</p>`}
  </section>`;
}
