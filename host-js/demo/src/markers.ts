// Highlight Headroom's markers in compressed text. In JSON output a marker is a string
// element, so its quotes around the key may be escaped.
const MARKER = /\[\.\.\. [^\n]*?retrieve: headroom_retrieve\(\\?"h:[0-9a-f]{24}\\?"\) \.\.\.\]/g;

// What the redact-secrets plugin leaves where a secret was (nothing to retrieve: it is gone).
const MASK = /\[secret: [a-z0-9-]+ masked\]/g;

function escape(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);
}

/**
 * HTML for `text` with every marker wrapped in <mark class="marker"> and every masked secret in
 * <mark class="secret">; and how many markers and masks there were.
 */
export function highlight(text: string): { html: string; count: number; masked: number } {
  let html = '';
  let last = 0;
  let count = 0;
  for (const m of text.matchAll(MARKER)) {
    html += `${escape(text.slice(last, m.index))}<mark class="marker">${escape(m[0])}</mark>`;
    last = (m.index ?? 0) + m[0].length;
    count++;
  }
  html += escape(text.slice(last));
  let masked = 0;
  html = html.replace(MASK, (m) => {
    masked++;
    return `<mark class="secret">${m}</mark>`;
  });
  return { html, count, masked };
}
