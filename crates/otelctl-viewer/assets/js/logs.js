// The logs page: the live tail adds records newer than the newest shown (server-rendered rows
// from /fragment/logs/rows?<filter>&after=<id>) at the top, keeps at most the page's limit,
// and marks the words of the text filter in the bodies. A clear or a reset refreshes the whole
// fragment (live.js).
import { startLive } from './live.js';

/** The URL of the rows after record `afterId` that match the filter in `search`. */
export function tailUrl(search, afterId) {
  const p = new URLSearchParams(search);
  p.delete('after');
  p.set('after', String(afterId));
  return `/fragment/logs/rows?${p}`;
}

/** How many rows to drop from the bottom so that at most `limit` remain. */
export function overflow(count, limit) {
  return Math.max(0, count - limit);
}

/**
 * The words of the text filter (`grep`), lower case, as the store matches them: whole words,
 * any case, every one required.
 */
export function terms(grep) {
  return [...new Set((grep || '').toLowerCase().split(/\s+/).map((w) => w.replace(/^"+|"+$/g, ''))
    .filter(Boolean))];
}

const WORD = /[\p{L}\p{N}_]+/gu;

/**
 * `text` cut into [{text, hit}] pieces, `hit` where a whole word equals one of `words` (any
 * case). Joined, the pieces are `text` again.
 */
export function splitMatches(text, words) {
  if (!words.length) return [{ text, hit: false }];
  const set = new Set(words);
  const out = [];
  let at = 0;
  for (const m of text.matchAll(WORD)) {
    if (!set.has(m[0].toLowerCase())) continue;
    if (m.index > at) out.push({ text: text.slice(at, m.index), hit: false });
    out.push({ text: m[0], hit: true });
    at = m.index + m[0].length;
  }
  if (at < text.length) out.push({ text: text.slice(at), hit: false });
  return out;
}

/** Wraps the filter's words in the bodies of `rows` in <mark> (text nodes only). */
export function highlight(doc, rows, words) {
  if (!words.length) return;
  for (const row of rows) {
    const text = row.querySelector('td.body .text');
    if (!text) continue;
    for (const node of [...text.childNodes]) {
      if (node.nodeType !== 3) continue;
      const pieces = splitMatches(node.data, words);
      if (pieces.length === 1 && !pieces[0].hit) continue;
      const frag = doc.createDocumentFragment();
      for (const p of pieces) {
        if (p.hit) {
          const m = doc.createElement('mark');
          m.textContent = p.text;
          frag.appendChild(m);
        } else {
          frag.appendChild(doc.createTextNode(p.text));
        }
      }
      node.replaceWith(frag);
    }
  }
}

function startTail(doc) {
  const body = doc.body;
  const words = () => terms(new URLSearchParams(location.search).get('grep'));
  let busy = false;
  let again = false;
  function tail() {
    const rows = doc.getElementById('log-rows');
    const box = doc.getElementById('tail');
    if (!rows || (box && !box.checked)) return;
    if (busy) { again = true; return; }
    busy = true;
    const last = Number(rows.dataset.lastId || 0);
    fetch(tailUrl(location.search, last), { cache: 'no-store' })
      .then((r) => (r.ok ? r.text() : ''))
      .then((html) => {
        const tpl = doc.createElement('template');
        tpl.innerHTML = html;
        const fresh = [...tpl.content.querySelectorAll('tr.log')];
        if (fresh.length === 0) return;
        for (const tr of fresh) tr.classList.add('fresh');
        highlight(doc, fresh, words());
        rows.prepend(tpl.content);
        const newest = Math.max(last, ...fresh.map((tr) => Number(tr.dataset.id)));
        rows.dataset.lastId = String(newest);
        const all = rows.querySelectorAll('tr.log');
        const drop = overflow(all.length, Number(rows.dataset.limit || all.length));
        for (let i = 0; i < drop; i += 1) all[all.length - 1 - i].remove();
        const count = doc.getElementById('log-count');
        if (count) count.dataset.shown = String(rows.querySelectorAll('tr.log').length);
        const empty = doc.getElementById('no-logs');
        if (empty) empty.remove();
        body.dataset.tailed = String(Number(body.dataset.tailed || 0) + fresh.length);
        // A full answer may have left newer records behind.
        if (fresh.length >= Number(rows.dataset.limit || Infinity)) again = true;
      })
      .catch(() => {})
      .then(() => {
        busy = false;
        if (again) { again = false; tail(); }
      });
  }
  doc.addEventListener('change', (ev) => {
    if (ev.target && ev.target.id === 'tail' && ev.target.checked) tail();
  });
  highlight(doc, doc.querySelectorAll('tr.log'), words());
  startLive(doc, () => highlight(doc, doc.querySelectorAll('tr.log'), words()), (data) => {
    if (data.reset || data.cleared) return false;
    if (data.logs) tail();
    return true;
  });
}

if (typeof document !== 'undefined') startTail(document);
