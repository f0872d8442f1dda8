// The image lightbox (SPEC §16): a photo's full picture in a modal <dialog> (the browser keeps
// the focus inside and Esc closes it), with a close button, the name and a download link.
// Clicking outside the picture closes it too; the focus goes back to the thumbnail.

import { html, useEffect, useRef } from "../html.js";
import { t } from "../i18n/index.js";

export function Lightbox({ attachment: a, onClose }) {
  const dialog = useRef(null);
  useEffect(() => {
    const box = dialog.current;
    if (box && !box.open) box.showModal();
    return () => {
      if (box?.open) box.close();
    };
  }, []);
  const close = () => dialog.current?.close(); // the close event tells onClose
  return html`<dialog id="lightbox" class="lightbox" ref=${dialog} aria-label=${t("lightbox.label", { name: a.name })}
      onClose=${onClose} onClick=${(e) => {
        if (e.target === dialog.current) close(); // the backdrop
      }}>
    <div class="lightbox-bar">
      <span class="lightbox-name">${a.name}</span>
      <a id="lightbox-download" href=${a.url} download=${a.name} rel="noopener">${t("attach.download")}</a>
      <button id="lightbox-close" type="button" autofocus onClick=${close}>${t("lightbox.close")}</button>
    </div>
    <img id="lightbox-image" src=${a.url} alt=${a.name} />
  </dialog>`;
}
