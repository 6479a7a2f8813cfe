import { test } from 'node:test';
import assert from 'node:assert/strict';

import { overflow, splitMatches, tailUrl, terms } from '../logs.js';

test('the tail asks for what is newer than the newest row, with the same filter', () => {
  assert.equal(
    tailUrl('?service=web&grep=refused&severity=warn&after=3', 41),
    '/fragment/logs/rows?service=web&grep=refused&severity=warn&after=41',
  );
  assert.equal(tailUrl('', 0), '/fragment/logs/rows?after=0');
  // A trace filter with its span: both kept.
  assert.equal(
    tailUrl('?trace=ab&span=cd', 7),
    '/fragment/logs/rows?trace=ab&span=cd&after=7',
  );
});

test('at most the limit stays', () => {
  assert.equal(overflow(205, 200), 5);
  assert.equal(overflow(10, 200), 0);
});

test('the text filter is whole words, any case, as the store matches them', () => {
  assert.deepEqual(terms('  Connection  "refused" connection '), ['connection', 'refused']);
  assert.deepEqual(terms(null), []);
  const pieces = splitMatches('connection refused; reconnection REFUSED.', terms('refused connection'));
  assert.deepEqual(pieces, [
    { text: 'connection', hit: true },
    { text: ' ', hit: false },
    { text: 'refused', hit: true },
    { text: '; reconnection ', hit: false },
    { text: 'REFUSED', hit: true },
    { text: '.', hit: false },
  ]);
  assert.equal(pieces.map((p) => p.text).join(''), 'connection refused; reconnection REFUSED.');
  assert.deepEqual(splitMatches('<b>x</b>', []), [{ text: '<b>x</b>', hit: false }]);
  assert.deepEqual(splitMatches('naïve café', ['café']), [{ text: 'naïve ', hit: false }, { text: 'café', hit: true }]);
});
