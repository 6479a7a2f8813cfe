import { test } from 'node:test';
import assert from 'node:assert/strict';

import { visibleRows } from '../waterfall.js';

// root > a > a1, a2; root > b > b1
const tree = [
  { depth: 0 }, { depth: 1 }, { depth: 2 }, { depth: 2 }, { depth: 1 }, { depth: 2 },
];

test('nothing collapsed: every row shows in order', () => {
  assert.deepEqual(visibleRows(tree.map((r) => ({ ...r, collapsed: false }))), [0, 1, 2, 3, 4, 5]);
});

test('a collapsed span hides its subtree and the rows below move up', () => {
  const rows = tree.map((r, i) => ({ ...r, collapsed: i === 1 }));
  assert.deepEqual(visibleRows(rows), [0, 1, -1, -1, 2, 3]);
});

test('a collapsed root hides everything below it', () => {
  const rows = tree.map((r, i) => ({ ...r, collapsed: i === 0 }));
  assert.deepEqual(visibleRows(rows), [0, -1, -1, -1, -1, -1]);
});

test('a collapsed span inside a collapsed one stays hidden', () => {
  const rows = tree.map((r, i) => ({ ...r, collapsed: i === 0 || i === 4 }));
  assert.deepEqual(visibleRows(rows), [0, -1, -1, -1, -1, -1]);
});
