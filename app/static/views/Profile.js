// My profile: the name others see, and a new password (every other session of mine ends).

import { html, useState } from "../html.js";
import { t } from "../i18n/index.js";
import { Dialog, useApp } from "./common.js";

const MIN_PASSWORD = 8;

export function Profile({ onClose }) {
  const { store, ctl } = useApp();
  const me = store.state.session.user;
  const [busy, setBusy] = useState(null);

  async function run(name, event, work, failure) {
    event.preventDefault();
    setBusy(name);
    try {
      await work(event.currentTarget);
    } catch (error) {
      ctl.report(failure)(error);
    } finally {
      setBusy(null);
    }
  }

  const rename = (event) =>
    run("name", event, async (form) => {
      await ctl.rename(form.username.value);
      store.toast("info", "profile.saved");
    }, "profile.save_failed");

  const changePassword = (event) =>
    run("password", event, async (form) => {
      if (form.new_password.value.length < MIN_PASSWORD) {
        store.toast("error", "account.password_short", { min: MIN_PASSWORD });
        return;
      }
      await ctl.changePassword(form.current_password.value, form.new_password.value);
      form.reset();
      store.toast("info", "password.changed");
    }, "password.change_failed");

  return html`<${Dialog} id="profile-dialog" title=${t("profile.title")} onClose=${onClose}>
    <form id="profile-form" class="compact" onSubmit=${rename}>
      <label for="profile-name">${t("signup.name")}</label>
      <input id="profile-name" name="username" required maxlength="64" value=${me.username} autocomplete="name" />
      <button type="submit" class="primary" disabled=${busy === "name"}>${t("profile.save")}</button>
    </form>
    <form id="password-form" class="compact" onSubmit=${changePassword}>
      <h3>${t("password.title")}</h3>
      <label for="pw-current">${t("password.current")}</label>
      <input id="pw-current" name="current_password" type="password" required maxlength="128" autocomplete="current-password" />
      <label for="pw-new">${t("password.new")}</label>
      <input id="pw-new" name="new_password" type="password" required maxlength="128" autocomplete="new-password"
        aria-describedby="pw-new-hint" />
      <p id="pw-new-hint" class="hint">${t("password.hint", { min: MIN_PASSWORD })}</p>
      <button type="submit" class="primary" disabled=${busy === "password"}>${t("password.change")}</button>
    </form>
  </${Dialog}>`;
}
