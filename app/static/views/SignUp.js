// Sign-up: a name, patient or doctor, and the language. The token is kept in this browser.

import { html, useRef, useState } from "../html.js";
import { t } from "../i18n/index.js";
import { LanguagePicker } from "./Account.js";
import { useApp } from "./common.js";

export function SignUp() {
  const { store, ctl } = useApp();
  const [busy, setBusy] = useState(false);
  const nameRef = useRef(null);

  async function submit(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const username = form.username.value.trim();
    if (!username) {
      store.toast("error", "signup.name_required");
      nameRef.current?.focus();
      return;
    }
    setBusy(true);
    try {
      await ctl.signUp(username, form.role.value);
    } catch (error) {
      ctl.report("signup.failed")(error);
      setBusy(false);
    }
  }

  return html`<main id="signup-view" class="signup">
    <div class="signup-lang"><${LanguagePicker} id="signup-lang" /></div>
    <h1>${t("app.title")}</h1>
    <p>${t("signup.intro")}</p>
    <form id="signup-form" class="card" novalidate onSubmit=${submit}>
      <h2>${t("signup.title")}</h2>
      <label for="signup-name">${t("signup.name")}</label>
      <input id="signup-name" name="username" required maxlength="64" autocomplete="name" ref=${nameRef} />
      <fieldset>
        <legend>${t("signup.i_am")}</legend>
        <label><input type="radio" name="role" value="PATIENT" checked /> ${t("role.PATIENT")}</label>
        <label><input type="radio" name="role" value="DOCTOR" /> ${t("role.DOCTOR")}</label>
      </fieldset>
      <button type="submit" class="primary" disabled=${busy}>${t("signup.submit")}</button>
      <p class="hint">${t("signup.kept_here")}</p>
    </form>
  </main>`;
}
