// A QR code as one SVG path, from the vendored `uqr` encoder (see vendor/README.md): the
// matrix is turned into "M x y h1 v1 h-1 z" squares, so the view renders it as an element
// (no markup string, no inline script). No DOM here; unit-tested with node.

import { encode } from "./vendor/uqr/uqr.module.js";

/** {size, path} of the QR code of `text` (error correction M, a 2-module quiet zone). */
export function qrPath(text) {
  const { size, data } = encode(text, { ecc: "M", border: 2 });
  let path = "";
  for (let y = 0; y < size; y += 1) {
    for (let x = 0; x < size; x += 1) {
      if (data[y][x]) path += `M${x} ${y}h1v1h-1z`;
    }
  }
  return { size, path };
}
