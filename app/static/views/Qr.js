// The QR code of a link, drawn as an SVG element (dark modules on white, quiet zone kept).

import { html, useMemo } from "../html.js";
import { qrPath } from "../qr.js";

export function QrCode({ text, label, id }) {
  const { size, path } = useMemo(() => qrPath(text), [text]);
  return html`<svg id=${id} class="qr" role="img" aria-label=${label} viewBox=${`0 0 ${size} ${size}`}
      shape-rendering="crispEdges" data-qr-text=${text}>
    <rect width=${size} height=${size} fill="#fff" />
    <path d=${path} fill="#000" />
  </svg>`;
}
