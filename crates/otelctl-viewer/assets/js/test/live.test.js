import { test } from 'node:test';
import assert from 'node:assert/strict';

import { concerns, fragmentUrl, parseChange } from '../live.js';

test('the fragment of a trace page names the trace and keeps the query', () => {
  assert.equal(fragmentUrl('trace', 'ab', '?span=01'), '/fragment/trace/ab?span=01');
  assert.equal(fragmentUrl('list', undefined, '?service=web'), '/fragment/traces?service=web');
});

test('a trace page refreshes only for its own trace, a clear or a reset', () => {
  assert.equal(concerns('trace', 'ab', { traces: ['cd'] }), false);
  assert.equal(concerns('trace', 'ab', { traces: ['cd', 'ab'] }), true);
  assert.equal(concerns('trace', 'ab', { cleared: true }), true);
  assert.equal(concerns('trace', 'ab', { reset: true }), true);
  assert.equal(concerns('trace', 'ab', {}), false);
  assert.equal(concerns('list', undefined, { traces: [] }), true);
});

test('unreadable event data counts as a reset', () => {
  assert.deepEqual(parseChange('{"traces":["ab"]}'), { traces: ['ab'] });
  assert.deepEqual(parseChange('not json'), { reset: true });
  assert.deepEqual(parseChange('null'), { reset: true });
});

test('the logs and metrics pages refresh for their own signal; the list not for theirs alone', () => {
  assert.equal(fragmentUrl('logs', undefined, '?grep=x'), '/fragment/logs?grep=x');
  assert.equal(fragmentUrl('metrics', undefined, ''), '/fragment/metrics');
  assert.equal(concerns('logs', undefined, { traces: ['ab'] }), false);
  assert.equal(concerns('logs', undefined, { traces: [], logs: true }), true);
  assert.equal(concerns('metrics', undefined, { logs: true }), false);
  assert.equal(concerns('metrics', undefined, { metrics: true }), true);
  assert.equal(concerns('metrics', undefined, { cleared: true }), true);
  assert.equal(concerns('list', undefined, { traces: [], logs: true }), false);
  assert.equal(concerns('list', undefined, { traces: ['ab'], metrics: true }), true);
  // A trace page: its own trace's logs.
  assert.equal(concerns('trace', 'ab', { logs: true, log_traces: ['cd'] }), false);
  assert.equal(concerns('trace', 'ab', { logs: true, log_traces: ['ab'] }), true);
});
