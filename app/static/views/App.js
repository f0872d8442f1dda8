// The root view: re-renders when the store changes (Preact diffs by key, so only what changed
// touches the DOM) and holds the language. Signed out: the welcome page (sign in, sign up);
// signed in: the chat, and the dialog of an invite link opened meanwhile.

import { html, useEffect, useReducer, useState } from "../html.js";
import { getLang, LANG_KEY, setLang } from "../i18n/index.js";
import { Chat } from "./Chat.js";
import { AppContext, Toasts } from "./common.js";
import { InviteDialog } from "./InvitePreview.js";
import { Welcome } from "./Welcome.js";

export function App({ store, ctl, storage, notifications }) {
  const [, redraw] = useReducer((n) => n + 1, 0);
  const [lang, setLangState] = useState(getLang());
  useEffect(() => store.subscribe(redraw), [store]);

  function chooseLang(code) {
    const chosen = setLang(code);
    storage.setItem(LANG_KEY, chosen);
    document.documentElement.lang = chosen;
    setLangState(chosen);
    store.changed();
  }

  const context = { store, ctl, lang, setLang: chooseLang, notifications };
  return html`<${AppContext.Provider} value=${context}>
    ${store.state.session ? html`<${Chat} />` : html`<${Welcome} />`}
    ${store.state.session && store.state.invite && !store.state.invite.afterEntry ? html`<${InviteDialog} key=${store.state.invite.code} />` : null}
    <${Toasts} />
  </${AppContext.Provider}>`;
}
