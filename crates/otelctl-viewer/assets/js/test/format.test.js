import { test } from 'node:test';
import assert from 'node:assert/strict';

import { formatDuration, ticks } from '../format.js';

test('durations read as the server writes them (format_duration)', () => {
  assert.equal(formatDuration(850), '850 ns');
  assert.equal(formatDuration(12_345), '12.3 µs');
  assert.equal(formatDuration(4_560_000), '4.56 ms');
  assert.equal(formatDuration(2_500_000_000), '2.50 s');
  assert.equal(formatDuration(185e9), '3m 05s');
  assert.equal(formatDuration(3725e9), '1h 02m');
});

test('axis ticks are round steps inside the window', () => {
  assert.deepEqual(ticks(0, 1000, 5), [0, 200, 400, 600, 800, 1000]);
  assert.deepEqual(ticks(150, 1000, 4), [200, 400, 600, 800, 1000]);
  const t = ticks(0, 2.5e9, 5);
  assert.deepEqual(t, [0, 5e8, 1e9, 1.5e9, 2e9, 2.5e9]);
});
