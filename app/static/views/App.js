// The root view: re-renders when the store changes (Preact diffs by key, so only what changed
// touches the DOM) and holds the language.

import { html, useEffect, useReducer, useState } from "../html.js";
import { getLang, LANG_KEY, setLang } from "../i18n/index.js";
import { Chat } from "./Chat.js";
import { AppContext, Toasts } from "./common.js";
import { SignUp } from "./SignUp.js";

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
    ${store.state.session ? html`<${Chat} />` : html`<${SignUp} />`}
    <${Toasts} />
  </${AppContext.Provider}>`;
}
