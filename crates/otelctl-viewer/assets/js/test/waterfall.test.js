import { test } from 'node:test';
import assert from 'node:assert/strict';

import { parents, place, reveal, step, visible, zoom } from '../waterfall.js';

// root > a > a1, a2; root > b > b1 (rows as the server sends them: [id, depth, ...])
const rows = [0, 1, 2, 2, 1, 2].map((depth, i) => [`s${i}`, depth, 0, 0, 0, 0, 0, 0, []]);

test('each row knows its parent from the depths of a depth-first order', () => {
  assert.deepEqual(parents(rows), [-1, 0, 1, 1, 0, 4]);
  // Two roots, the second with a child.
  assert.deepEqual(parents([['a', 0], ['b', 0], ['c', 1]]), [-1, -1, 1]);
});

test('nothing collapsed: every row shows in order', () => {
  assert.deepEqual(visible(rows, new Set()), [0, 1, 2, 3, 4, 5]);
});

test('a collapsed span hides its subtree, nested collapses stay hidden', () => {
  assert.deepEqual(visible(rows, new Set([1])), [0, 1, 4, 5]);
  assert.deepEqual(visible(rows, new Set([0])), [0]);
  assert.deepEqual(visible(rows, new Set([0, 4])), [0]);
});

test('revealing a row opens every collapsed ancestor and nothing else', () => {
  const collapsed = new Set([0, 1, 4]);
  assert.equal(reveal(3, parents(rows), collapsed), true);
  assert.deepEqual([...collapsed], [4]);
  assert.equal(reveal(3, parents(rows), collapsed), false);
});

test('next and previous wrap around', () => {
  assert.equal(step([2, 5, 9], -1, 1), 2);
  assert.equal(step([2, 5, 9], 5, 1), 9);
  assert.equal(step([2, 5, 9], 9, 1), 2);
  assert.equal(step([2, 5, 9], 2, -1), 9);
  assert.equal(step([2, 5, 9], 6, -1), 5);
  assert.equal(step([], 3, 1), -1);
});

test('a span is placed in the time window, clipped, or left out', () => {
  assert.deepEqual(place(100, 500, 0, 1000), { left: 10, width: 50 });
  assert.deepEqual(place(0, 1000, 250, 750), { left: 0, width: 100 });
  assert.equal(place(800, 100, 0, 500), null);
  assert.deepEqual(place(40, 0, 0, 100), { left: 40, width: 0 });
});

test('zooming keeps the window inside the trace', () => {
  assert.deepEqual(zoom(0, 1000, 0.5, 500, 1000), [250, 750]);
  assert.deepEqual(zoom(0, 1000, 0.5, 10, 1000), [0, 500]);
  assert.deepEqual(zoom(0, 1000, 0.5, 990, 1000), [500, 1000]);
  assert.deepEqual(zoom(250, 750, 4, 500, 1000), [0, 1000]);
});

test('log marks are grouped by row, in the order sent', async () => {
  const { logsByRow } = await import('../waterfall.js');
  const m = logsByRow([[1, 150, 'error'], [3, 380, 'warn'], [3, 400, 'error']]);
  assert.deepEqual([...m.keys()], [1, 3]);
  assert.deepEqual(m.get(3), [[380, 'warn'], [400, 'error']]);
  assert.equal(logsByRow(undefined).size, 0);
});
