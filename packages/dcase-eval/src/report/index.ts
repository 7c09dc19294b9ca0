export { barChartPng, lineChartPng, PALETTE, type BarChartSpec, type BarSeries, type LineChartSpec, type LineSeries } from './charts.js';
export { escapeHtml, htmlReport, type HtmlBlock, type HtmlTable } from './html.js';
export { encodePng } from './png.js';
export { Raster, type Rgb } from './raster.js';
