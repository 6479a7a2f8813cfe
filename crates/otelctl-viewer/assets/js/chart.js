// Metric charts: what a series means over time (rate for monotonic sums, value for gauges and
// other sums, p50/p95/p99 for histograms from their buckets, quantiles for summaries), a time
// axis with dates (UTC, like the rest of the viewer) and the SVG. Pure functions but the last
// one; `node --test` tests them. Input: the series of /api/metrics/series, one per attribute
// set: {kind, temporality, monotonic, unit, attributes (JSON text), points: [{time_unix_nano,
// start_time_unix_nano, value, count, sum, min, max, data (JSON text: buckets)}]}.

const SVG = 'http://www.w3.org/2000/svg';

/** The percentiles drawn for histograms. */
export const QUANTILES = [['p50', 0.5], ['p95', 0.95], ['p99', 0.99]];

/** Unix nanoseconds (a number, or a string from a JSON encoder) as milliseconds. */
export function ms(unixNano) {
  return Number(unixNano) / 1e6;
}

/** `k=v, k=v` of a series' attributes (a JSON object, as the store keeps it). */
export function seriesLabel(attributes) {
  let obj = attributes;
  if (typeof attributes === 'string') {
    try { obj = JSON.parse(attributes || '{}'); } catch { return attributes; }
  }
  const keys = Object.keys(obj || {});
  if (keys.length === 0) return '(no attributes)';
  return keys.map((k) => `${k}=${typeof obj[k] === 'string' ? obj[k] : JSON.stringify(obj[k])}`).join(', ');
}

function startOf(p) {
  return Number(p.start_time_unix_nano || 0);
}

/**
 * Per-second rate of a monotonic sum: for cumulative points the increase from the previous
 * point over the time between them; a reset (a lower value, or a new start time) counts from
 * the new start. For delta points each value over its own interval (start to time), else over
 * the time since the previous point. Returns [{t (ms), v}].
 */
export function ratePoints(points, temporality) {
  const out = [];
  for (let i = 0; i < points.length; i += 1) {
    const cur = points[i];
    if (cur.value === null || cur.value === undefined) continue;
    const t = Number(cur.time_unix_nano);
    const start = startOf(cur);
    const prev = i > 0 ? points[i - 1] : null;
    if (temporality === 'delta') {
      let from = start > 0 && start < t ? start : null;
      if (from === null && prev) from = Number(prev.time_unix_nano);
      if (from === null || !(t > from)) continue;
      out.push({ t: ms(t), v: cur.value / ((t - from) / 1e9) });
      continue;
    }
    if (!prev || prev.value === null || prev.value === undefined) continue;
    const pt = Number(prev.time_unix_nano);
    const reset = cur.value < prev.value || (start > 0 && startOf(prev) > 0 && start !== startOf(prev));
    if (reset) {
      if (start > 0 && t > start) out.push({ t: ms(t), v: cur.value / ((t - start) / 1e9) });
      continue;
    }
    if (!(t > pt)) continue;
    out.push({ t: ms(t), v: (cur.value - prev.value) / ((t - pt) / 1e9) });
  }
  return out;
}

/**
 * The value of a gauge or a non-monotonic sum over time; delta points of a sum are added up
 * (an up-down counter's total).
 */
export function valuePoints(points, temporality) {
  const out = [];
  let total = 0;
  for (const p of points) {
    if (p.value === null || p.value === undefined) continue;
    if (temporality === 'delta') {
      total += p.value;
      out.push({ t: ms(p.time_unix_nano), v: total });
    } else {
      out.push({ t: ms(p.time_unix_nano), v: p.value });
    }
  }
  return out;
}

/**
 * The q-quantile of a distribution given as buckets [{lo, hi, n}] in ascending order, by
 * linear interpolation inside the bucket holding the rank (Prometheus' histogram_quantile
 * does the same). null when the buckets hold nothing.
 */
export function quantile(q, buckets) {
  const total = buckets.reduce((a, b) => a + b.n, 0);
  if (!(total > 0)) return null;
  const rank = q * total;
  let before = 0;
  for (const b of buckets) {
    if (b.n > 0 && before + b.n >= rank) {
      const within = Math.min(Math.max((rank - before) / b.n, 0), 1);
      return b.lo + (b.hi - b.lo) * within;
    }
    before += b.n;
  }
  const last = [...buckets].reverse().find((b) => b.n > 0);
  return last ? last.hi : null;
}

/**
 * An explicit-bounds histogram's buckets as [{lo, hi, n}]: bucket i holds (bounds[i-1],
 * bounds[i]]; the first starts at min (else 0 when its bound is positive), the last ends at max
 * (else at the last bound). min and max also narrow the inner buckets they fall in.
 */
export function explicitBuckets(bounds, counts, min, max) {
  const out = [];
  const has = (v) => typeof v === 'number' && Number.isFinite(v);
  for (let i = 0; i < counts.length; i += 1) {
    let lo = i === 0 ? (has(min) ? min : (bounds.length && bounds[0] > 0 ? 0 : bounds[0] ?? 0))
      : bounds[i - 1];
    let hi = i < bounds.length ? bounds[i] : (has(max) ? max : bounds[bounds.length - 1] ?? lo);
    if (has(min) && lo < min) lo = min;
    if (has(max) && hi > max) hi = max;
    if (hi < lo) hi = lo;
    out.push({ lo, hi, n: Number(counts[i]) || 0 });
  }
  return out;
}

/**
 * An exponential histogram as [{lo, hi, n}] ascending: negative buckets (largest magnitude
 * first), the zero bucket, positive buckets. Bucket `index` at `scale` holds
 * (base^index, base^(index+1)] with base = 2^(2^-scale). `exp` is {scale, zero_count,
 * zero_threshold, positive: {offset, bucket_counts}, negative: {...}}, or the indexed form of
 * expIndexed.
 */
export function exponentialBuckets(exp) {
  const e = exp.pos ? exp : expIndexed(exp);
  const base = 2 ** (2 ** -e.scale);
  const out = [];
  const neg = [...e.neg.entries()].sort((a, b) => b[0] - a[0]);
  for (const [i, n] of neg) out.push({ lo: -(base ** (i + 1)), hi: -(base ** i), n });
  const zt = Number(e.zeroThreshold) || 0;
  if (e.zeroCount > 0) out.push({ lo: -zt, hi: zt, n: e.zeroCount });
  const pos = [...e.pos.entries()].sort((a, b) => a[0] - b[0]);
  for (const [i, n] of pos) out.push({ lo: base ** i, hi: base ** (i + 1), n });
  return out;
}

/** An exponential histogram point's data as maps from bucket index to count. */
export function expIndexed(data) {
  const side = (s) => {
    const m = new Map();
    if (!s) return m;
    const off = Number(s.offset) || 0;
    (s.bucket_counts || []).forEach((c, k) => {
      const n = Number(c) || 0;
      if (n) m.set(off + k, n);
    });
    return m;
  };
  return {
    scale: Number(data.scale) || 0,
    zeroCount: Number(data.zero_count) || 0,
    zeroThreshold: Number(data.zero_threshold) || 0,
    pos: side(data.positive),
    neg: side(data.negative),
  };
}

/** `e` at a lower `scale`: each bucket merged into the one holding it there. */
export function downscale(e, scale) {
  if (scale >= e.scale) return e;
  const f = 2 ** (e.scale - scale);
  const merge = (m) => {
    const out = new Map();
    for (const [i, n] of m) {
      const j = Math.floor(i / f);
      out.set(j, (out.get(j) || 0) + n);
    }
    return out;
  };
  return { ...e, scale, pos: merge(e.pos), neg: merge(e.neg) };
}

function parseData(p) {
  if (!p.data) return null;
  if (typeof p.data === 'object') return p.data;
  try { return JSON.parse(p.data); } catch { return null; }
}

/** A histogram point as something that can be subtracted and turned into buckets. */
function histogramState(kind, p) {
  const d = parseData(p);
  if (!d) return null;
  if (kind === 'exponentialHistogram') return { exp: expIndexed(d), min: p.min, max: p.max };
  return {
    bounds: (d.explicit_bounds || []).map((b) => (b === null ? Infinity : Number(b))),
    counts: (d.bucket_counts || []).map(Number),
    min: p.min,
    max: p.max,
  };
}

/** cur - prev, bucket by bucket; null when a count went down (a reset) or the buckets differ. */
export function subtractHistogram(cur, prev) {
  if (cur.exp) {
    const scale = Math.min(cur.exp.scale, prev.exp.scale);
    const a = downscale(cur.exp, scale);
    const b = downscale(prev.exp, scale);
    const diff = (x, y) => {
      const out = new Map();
      for (const [i, n] of x) {
        const d = n - (y.get(i) || 0);
        if (d < 0) return null;
        if (d) out.set(i, d);
      }
      for (const [i, n] of y) if (n > 0 && !x.has(i)) return null;
      return out;
    };
    const pos = diff(a.pos, b.pos);
    const neg = diff(a.neg, b.neg);
    const zeroCount = a.zeroCount - b.zeroCount;
    if (!pos || !neg || zeroCount < 0) return null;
    return { exp: { ...a, pos, neg, zeroCount }, min: null, max: null };
  }
  if (cur.counts.length !== prev.counts.length
    || cur.bounds.some((b, i) => b !== prev.bounds[i])) return null;
  const counts = cur.counts.map((n, i) => n - prev.counts[i]);
  if (counts.some((n) => n < 0)) return null;
  return { bounds: cur.bounds, counts, min: null, max: null };
}

/**
 * p50/p95/p99 of a histogram series over time. Delta points stand for themselves; cumulative
 * points are differenced with the previous point (what arrived in between), the first point
 * and a reset (a new start time, a count that went down) standing for themselves. A window
 * with no observations is a gap (null). Returns {p50: [{t, v}], p95: [...], p99: [...]}.
 */
export function percentilePoints(kind, points, temporality) {
  const out = Object.fromEntries(QUANTILES.map(([name]) => [name, []]));
  let prev = null;
  let prevStart = null;
  for (const p of points) {
    const state = histogramState(kind, p);
    if (!state) continue;
    let window = state;
    if (temporality !== 'delta' && prev && startOf(p) === prevStart) {
      window = subtractHistogram(state, prev) || state;
    }
    prev = state;
    prevStart = startOf(p);
    const buckets = window.exp
      ? exponentialBuckets(window.exp)
      : explicitBuckets(window.bounds, window.counts, window.min, window.max);
    for (const [name, q] of QUANTILES) {
      out[name].push({ t: ms(p.time_unix_nano), v: quantile(q, buckets) });
    }
  }
  return out;
}

/** A summary's quantiles over time: {'p50': [...], ...} for every quantile it reports. */
export function summaryPoints(points) {
  const out = {};
  for (const p of points) {
    const d = parseData(p);
    for (const qv of (d && d.quantile_values) || []) {
      if (qv.quantile === null || qv.value === null) continue;
      const name = qv.quantile === 0 ? 'min' : qv.quantile === 1 ? 'max'
        : `p${+(qv.quantile * 100).toFixed(3)}`;
      (out[name] = out[name] || []).push({ t: ms(p.time_unix_nano), v: qv.value });
    }
  }
  return out;
}

/**
 * The lines of one metric's chart from its series: [{label, series, quantile, values}], one
 * line per attribute set (per attribute set and percentile for histograms and summaries), and
 * what the chart shows.
 */
export function chartLines(seriesList) {
  const lines = [];
  let what = 'value';
  for (const s of seriesList) {
    const series = seriesLabel(s.attributes);
    const points = s.points || [];
    if (s.kind === 'sum' && s.monotonic) {
      what = 'rate per second';
      lines.push({ label: series, series, quantile: '', values: ratePoints(points, s.temporality) });
    } else if (s.kind === 'histogram' || s.kind === 'exponentialHistogram') {
      what = 'p50 / p95 / p99';
      const pct = percentilePoints(s.kind, points, s.temporality);
      for (const [name] of QUANTILES) {
        lines.push({ label: `${name} · ${series}`, series, quantile: name, values: pct[name] });
      }
    } else if (s.kind === 'summary') {
      what = 'quantiles';
      for (const [name, values] of Object.entries(summaryPoints(points))) {
        lines.push({ label: `${name} · ${series}`, series, quantile: name, values });
      }
    } else {
      lines.push({ label: series, series, quantile: '', values: valuePoints(points, s.temporality) });
    }
  }
  return { what, lines };
}

const STEPS = [
  1e3, 2e3, 5e3, 10e3, 15e3, 30e3,
  60e3, 2 * 60e3, 5 * 60e3, 10 * 60e3, 15 * 60e3, 30 * 60e3,
  3600e3, 2 * 3600e3, 3 * 3600e3, 6 * 3600e3, 12 * 3600e3,
  86400e3, 2 * 86400e3, 7 * 86400e3, 14 * 86400e3, 30 * 86400e3,
];

function pad(n) {
  return String(n).padStart(2, '0');
}

/**
 * Ticks of a time axis from t0 to t1 (ms): at most `most`, on round UTC times, each labelled
 * with its time of day (seconds when the step is under a minute) and, on the first tick and
 * where the day changes, the date (`date`, drawn on a second line); ticks a day or more apart
 * are labelled with the date alone.
 */
export function timeTicks(t0, t1, most = 6) {
  const day = (d) => `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  const hms = (d) => `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  if (!(t1 > t0)) {
    const d = new Date(t0);
    return [{ t: t0, label: hms(d), date: day(d) }];
  }
  const step = STEPS.find((s) => (t1 - t0) / s <= most) || Math.ceil((t1 - t0) / most / 86400e3) * 86400e3;
  const ticks = [];
  let lastDay = '';
  for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
    const d = new Date(t);
    const today = day(d);
    const clock = step < 60e3 ? hms(d) : hms(d).slice(0, 5);
    if (step >= 86400e3) ticks.push({ t, label: today, date: '' });
    else ticks.push({ t, label: clock, date: today !== lastDay ? today : '' });
    lastDay = today;
  }
  return ticks;
}

/** Round ticks covering [lo, hi]: steps of 1, 2, 2.5 or 5 times a power of ten. */
export function valueTicks(lo, hi, most = 5) {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0];
  if (lo === hi) {
    if (lo === 0) return [0, 1];
    const pad10 = Math.abs(lo) / 2;
    return valueTicks(Math.min(0, lo - pad10), Math.max(0, hi + pad10), most);
  }
  const raw = (hi - lo) / most;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw);
  const out = [];
  const start = Math.floor(lo / step) * step;
  for (let v = start; v < hi + step * 0.999; v += step) out.push(+v.toPrecision(12));
  return out;
}

/** A number for people, like the server's format_value: `12.35k`, `0.1235`, `25M`. */
export function formatValue(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  let n = v;
  let suffix = '';
  if (a >= 1e10) { n = v / 1e9; suffix = 'G'; }
  else if (a >= 1e7) { n = v / 1e6; suffix = 'M'; }
  else if (a >= 1e4) { n = v / 1e3; suffix = 'k'; }
  let text;
  if (n === Math.trunc(n) && Math.abs(n) < 1e4) text = n.toFixed(0);
  else if (Math.abs(n) >= 100) text = n.toFixed(1);
  else if (Math.abs(n) >= 1) text = n.toFixed(2);
  else text = n.toFixed(4);
  if (text.includes('.')) text = text.replace(/0+$/, '').replace(/\.$/, '');
  return text + suffix;
}

/**
 * An SVG path through `values` ([{t, v}]) with `x(t)` and `y(v)`; a null value breaks the
 * line (a new `M`).
 */
export function linePath(values, x, y) {
  let d = '';
  let pen = false;
  for (const p of values) {
    if (p.v === null || p.v === undefined || !Number.isFinite(p.v)) { pen = false; continue; }
    d += `${pen ? 'L' : 'M'}${x(p.t).toFixed(1)} ${y(p.v).toFixed(1)}`;
    pen = true;
  }
  return d;
}

/** Colours of attribute sets: distinct on white and dark backgrounds. */
export const PALETTE = ['#3d7eea', '#e8710a', '#1f8a4c', '#c5221f', '#8e44ad', '#0097a7',
  '#b8860b', '#d63384', '#5f6368', '#2e7d32'];
const DASH = { p50: '2 3', p95: '', p99: '7 3' };

/** The geometry of a chart: scales, axes, one path per line (no DOM). */
export function layout(lines, width = 560, height = 200) {
  const padL = 58;
  const padR = 30;
  const padT = 10;
  const padB = 36;
  const all = lines.flatMap((l) => l.values).filter((p) => p.v !== null && Number.isFinite(p.v));
  if (all.length === 0) return null;
  const t0 = Math.min(...all.map((p) => p.t));
  const t1 = Math.max(...all.map((p) => p.t));
  const vs = all.map((p) => p.v);
  const yt = valueTicks(Math.min(0, ...vs), Math.max(0, ...vs));
  const lo = yt[0];
  const hi = yt[yt.length - 1];
  const x = (t) => (t1 > t0 ? padL + ((t - t0) / (t1 - t0)) * (width - padL - padR) : (padL + width - padR) / 2);
  const y = (v) => padT + (1 - (v - lo) / (hi - lo || 1)) * (height - padT - padB);
  const seriesNames = [...new Set(lines.map((l) => l.series))];
  return {
    width,
    height,
    box: { l: padL, r: width - padR, t: padT, b: height - padB },
    xTicks: timeTicks(t0, t1).map((k) => ({ ...k, x: x(k.t) })),
    yTicks: yt.map((v) => ({ v, y: y(v), label: formatValue(v) })),
    paths: lines.map((l) => {
      const shown = l.values.filter((p) => p.v !== null && Number.isFinite(p.v));
      return {
        ...l,
        d: linePath(l.values, x, y),
        colour: PALETTE[seriesNames.indexOf(l.series) % PALETTE.length],
        dash: DASH[l.quantile] || '',
        n: shown.length,
        last: shown.length ? shown[shown.length - 1].v : null,
        dots: shown.length === 1 ? [{ x: x(shown[0].t), y: y(shown[0].v) }] : [],
      };
    }),
  };
}

function el(doc, name, attrs, text) {
  const e = doc.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/**
 * Draws `lines` into `figure` (replacing what it holds): the SVG with its axes and one path per
 * line (data-label, data-quantile, data-series, data-last, data-n for tests and tooltips), and
 * a legend. Every label is set as text, never parsed as HTML.
 */
export function draw(doc, figure, lines, what, unit) {
  const g = layout(lines);
  figure.replaceChildren();
  if (!g) {
    const p = doc.createElement('p');
    p.className = 'hint';
    p.textContent = 'No points in this time range.';
    figure.appendChild(p);
    figure.dataset.state = 'empty';
    return;
  }
  const svg = el(doc, 'svg', {
    class: 'metric-chart', viewBox: `0 0 ${g.width} ${g.height}`, width: '100%', role: 'img',
  });
  svg.appendChild(el(doc, 'title', {}, `${what}${unit ? ` (${unit})` : ''}`));
  for (const k of g.yTicks) {
    svg.appendChild(el(doc, 'line', { class: 'grid', x1: g.box.l, x2: g.box.r, y1: k.y.toFixed(1), y2: k.y.toFixed(1) }));
    svg.appendChild(el(doc, 'text', { class: 'axis', x: g.box.l - 4, y: (k.y + 4).toFixed(1), 'text-anchor': 'end' }, k.label));
  }
  svg.appendChild(el(doc, 'line', { class: 'axisline', x1: g.box.l, x2: g.box.r, y1: g.box.b, y2: g.box.b }));
  g.xTicks.forEach((k) => {
    svg.appendChild(el(doc, 'line', { class: 'tick', x1: k.x.toFixed(1), x2: k.x.toFixed(1), y1: g.box.b, y2: g.box.b + 4 }));
    const anchor = 'middle';
    svg.appendChild(el(doc, 'text', { class: 'axis time', x: k.x.toFixed(1), y: g.box.b + 15, 'text-anchor': anchor }, k.label));
    if (k.date) {
      svg.appendChild(el(doc, 'text', { class: 'axis date', x: k.x.toFixed(1), y: g.box.b + 28, 'text-anchor': anchor }, k.date));
    }
  });
  for (const p of g.paths) {
    const path = el(doc, 'path', {
      class: 'line', d: p.d, stroke: p.colour, fill: 'none',
      'data-label': p.label, 'data-series': p.series, 'data-quantile': p.quantile,
      'data-n': p.n, 'data-last': p.last === null ? '' : p.last,
    });
    if (p.dash) path.setAttribute('stroke-dasharray', p.dash);
    path.appendChild(el(doc, 'title', {}, `${p.label}: ${formatValue(p.last)}${unit ? ` ${unit}` : ''}`));
    svg.appendChild(path);
    for (const dot of p.dots) {
      svg.appendChild(el(doc, 'circle', { class: 'dot', cx: dot.x.toFixed(1), cy: dot.y.toFixed(1), r: 3, fill: p.colour }));
    }
  }
  figure.appendChild(svg);
  const legend = doc.createElement('ul');
  legend.className = 'chart-legend';
  for (const p of g.paths) {
    const li = doc.createElement('li');
    const sw = el(doc, 'svg', { class: 'legend-line', width: 18, height: 8, viewBox: '0 0 18 8' });
    const stroke = el(doc, 'line', { x1: 0, y1: 4, x2: 18, y2: 4, stroke: p.colour, 'stroke-width': 2 });
    if (p.dash) stroke.setAttribute('stroke-dasharray', p.dash);
    sw.appendChild(stroke);
    li.appendChild(sw);
    li.appendChild(doc.createTextNode(`${p.label} `));
    const b = doc.createElement('b');
    b.textContent = formatValue(p.last) + (unit && unit !== '1' && !unit.startsWith('{') ? ` ${unit}` : '');
    li.appendChild(b);
    legend.appendChild(li);
  }
  figure.appendChild(legend);
  figure.dataset.state = 'drawn';
}
