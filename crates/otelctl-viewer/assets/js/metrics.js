// The metrics page: each metric's chart, drawn from its series (the figure's data-src, an
// /api/metrics/series URL) by chart.js; redrawn when new points arrive (live updates).
import { startLive } from './live.js';
import { chartLines, draw } from './chart.js';

/**
 * Draws every chart on the page, one request at a time (a page has a few dozen at most). The
 * body's data-charts counts the passes, data-draw-ms says how long the last one took.
 */
export async function drawAll(doc = document) {
  const started = performance.now();
  for (const figure of doc.querySelectorAll('figure.chart[data-src]')) {
    const section = figure.closest('section.metric');
    try {
      const r = await fetch(figure.dataset.src, { cache: 'no-store' });
      if (!r.ok) throw new Error(`${r.status}`);
      const { series } = await r.json();
      const { what, lines } = chartLines(series || []);
      draw(doc, figure, lines, what, section ? section.dataset.unit : '');
    } catch (e) {
      figure.dataset.state = 'error';
      const p = doc.createElement('p');
      p.className = 'problem';
      p.textContent = `The series could not be read (${e.message}).`;
      figure.replaceChildren(p);
    }
  }
  doc.body.dataset.drawMs = (performance.now() - started).toFixed(1);
  doc.body.dataset.charts = String(Number(doc.body.dataset.charts || 0) + 1);
}

if (typeof document !== 'undefined') {
  drawAll();
  startLive(document, () => drawAll());
}
