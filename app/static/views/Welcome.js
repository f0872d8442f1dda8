// Signed out: sign in with a login and a password, or sign up (patient, or doctor with an
// invite code); an opened invite link shows what it offers above the forms, and after signing
// up or in the person joins its group (a doctor invite signs up a doctor).

import { html, useState } from "../html.js";
import { t } from "../i18n/index.js";
import { inviteAction } from "../session.js";
import { LanguagePicker } from "./Account.js";
import { useApp } from "./common.js";
import { InvitePreview } from "./InvitePreview.js";

const MIN_PASSWORD = 8;

function Field({ id, name, label, hint, ...attrs }) {
  return html`<label for=${id}>${label}</label>
    <input id=${id} name=${name} required ...${attrs} aria-describedby=${hint ? `${id}-hint` : undefined} />
    ${hint ? html`<p id=${`${id}-hint`} class="hint">${hint}</p>` : null}`;
}

/** Submit handler shared by both forms: busy state, the server's refusal in words. */
function useSubmit(failureKey, run) {
  const { store, ctl } = useApp();
  const [busy, setBusy] = useState(false);
  async function onSubmit(event) {
    event.preventDefault();
    setBusy(true);
    store.inviteAfterEntry();
    try {
      await run(event.currentTarget);
    } catch (error) {
      ctl.report(failureKey)(error);
      setBusy(false);
    }
  }
  return [busy, onSubmit];
}

/** After signing up or in: join the opened group invite, if any. */
async function afterEntry(ctl, store) {
  if (inviteAction(store.state.invite?.preview) === "join") {
    await ctl.acceptInvite().catch(ctl.report("invite.join_failed"));
  } else if (store.state.invite) {
    ctl.dismissInvite();
  }
}

function SignIn() {
  const { store, ctl } = useApp();
  const [busy, onSubmit] = useSubmit("signin.failed", async (form) => {
    await ctl.signIn(form.login.value, form.password.value);
    await afterEntry(ctl, store);
  });
  return html`<form id="signin-form" class="card" onSubmit=${onSubmit}>
    <h2>${t("signin.title")}</h2>
    <${Field} id="signin-login" name="login" label=${t("account.login")} autocomplete="username"
      autocapitalize="none" spellcheck="false" maxlength="32" />
    <${Field} id="signin-password" name="password" type="password" label=${t("account.password")}
      autocomplete="current-password" maxlength="128" />
    <button type="submit" class="primary" disabled=${busy}>${t("signin.submit")}</button>
  </form>`;
}

function SignUp() {
  const { store, ctl } = useApp();
  const invite = store.state.invite;
  const doctorInvite = inviteAction(invite?.preview) === "doctor_signup";
  const [role, setRole] = useState(doctorInvite ? "DOCTOR" : "PATIENT");
  const chosen = doctorInvite ? "DOCTOR" : role;
  const [busy, onSubmit] = useSubmit("signup.failed", async (form) => {
    if (form.password.value.length < MIN_PASSWORD) {
      store.toast("error", "account.password_short", { min: MIN_PASSWORD });
      throw Object.assign(new Error("short"), { handled: true });
    }
    await ctl.signUp({
      username: form.username.value,
      login: form.login.value,
      password: form.password.value,
      role: chosen,
      inviteCode: doctorInvite ? invite.code : form.invite_code?.value,
    });
    await afterEntry(ctl, store);
  });
  return html`<form id="signup-form" class="card" onSubmit=${onSubmit}>
    <h2>${doctorInvite ? t("signup.title_doctor") : t("signup.title")}</h2>
    <${Field} id="signup-name" name="username" label=${t("signup.name")} maxlength="64" autocomplete="name" />
    <${Field} id="signup-login" name="login" label=${t("account.login")} hint=${t("account.login_hint")}
      autocomplete="username" autocapitalize="none" spellcheck="false" minlength="3" maxlength="32"
      pattern="[A-Za-z0-9_.\\-]{3,32}" />
    <${Field} id="signup-password" name="password" type="password" label=${t("account.password")}
      hint=${t("account.password_hint", { min: MIN_PASSWORD })} autocomplete="new-password" maxlength="128" />
    ${doctorInvite
      ? null
      : html`<fieldset>
          <legend>${t("signup.i_am")}</legend>
          ${["PATIENT", "DOCTOR"].map(
            (r) => html`<label><input type="radio" name="role" value=${r} checked=${role === r}
              onChange=${() => setRole(r)} /> ${t(`role.${r}`)}</label>`,
          )}
        </fieldset>`}
    ${!doctorInvite && chosen === "DOCTOR"
      ? html`<${Field} id="signup-invite" name="invite_code" label=${t("signup.invite_code")}
          hint=${t("signup.invite_code_hint")} required=${false} autocomplete="off" maxlength="64" />`
      : null}
    <button type="submit" class="primary" disabled=${busy}>${t("signup.submit")}</button>
  </form>`;
}

export function Welcome() {
  const { store } = useApp();
  const invite = store.state.invite;
  const [tab, setTab] = useState(invite ? "signup" : "signin");
  const tabButton = (name, key) => html`<button id=${`tab-${name}`} type="button" role="tab"
      aria-selected=${tab === name ? "true" : "false"} onClick=${() => setTab(name)}>${t(key)}</button>`;
  return html`<main id="welcome-view" class="signup">
    <div class="signup-lang"><${LanguagePicker} id="signup-lang" /></div>
    <h1>${t("app.title")}</h1>
    <p>${t("signup.intro")}</p>
    ${invite ? html`<${InvitePreview} invite=${invite} />` : null}
    <div class="tabs" role="tablist">
      ${tabButton("signin", "signin.tab")}${tabButton("signup", "signup.tab")}
    </div>
    ${tab === "signin" ? html`<${SignIn} />` : html`<${SignUp} key=${invite?.status || "none"} />`}
  </main>`;
}
