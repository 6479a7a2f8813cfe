import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  chartLines, downscale, expIndexed, explicitBuckets, exponentialBuckets, formatValue,
  layout, linePath, percentilePoints, quantile, ratePoints, seriesLabel, subtractHistogram,
  summaryPoints, timeTicks, valuePoints, valueTicks,
} from '../chart.js';

const S = 1e9;
const T0 = 1765159200 * S; // 2025-12-08 02:00:00 UTC
const at = (s) => String(T0 + s * S);
const near = (a, b, eps = 1e-9) => assert.ok(Math.abs(a - b) <= eps, `${a} is not ${b}`);

test('a cumulative counter becomes its rate per second, across a reset', () => {
  const start = at(-100);
  const pts = [
    { time_unix_nano: at(0), start_time_unix_nano: start, value: 100 },
    { time_unix_nano: at(10), start_time_unix_nano: start, value: 150 },
    { time_unix_nano: at(20), start_time_unix_nano: start, value: 250 },
    // The process restarted at 25 s: the counter starts again.
    { time_unix_nano: at(30), start_time_unix_nano: at(25), value: 20 },
    { time_unix_nano: at(40), start_time_unix_nano: at(25), value: 40 },
  ];
  const r = ratePoints(pts, 'cumulative');
  assert.deepEqual(r.map((p) => p.v), [5, 10, 4, 2]);
  assert.equal(r[0].t, (T0 + 10 * S) / 1e6);
});

test('a counter that goes down without a start time counts as reset too', () => {
  const pts = [
    { time_unix_nano: at(0), value: 100 },
    { time_unix_nano: at(10), value: 5 },
    { time_unix_nano: at(20), value: 25 },
  ];
  assert.deepEqual(ratePoints(pts, 'cumulative').map((p) => p.v), [2]);
});

test('delta sums are rates over their own interval, else since the previous point', () => {
  const pts = [
    { time_unix_nano: at(10), start_time_unix_nano: at(0), value: 30 },
    { time_unix_nano: at(20), start_time_unix_nano: at(10), value: 50 },
    { time_unix_nano: at(25), start_time_unix_nano: '0', value: 10 },
  ];
  assert.deepEqual(ratePoints(pts, 'delta').map((p) => p.v), [3, 5, 2]);
});

test('gauges keep their values; delta up-down counters add up', () => {
  const pts = [5, -2, 4].map((v, i) => ({ time_unix_nano: at(i), value: v }));
  assert.deepEqual(valuePoints(pts, undefined).map((p) => p.v), [5, -2, 4]);
  assert.deepEqual(valuePoints(pts, 'delta').map((p) => p.v), [5, 3, 7]);
  assert.deepEqual(valuePoints([{ time_unix_nano: at(0), value: null }], null), []);
});

test('a quantile interpolates inside the bucket that holds its rank', () => {
  // 100 observations: 50 in (0, 10], 40 in (10, 100], 10 in (100, 1000]
  const b = explicitBuckets([10, 100, 1000], [50, 40, 10, 0]);
  assert.equal(quantile(0.5, b), 10);
  near(quantile(0.95, b), 550);
  near(quantile(0.99, b), 910);
  near(quantile(0.25, b), 5);
  assert.equal(quantile(0.5, explicitBuckets([10], [0, 0])), null);
});

test('min and max bound the outer buckets', () => {
  // Everything above the last bound: the overflow bucket ends at max.
  const b = explicitBuckets([1, 2], [0, 0, 10], 3, 13);
  near(quantile(0.5, b), 8);
  // Everything in the first bucket, which starts at min.
  near(quantile(0.5, explicitBuckets([10], [4, 0], 2, 6)), 4);
  // No max: the overflow bucket is the last bound (the most that can be said).
  assert.equal(quantile(0.99, explicitBuckets([10], [0, 4])), 10);
});

test('exponential buckets: base 2^(2^-scale), negatives mirrored, the zero bucket between', () => {
  const e = expIndexed({
    scale: 0, zero_count: 2, zero_threshold: 0,
    positive: { offset: 1, bucket_counts: [3, 5] }, // (2,4]: 3, (4,8]: 5
    negative: { offset: 0, bucket_counts: [2] }, // [-2,-1): 2
  });
  const b = exponentialBuckets(e);
  assert.deepEqual(b, [
    { lo: -2, hi: -1, n: 2 }, { lo: -0, hi: 0, n: 2 }, { lo: 2, hi: 4, n: 3 }, { lo: 4, hi: 8, n: 5 },
  ]);
  near(quantile(0.5, b), 2 + 2 * (6 - 4) / 3);
  const fine = exponentialBuckets(expIndexed({ scale: 1, positive: { offset: 2, bucket_counts: [1] } }));
  near(fine[0].lo, 2);
  near(fine[0].hi, 2 ** 1.5);
});

test('downscaling merges exponential buckets (negative indexes too)', () => {
  const e = expIndexed({ scale: 2, positive: { offset: -3, bucket_counts: [1, 1, 1, 1, 1, 1, 1, 1] } });
  const d = downscale(e, 0);
  assert.deepEqual([...d.pos.entries()].sort((a, b) => a[0] - b[0]), [[-1, 3], [0, 4], [1, 1]]);
});

test('cumulative histograms: percentiles of what arrived between two points', () => {
  const bounds = [0.1, 1, 10];
  const pt = (s, counts, extra = {}) => ({
    time_unix_nano: at(s), start_time_unix_nano: at(-1), count: counts.reduce((a, b) => a + b),
    min: 0.01, max: 9,
    data: JSON.stringify({ explicit_bounds: bounds, bucket_counts: counts }), ...extra,
  });
  const pts = [
    pt(0, [100, 0, 0, 0]), // 100 fast requests
    pt(10, [100, 0, 100, 0]), // then 100 slow ones (1-10 s)
    pt(20, [100, 0, 100, 0]), // nothing new: a gap
  ];
  const p = percentilePoints('histogram', pts, 'cumulative');
  near(p.p50[0].v, 0.01 + (0.1 - 0.01) * 0.5);
  // The window holds the 100 slow ones only: p95 in (1, 10].
  near(p.p95[1].v, 1 + 9 * 0.95);
  assert.equal(p.p95[2].v, null);
  // Delta points stand alone.
  const d = percentilePoints('histogram', [pt(0, [0, 0, 10, 0]), pt(10, [10, 0, 0, 0])], 'delta');
  assert.ok(d.p99[0].v > 1 && d.p99[1].v <= 0.1);
});

test('a histogram reset (counts going down) starts over from the new point', () => {
  const a = { bounds: [1], counts: [5, 5] };
  assert.equal(subtractHistogram({ bounds: [1], counts: [1, 0] }, a), null);
  assert.deepEqual(subtractHistogram({ bounds: [1], counts: [6, 9] }, a).counts, [1, 4]);
  assert.equal(subtractHistogram({ bounds: [2], counts: [6, 9] }, a), null);
});

test('exponential histograms are differenced at the coarser scale', () => {
  const p = (s, scale, offset, counts) => ({
    time_unix_nano: at(s), start_time_unix_nano: at(-1),
    data: JSON.stringify({ scale, zero_count: 0, positive: { offset, bucket_counts: counts } }),
  });
  const out = percentilePoints('exponentialHistogram', [
    p(0, 1, 0, [4]), // (1, 1.414]: 4
    p(10, 0, 0, [4, 10]), // scale 0: (1,2]: 4, (2,4]: 10 -> 10 new in (2,4]
  ], 'cumulative');
  near(out.p50[1].v, 3);
});

test('summaries plot the quantiles they report', () => {
  const pts = [{
    time_unix_nano: at(0),
    data: JSON.stringify({ quantile_values: [{ quantile: 0.5, value: 3 }, { quantile: 0.99, value: 9 }, { quantile: 1, value: 12 }] }),
  }];
  const s = summaryPoints(pts);
  assert.deepEqual(Object.keys(s), ['p50', 'p99', 'max']);
  assert.equal(s.p99[0].v, 9);
});

test('one line per attribute set, and per percentile for histograms', () => {
  const counter = (attrs, values) => ({
    kind: 'sum', monotonic: true, temporality: 'cumulative', attributes: JSON.stringify(attrs),
    points: values.map((v, i) => ({ time_unix_nano: at(i), start_time_unix_nano: at(-1), value: v })),
  });
  const c = chartLines([counter({ route: '/a' }, [0, 2, 4]), counter({ route: '/b' }, [0, 1])]);
  assert.equal(c.what, 'rate per second');
  assert.deepEqual(c.lines.map((l) => l.label), ['route=/a', 'route=/b']);
  assert.deepEqual(c.lines[0].values.map((p) => p.v), [2, 2]);
  const h = chartLines([{ kind: 'histogram', temporality: 'delta', attributes: '{}', points: [] }]);
  assert.deepEqual(h.lines.map((l) => l.label), ['p50 · (no attributes)', 'p95 · (no attributes)', 'p99 · (no attributes)']);
  const g = chartLines([{ kind: 'gauge', attributes: '{"a":"1","b":"x"}', points: [{ time_unix_nano: at(0), value: 7 }] }]);
  assert.equal(g.what, 'value');
  assert.equal(g.lines[0].label, 'a=1, b=x');
  assert.equal(seriesLabel('not json'), 'not json');
});

test('the time axis has round UTC ticks, the date where the day changes', () => {
  const t0 = Date.UTC(2025, 11, 7, 23, 52);
  const ticks = timeTicks(t0, t0 + 20 * 60e3);
  assert.deepEqual(ticks.map((k) => k.label), ['23:55', '00:00', '00:05', '00:10']);
  assert.deepEqual(ticks.map((k) => k.date), ['2025-12-07', '2025-12-08', '', '']);
  const secs = timeTicks(t0, t0 + 30e3);
  assert.deepEqual([secs[0].label, secs[0].date], ['23:52:00', '2025-12-07']);
  assert.deepEqual([secs[1].label, secs[1].date], ['23:52:05', '']);
  const days = timeTicks(t0, t0 + 5 * 86400e3);
  assert.ok(days.every((k) => /^\d{4}-\d\d-\d\d$/.test(k.label) && k.date === ''), JSON.stringify(days));
  assert.ok(ticks.length <= 6 && days.length <= 6);
  assert.equal(timeTicks(t0, t0).length, 1);
});

test('value ticks are round and cover the range', () => {
  assert.deepEqual(valueTicks(0, 9.3), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(valueTicks(0, 0), [0, 1]);
  assert.deepEqual(valueTicks(0, 0.42), [0, 0.1, 0.2, 0.3, 0.4, 0.5]);
  assert.deepEqual(valueTicks(-5, 5), [-6, -4, -2, 0, 2, 4, 6]);
  const t = valueTicks(0, 1234);
  assert.ok(t[0] <= 0 && t[t.length - 1] >= 1234 && t.length <= 7, JSON.stringify(t));
});

test('numbers read like the server writes them', () => {
  assert.equal(formatValue(12345), '12.35k');
  assert.equal(formatValue(0.12345), '0.1235');
  assert.equal(formatValue(3), '3');
  assert.equal(formatValue(null), '–');
});

test('a null value breaks the line; the layout spans every line', () => {
  const vals = [{ t: 0, v: 1 }, { t: 1, v: null }, { t: 2, v: 3 }, { t: 3, v: 4 }];
  assert.equal(linePath(vals, (t) => t * 10, (v) => v), 'M0.0 1.0M20.0 3.0L30.0 4.0');
  const g = layout([
    { label: 'a', series: 'a', quantile: '', values: [{ t: 0, v: 1 }, { t: 60e3, v: 2 }] },
    { label: 'b', series: 'b', quantile: '', values: [{ t: 30e3, v: 8 }] },
  ]);
  assert.equal(g.paths[1].n, 1);
  assert.equal(g.paths[1].dots.length, 1);
  assert.notEqual(g.paths[0].colour, g.paths[1].colour);
  assert.ok(g.yTicks[g.yTicks.length - 1].v >= 8);
  assert.equal(layout([{ label: 'x', series: 'x', quantile: '', values: [] }]), null);
});
