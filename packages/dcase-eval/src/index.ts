/** Public API of @anopatch/dcase-eval: DCASE 2020 / 2023 Task 2 layouts, metrics, official result files and tables. */
export const packageName = '@anopatch/dcase-eval';

export * from './errors.js';
export * from './machines.js';
export * from './grammar.js';
export * from './scan.js';
export * from './classes.js';
export * from './metrics.js';
export * from './gamma.js';
export * from './jackknife.js';
export * from './groundtruth.js';
export * from './official.js';
export * from './evaluate.js';
export * from './tables.js';
export * from './resultfiles.js';
export * from './format.js';
export { formatCsv, formatNumber, parseCsv, readCsv, writeFileAtomic } from './csv.js';
export { barChartPng, encodePng, escapeHtml, htmlReport, lineChartPng, PALETTE, Raster, type BarChartSpec, type BarSeries, type HtmlBlock, type HtmlTable, type LineChartSpec, type LineSeries, type Rgb } from './report/index.js';
