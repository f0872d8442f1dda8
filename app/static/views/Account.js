// The top bar's account menu: my name and role, my user ID, profile and password, my
// sessions, inviting a colleague (doctors), language, notifications opt-in, sign out. Also the
// language picker used on the welcome page.

import { html, useEffect, useRef, useState } from "../html.js";
import { LANGUAGES, t } from "../i18n/index.js";
import { disablePush, enablePush, pushSupported } from "../push.js";
import { Badge, useApp } from "./common.js";
import { DoctorInvite } from "./DoctorInvite.js";
import { Profile } from "./Profile.js";
import { Sessions } from "./Sessions.js";

const DIALOGS = { profile: Profile, sessions: Sessions, colleague: DoctorInvite };

export function LanguagePicker({ id }) {
  const { lang, setLang } = useApp();
  return html`<label class="lang-picker">
    <span class="sr-only">${t("settings.language")}</span>
    <select id=${id} aria-label=${t("settings.language")} value=${lang}
      onChange=${(e) => setLang(e.currentTarget.value)}>
      ${LANGUAGES.map((l) => html`<option value=${l.code} lang=${l.code}>${l.name}</option>`)}
    </select>
  </label>`;
}

function NotificationsToggle() {
  const { notifications, ctl, store, lang } = useApp();
  const [, redraw] = useState(0);
  if (!notifications.supported()) return html`<p class="hint">${t("notify.unsupported")}</p>`;
  const on = notifications.enabled();
  const denied = notifications.permission() === "denied";
  // Web Push too, where the browser and the server offer it: told even with no tab open.
  async function push(turnOn) {
    if (!pushSupported()) return;
    try {
      if (turnOn) await enablePush(ctl.api, lang);
      else await disablePush(ctl.api);
    } catch {
      store.toast("error", "push.failed");
    }
  }
  async function toggle() {
    if (on) {
      notifications.disable();
      await push(false);
    } else if (await notifications.enable()) await push(true);
    redraw((n) => n + 1);
  }
  return html`<div class="menu-row">
    <button id="notify-toggle" type="button" aria-pressed=${on ? "true" : "false"} disabled=${denied && !on}
      onClick=${toggle}>${on ? t("notify.disable") : t("notify.enable")}</button>
    ${denied ? html`<p class="hint">${t("notify.denied")}</p>` : null}
  </div>`;
}

export function AccountMenu() {
  const { store, ctl } = useApp();
  const me = store.state.session.user;
  const menu = useRef(null);
  const [dialog, setDialog] = useState(null);
  const open = (name) => {
    menu.current.open = false;
    setDialog(name);
  };
  const Open = dialog ? DIALOGS[dialog] : null;
  // A click or Escape outside the open menu closes it.
  useEffect(() => {
    const close = (event) => {
      const open = menu.current?.open;
      if (!open) return;
      if (event.type === "keydown" ? event.key === "Escape" : !menu.current.contains(event.target)) {
        menu.current.open = false;
      }
    };
    document.addEventListener("click", close);
    document.addEventListener("keydown", close);
    return () => {
      document.removeEventListener("click", close);
      document.removeEventListener("keydown", close);
    };
  }, []);

  async function copyId(event) {
    try {
      await navigator.clipboard.writeText(me.user_id);
      store.toast("info", "toast.id_copied");
    } catch {
      const code = event.currentTarget.parentElement.querySelector("code");
      const range = document.createRange();
      range.selectNodeContents(code);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      store.toast("info", "toast.id_selected");
    }
  }

  function signOut() {
    if (confirm(t("confirm.sign_out"))) ctl.logOut();
  }

  return html`${Open ? html`<${Open} onClose=${() => setDialog(null)} />` : null}
  <details id="account" class="account" ref=${menu}>
    <summary>
      <span id="me-name" class="me-name">${me.username}</span>
      <${Badge} id="me-role" role=${me.user_role} />
    </summary>
    <div class="menu">
      <div class="menu-row">
        <span class="hint">${t("account.my_id")}</span>
        <code id="me-id" title=${t("account.my_id_hint")}>${me.user_id}</code>
        <button id="copy-id" type="button" onClick=${copyId}>${t("account.copy_id")}</button>
        <p class="hint">${t("account.my_id_hint")}</p>
      </div>
      <div class="menu-row">
        <button id="open-profile" type="button" onClick=${() => open("profile")}>${t("profile.open")}</button>
        <button id="open-sessions" type="button" onClick=${() => open("sessions")}>${t("sessions.open")}</button>
        ${me.user_role === "DOCTOR"
          ? html`<button id="invite-colleague" type="button" onClick=${() => open("colleague")}>${t("colleague.open")}</button>`
          : null}
      </div>
      <div class="menu-row"><${LanguagePicker} id="lang-select" /></div>
      <${NotificationsToggle} />
      <div class="menu-row">
        <button id="signout" type="button" class="danger" onClick=${signOut}>${t("account.sign_out")}</button>
      </div>
    </div>
  </details>`;
}
