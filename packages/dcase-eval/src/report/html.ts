/** A self-contained HTML report: tables and embedded PNG images, no external assets. */
export interface HtmlTable {
  caption?: string;
  header: readonly string[];
  rows: readonly (readonly (string | number)[])[];
}

export type HtmlBlock =
  | { kind: 'heading'; text: string }
  | { kind: 'paragraph'; text: string }
  | { kind: 'table'; table: HtmlTable }
  | { kind: 'image'; png: Uint8Array; alt: string };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function htmlReport(title: string, blocks: readonly HtmlBlock[]): string {
  const body = blocks
    .map((b) => {
      switch (b.kind) {
        case 'heading':
          return `<h2>${escapeHtml(b.text)}</h2>`;
        case 'paragraph':
          return `<p>${escapeHtml(b.text)}</p>`;
        case 'image':
          return `<img alt="${escapeHtml(b.alt)}" src="data:image/png;base64,${Buffer.from(b.png).toString('base64')}">`;
        case 'table': {
          const cell = (v: string | number) => (typeof v === 'number' ? `<td class="n">${v.toFixed(2)}</td>` : `<td>${escapeHtml(v)}</td>`);
          const caption = b.table.caption ? `<caption>${escapeHtml(b.table.caption)}</caption>` : '';
          const head = `<tr>${b.table.header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>`;
          return `<table>${caption}${head}${b.table.rows.map((r) => `<tr>${r.map(cell).join('')}</tr>`).join('')}</table>`;
        }
      }
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:4px 8px}td.n{text-align:right;font-variant-numeric:tabular-nums}caption{text-align:left;font-weight:600}
img{margin:.5em;border:1px solid #eee}</style></head>
<body><h1>${escapeHtml(title)}</h1>
${body}
</body></html>
`;
}
