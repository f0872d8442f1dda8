// My sessions: every device signed in to my account (browser, when it signed in, last used);
// any other one can be ended here (its tokens stop working, its sockets close).

import { html, useEffect, useState } from "../html.js";
import { errorText, formatFull, t } from "../i18n/index.js";
import { Dialog, useApp } from "./common.js";

/** A short name for a user agent string ("Chrome on Linux"); the whole string is its title. */
export function deviceName(agent) {
  if (!agent) return t("sessions.unknown_device");
  const browser = [["Edg/", "Edge"], ["Firefox/", "Firefox"], ["Chrome/", "Chrome"], ["Safari/", "Safari"]]
    .find(([mark]) => agent.includes(mark))?.[1];
  const system = [["Android", "Android"], ["iPhone", "iOS"], ["iPad", "iOS"], ["Windows", "Windows"],
    ["Mac OS", "macOS"], ["Linux", "Linux"]].find(([mark]) => agent.includes(mark))?.[1];
  if (browser && system) return t("sessions.device", { browser, system });
  return browser || system || agent.slice(0, 40);
}

export function Sessions({ onClose }) {
  const { ctl } = useApp();
  const [sessions, setSessions] = useState(null);
  const [error, setError] = useState(null);

  async function load() {
    setError(null);
    try {
      setSessions(await ctl.listSessions());
    } catch (failure) {
      setError(failure);
    }
  }
  useEffect(() => {
    load();
  }, []);

  async function end(session) {
    try {
      await ctl.endSession(session.session_id);
    } catch (failure) {
      ctl.report("sessions.end_failed")(failure);
    }
    load();
  }

  return html`<${Dialog} id="sessions-dialog" title=${t("sessions.title")} onClose=${onClose}>
    <p class="hint">${t("sessions.intro")}</p>
    ${error ? html`<p class="hint" role="alert">${errorText(error)}</p>` : null}
    ${sessions === null && !error ? html`<p class="hint">${t("records.loading")}</p>` : null}
    <ul id="session-list" class="session-list">
      ${(sessions || []).map((s) => html`<li key=${s.session_id} data-session-id=${s.session_id}
          data-current=${String(s.current)}>
        <div class="session-line">
          <strong title=${s.user_agent || ""}>${deviceName(s.user_agent)}</strong>
          ${s.current ? html`<span class="chip">${t("sessions.this_device")}</span>` : null}
        </div>
        <div class="hint">${t("sessions.times", { created: formatFull(s.created_at), used: formatFull(s.last_used_at) })}</div>
        ${s.current
          ? null
          : html`<button type="button" class="link danger" onClick=${() => end(s)}>${t("sessions.end")}</button>`}
      </li>`)}
    </ul>
  </${Dialog}>`;
}
