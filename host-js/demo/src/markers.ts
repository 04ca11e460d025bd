// Highlight Headroom's markers in compressed text. In JSON output a marker is a string
// element, so its quotes around the key may be escaped.
const MARKER = /\[\.\.\. [^\n]*?retrieve: headroom_retrieve\(\\?"h:[0-9a-f]{24}\\?"\) \.\.\.\]/g;

function escape(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);
}

/** HTML for `text` with every marker wrapped in <mark class="marker">; and how many there were. */
export function highlight(text: string): { html: string; count: number } {
  let html = '';
  let last = 0;
  let count = 0;
  for (const m of text.matchAll(MARKER)) {
    html += `${escape(text.slice(last, m.index))}<mark class="marker">${escape(m[0])}</mark>`;
    last = (m.index ?? 0) + m[0].length;
    count++;
  }
  return { html: html + escape(text.slice(last)), count };
}
