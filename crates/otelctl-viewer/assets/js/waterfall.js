// The trace page's views of one trace, drawn from the JSON the server embeds
// (<script id="trace-data">, crates/otelctl-viewer/src/waterfall.rs): the waterfall (only the
// rows in view are in the DOM, so a trace of any size is cheap), the span table and the flame
// graph; find-in-trace, next error, zoom with a minimap, a sticky time axis, keyboard
// navigation, and the selected span's details in the side panel (fetched from the server; the
// URL keeps ?span=, so a reload or a shared link shows the same span).
//
// A row is [span id, depth, start offset ns, duration ns, name index, service index, flags,
// children, event offsets ns]; flags: 1 error, 2 critical path, 4 parent not received.

import { formatDuration, ticks } from './format.js';

export const ERROR = 1;
export const CRITICAL = 2;
export const ORPHAN = 4;
/** Row height in px (CSS: .waterfall .row). */
export const ROW = 22;
/** Rows drawn above and below the ones in view. */
const OVERSCAN = 15;

// ---------------------------------------------------------------------------------------------
// The model: pure functions, unit-tested in node (test/waterfall.test.js).

/** The parent row of each row (-1 for a root), from the depths of a depth-first order. */
export function parents(rows) {
  const out = new Array(rows.length);
  const stack = [];
  for (let i = 0; i < rows.length; i += 1) {
    const depth = rows[i][1];
    stack.length = depth;
    out[i] = depth > 0 ? stack[depth - 1] ?? -1 : -1;
    stack[depth] = i;
  }
  return out;
}

/** The rows that show (indices, in order) when the rows in `collapsed` hide their subtrees. */
export function visible(rows, collapsed) {
  if (collapsed.size === 0) return rows.map((_, i) => i);
  const out = [];
  let hideBelow = -1;
  for (let i = 0; i < rows.length; i += 1) {
    const depth = rows[i][1];
    if (hideBelow >= 0 && depth > hideBelow) continue;
    hideBelow = collapsed.has(i) ? depth : -1;
    out.push(i);
  }
  return out;
}

/** Opens every collapsed ancestor of `row`; true when something changed. */
export function reveal(row, parentOf, collapsed) {
  let changed = false;
  for (let p = parentOf[row]; p >= 0; p = parentOf[p]) {
    if (collapsed.delete(p)) changed = true;
  }
  return changed;
}

/** The entry of the ascending `list` after (dir 1) or before (dir -1) `current`, wrapping. */
export function step(list, current, dir) {
  if (list.length === 0) return -1;
  if (dir > 0) return list.find((r) => r > current) ?? list[0];
  for (let i = list.length - 1; i >= 0; i -= 1) if (list[i] < current) return list[i];
  return list[list.length - 1];
}

/** Where a span sits in the time window [lo, hi]: left and width in %, or null when outside. */
export function place(start, dur, lo, hi) {
  const end = start + dur;
  if (end < lo || start > hi) return null;
  const w = hi - lo || 1;
  const left = (Math.max(start, lo) - lo) / w * 100;
  const right = (Math.min(end, hi) - lo) / w * 100;
  return { left, width: Math.max(right - left, 0) };
}

/** A window `factor` times as wide around `centre`, kept inside [0, total]. */
export function zoom(lo, hi, factor, centre, total) {
  const width = Math.min(Math.max((hi - lo) * factor, 1), total);
  let a = centre - width / 2;
  a = Math.max(0, Math.min(a, total - width));
  return [a, a + width];
}

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// ---------------------------------------------------------------------------------------------
// The page.

/** Everything the views share; kept across live updates, which replace the page's fragment. */
const state = {
  trace: null, collapsed: new Set(), window: null, view: 'waterfall', query: '', matches: [],
  scroll: 0,
};

/** The severity classes a log mark may carry (anything else is drawn as info). */
const SEVERITY = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'unspecified']);

/** The trace's log marks ([row, offset, severity] each) by row: row -> [[offset, severity]]. */
export function logsByRow(marks) {
  const out = new Map();
  for (const [row, at, sev] of marks || []) {
    if (!out.has(row)) out.set(row, []);
    out.get(row).push([at, sev]);
  }
  return out;
}

class TraceView {
  constructor(doc, data) {
    this.doc = doc;
    this.data = data;
    this.rows = data.rows;
    this.parentOf = parents(this.rows);
    this.errors = [];
    this.rows.forEach((r, i) => { if (r[6] & ERROR) this.errors.push(i); });
    this.logs = logsByRow(data.logs);
    this.el = {
      view: doc.getElementById('trace-view'),
      waterfall: doc.getElementById('waterfall'),
      table: doc.getElementById('span-table'),
      flame: doc.getElementById('flame'),
      minimap: doc.getElementById('minimap'),
      details: doc.getElementById('details'),
      find: doc.getElementById('find'),
      count: doc.getElementById('find-count'),
      zoomReset: doc.getElementById('zoom-reset'),
    };
    if (state.trace !== data.trace) {
      Object.assign(state, {
        trace: data.trace, collapsed: new Set(), window: null, view: 'waterfall', query: '',
        matches: [], scroll: 0,
      });
    }
    this.selected = data.selected ?? -1;
    this.list = visible(this.rows, state.collapsed);
    this.pos = new Map();
    this.el.waterfall.innerHTML = '<div class="axis"><div class="axis-label">span</div><div class="ticks"></div></div><div class="rows"></div>';
    this.axis = this.el.waterfall.querySelector('.ticks');
    this.body = this.el.waterfall.querySelector('.rows');
    this.el.find.value = state.query;
    this.bind();
    this.relist();
    this.drawMinimap();
    this.setView(state.view);
    this.el.waterfall.scrollTop = state.scroll;
    if (this.selected >= 0) this.show(this.selected, { fetch: false });
    this.draw();
    this.el.waterfall.dataset.ready = '1';
  }

  get window() {
    return state.window || [0, this.data.duration];
  }

  relist() {
    this.list = visible(this.rows, state.collapsed);
    this.pos = new Map(this.list.map((r, i) => [r, i]));
    this.body.style.height = `${this.list.length * ROW}px`;
    // As tall as the rows (and the axis), at most most of the screen.
    this.el.waterfall.style.height = `min(70vh, ${this.list.length * ROW + 26}px)`;
  }

  // --- drawing -------------------------------------------------------------------------------

  draw() {
    if (state.view === 'waterfall') this.drawRows();
    else if (state.view === 'table') this.drawTable();
    else this.drawFlame();
    this.drawWindow();
  }

  drawRows() {
    const wf = this.el.waterfall;
    const [lo, hi] = this.window;
    const top = Math.max(0, Math.floor(wf.scrollTop / ROW) - OVERSCAN);
    const end = Math.min(this.list.length, Math.ceil((wf.scrollTop + wf.clientHeight) / ROW) + OVERSCAN);
    const { names, services, colours } = this.data;
    const matched = new Set(state.matches);
    let html = '';
    for (let k = top; k < end; k += 1) {
      const i = this.list[k];
      const [sid, depth, off, dur, name, svc, flags, kids, events] = this.rows[i];
      let cls = 'row';
      if (flags & ERROR) cls += ' error';
      if (flags & CRITICAL) cls += ' critical';
      if (i === this.selected) cls += ' selected';
      if (matched.has(i)) cls += ' match';
      if (state.collapsed.has(i)) cls += ' collapsed';
      const p = place(off, dur, lo, hi);
      let lane = '';
      if (p) {
        lane += `<div class="bar" style="left:${p.left.toFixed(3)}%;width:${p.width.toFixed(3)}%;--c:${colours[svc]}"></div>`;
        for (const e of events) {
          const ep = place(e, 0, lo, hi);
          if (ep) lane += `<i class="ev" style="left:${ep.left.toFixed(3)}%"></i>`;
        }
        for (const [at, sev] of this.logs.get(i) || []) {
          const lp = place(at, 0, lo, hi);
          if (lp) lane += `<i class="logmark ${SEVERITY.has(sev) ? sev : 'info'}" style="left:${lp.left.toFixed(3)}%" title="log (${sev})"></i>`;
        }
        const after = p.left + p.width;
        const text = `${flags & ERROR ? '✖ ' : ''}${formatDuration(dur)}`;
        if (after < 82) lane += `<span class="dur" style="left:${(after + 0.5).toFixed(3)}%">${text}</span>`;
        else if (p.left > 18) lane += `<span class="dur" style="right:${(100.5 - p.left).toFixed(3)}%">${text}</span>`;
        else lane += `<span class="dur inside" style="right:${(100.5 - after).toFixed(3)}%">${text}</span>`;
      }
      const toggle = kids > 0
        ? `<span class="toggle" title="collapse or expand (← →)">${state.collapsed.has(i) ? '▸' : '▾'}</span>`
        : '<span class="toggle-space"></span>';
      html += `<div class="${cls}" role="treeitem" data-row="${i}" data-span="${sid}" data-depth="${depth}" style="top:${k * ROW}px">`
        + `<div class="label" style="padding-left:${4 + Math.min(depth, 24) * 12}px">${toggle}<span class="name">${esc(names[name])}</span>`
        + `<span class="svc" style="--c:${colours[svc]}">${esc(services[svc])}</span></div>`
        + `<div class="lane">${lane}</div></div>`;
    }
    this.body.innerHTML = html;
    this.el.waterfall.dataset.drawn = String(end - top);
    this.drawAxis();
  }

  drawAxis() {
    const [lo, hi] = this.window;
    this.axis.innerHTML = ticks(lo, hi, 5).map((t) => {
      const p = place(t, 0, lo, hi);
      return `<span class="tick" style="left:${p.left.toFixed(3)}%">${formatDuration(t)}</span>`;
    }).join('');
  }

  drawTable() {
    const { names, services } = this.data;
    const source = state.query ? state.matches : this.rows.map((_, i) => i);
    const sorted = [...source].sort((a, b) => this.rows[b][3] - this.rows[a][3]);
    const most = 500;
    let html = `<p class="hint">${sorted.length} span${sorted.length === 1 ? '' : 's'}${state.query ? ' matching the find' : ''}, longest first${sorted.length > most ? `; the first ${most} shown` : ''}.</p>`
      + '<table class="spans"><thead><tr><th>span</th><th>service</th><th class="num">duration</th><th class="num">start</th><th>status</th></tr></thead><tbody>';
    for (const i of sorted.slice(0, most)) {
      const [sid, , off, dur, name, svc, flags] = this.rows[i];
      html += `<tr class="span-row${flags & ERROR ? ' error' : ''}${i === this.selected ? ' selected' : ''}" data-row="${i}" data-span="${sid}"><td class="name">${esc(names[name])}</td><td>${esc(services[svc])}</td><td class="num">${formatDuration(dur)}</td><td class="num">+${formatDuration(off)}</td><td class="status">${flags & ERROR ? 'error' : 'ok'}</td></tr>`;
    }
    this.el.table.innerHTML = `${html}</tbody></table>`;
  }

  drawFlame() {
    const canvas = this.el.flame.querySelector('canvas');
    const [lo, hi] = this.window;
    const depth = this.rows.reduce((m, r) => Math.max(m, r[1]), 0);
    const H = 18;
    const width = this.el.flame.clientWidth || 800;
    const height = Math.min((depth + 1) * H, 8000);
    const ratio = window.devicePixelRatio || 1;
    canvas.width = width * ratio;
    canvas.height = height * ratio;
    canvas.style.height = `${height}px`;
    const g = canvas.getContext('2d');
    g.scale(ratio, ratio);
    g.font = '11px system-ui, sans-serif';
    g.textBaseline = 'middle';
    const { names, colours } = this.data;
    const err = getComputedStyle(this.doc.body).getPropertyValue('--err') || '#d83a3a';
    for (let i = 0; i < this.rows.length; i += 1) {
      const [, d, off, dur, name, svc, flags] = this.rows[i];
      const p = place(off, dur, lo, hi);
      if (!p || d * H >= height) continue;
      const x = p.left / 100 * width;
      const w = Math.max(p.width / 100 * width, 0.5);
      g.fillStyle = flags & ERROR ? err : colours[svc];
      g.fillRect(x, d * H, w - (w > 2 ? 1 : 0), H - 1);
      if (i === this.selected) {
        g.strokeStyle = '#f5b400';
        g.lineWidth = 2;
        g.strokeRect(x + 1, d * H + 1, Math.max(w - 2, 1), H - 3);
      }
      if (w > 40) {
        g.fillStyle = '#fff';
        g.fillText(names[name], x + 3, d * H + H / 2, w - 6);
      }
    }
    this.flameRow = H;
  }

  drawMinimap() {
    const canvas = this.el.minimap.querySelector('canvas');
    const width = this.el.minimap.clientWidth || 800;
    const height = 40;
    canvas.width = width;
    canvas.height = height;
    const g = canvas.getContext('2d');
    const total = this.data.duration || 1;
    const n = this.rows.length || 1;
    const { colours } = this.data;
    const paint = (want) => {
      for (let i = 0; i < this.rows.length; i += 1) {
        const [, , off, dur, , svc, flags] = this.rows[i];
        if (Boolean(flags & ERROR) !== want) continue;
        g.fillStyle = want ? '#d83a3a' : colours[svc];
        const x = off / total * width;
        g.fillRect(x, Math.floor(i / n * (height - 2)), Math.max(dur / total * width, 1), want ? 2 : 1);
      }
    };
    paint(false);
    paint(true);
  }

  drawWindow() {
    const box = this.el.minimap.querySelector('.window');
    const total = this.data.duration || 1;
    const [lo, hi] = this.window;
    const zoomed = state.window !== null;
    box.hidden = !zoomed;
    this.el.zoomReset.disabled = !zoomed;
    box.style.left = `${lo / total * 100}%`;
    box.style.width = `${(hi - lo) / total * 100}%`;
  }

  setView(view) {
    state.view = view;
    this.el.view.dataset.view = view;
    this.el.waterfall.hidden = view !== 'waterfall';
    this.el.table.hidden = view !== 'table';
    this.el.flame.hidden = view !== 'flame';
    this.doc.querySelectorAll('#toolbar [data-view]').forEach((b) => {
      b.setAttribute('aria-selected', String(b.dataset.view === view));
    });
  }

  // --- selection -----------------------------------------------------------------------------

  /** Selects row `i`: opens its ancestors, scrolls it into view, shows its details. */
  show(i, { fetch: load = true } = {}) {
    if (i < 0 || i >= this.rows.length) return;
    this.selected = i;
    if (reveal(i, this.parentOf, state.collapsed)) this.relist();
    const wf = this.el.waterfall;
    const y = this.pos.get(i) * ROW;
    const axis = 24;
    if (y < wf.scrollTop || y + ROW > wf.scrollTop + wf.clientHeight - axis) {
      wf.scrollTop = Math.max(0, y - wf.clientHeight / 3);
    }
    const sid = this.rows[i][0];
    const u = new URL(location.href);
    u.searchParams.set('span', sid);
    history.replaceState(null, '', u);
    if (load) {
      const want = sid;
      fetch(`/fragment/span/${this.data.trace}/${sid}`, { cache: 'no-store' })
        .then((r) => r.text())
        .then((html) => { if (this.rows[this.selected][0] === want) this.el.details.innerHTML = html; })
        .catch(() => {});
    }
    this.draw();
  }

  move(delta) {
    const k = this.pos.get(this.selected);
    const next = k === undefined ? 0 : Math.max(0, Math.min(this.list.length - 1, k + delta));
    this.show(this.list[next]);
  }

  toggle(i, open) {
    if (this.rows[i][7] === 0) return;
    const isOpen = !state.collapsed.has(i);
    if (open === isOpen) return;
    if (isOpen) state.collapsed.add(i); else state.collapsed.delete(i);
    this.relist();
    this.draw();
  }

  nextError(dir = 1) {
    const i = step(this.errors, this.selected, dir);
    if (i >= 0) this.show(i);
  }

  nextMatch(dir = 1) {
    const i = step(state.matches, this.selected, dir);
    if (i >= 0) this.show(i);
    this.countMatches();
  }

  countMatches() {
    const n = state.matches.length;
    const at = state.matches.indexOf(this.selected);
    this.el.count.textContent = !state.query ? ''
      : n === 0 ? 'no match' : `${at >= 0 ? `${at + 1} of ` : ''}${n} match${n === 1 ? '' : 'es'}`;
  }

  find(query) {
    state.query = query.trim();
    if (!state.query) {
      state.matches = [];
      this.countMatches();
      this.draw();
      return;
    }
    const asked = state.query;
    fetch(`/api/trace/${this.data.trace}/find?q=${encodeURIComponent(asked)}`, { cache: 'no-store' })
      .then((r) => r.json())
      .then((found) => {
        if (state.query !== asked) return;
        state.matches = found.rows;
        if (state.matches.length > 0 && !state.matches.includes(this.selected)) {
          this.show(step(state.matches, this.selected, 1));
        } else {
          this.draw();
        }
        this.countMatches();
      })
      .catch(() => {});
  }

  setWindow(w) {
    const total = this.data.duration;
    state.window = w && (w[1] - w[0] < total) ? w : null;
    this.draw();
  }

  // --- events --------------------------------------------------------------------------------

  bind() {
    const { waterfall, table, flame, minimap, find } = this.el;
    waterfall.addEventListener('scroll', () => {
      state.scroll = waterfall.scrollTop;
      if (!this.frame) {
        this.frame = requestAnimationFrame(() => { this.frame = 0; this.drawRows(); });
      }
    });
    waterfall.addEventListener('click', (ev) => {
      const row = ev.target.closest('.row');
      if (!row) return;
      const i = Number(row.dataset.row);
      if (ev.target.classList.contains('toggle')) this.toggle(i, state.collapsed.has(i));
      else this.show(i);
    });
    table.addEventListener('click', (ev) => {
      const tr = ev.target.closest('tr[data-row]');
      if (tr) this.show(Number(tr.dataset.row));
    });
    flame.addEventListener('click', (ev) => {
      const rect = flame.querySelector('canvas').getBoundingClientRect();
      const depth = Math.floor((ev.clientY - rect.top) / this.flameRow);
      const [lo, hi] = this.window;
      const t = lo + (ev.clientX - rect.left) / rect.width * (hi - lo);
      const hit = this.rows.findIndex((r) => r[1] === depth && r[2] <= t && t <= r[2] + r[3]);
      if (hit >= 0) this.show(hit);
    });
    let drag = null;
    const at = (ev) => {
      const r = minimap.getBoundingClientRect();
      return Math.max(0, Math.min(1, (ev.clientX - r.left) / r.width)) * this.data.duration;
    };
    minimap.addEventListener('mousedown', (ev) => { drag = at(ev); ev.preventDefault(); });
    minimap.addEventListener('mousemove', (ev) => {
      if (drag === null) return;
      const t = at(ev);
      state.window = [Math.min(drag, t), Math.max(drag, t) + 1];
      this.drawWindow();
    });
    minimap.addEventListener('mouseup', (ev) => {
      if (drag === null) return;
      const t = at(ev);
      const w = Math.abs(t - drag) < this.data.duration / 500 ? null : [Math.min(drag, t), Math.max(drag, t)];
      drag = null;
      this.setWindow(w);
    });
    minimap.addEventListener('dblclick', () => this.setWindow(null));
    let timer = 0;
    find.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(() => this.find(find.value), 150);
    });
    find.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') { ev.preventDefault(); this.nextMatch(ev.shiftKey ? -1 : 1); }
      if (ev.key === 'Escape') find.blur();
    });
  }

  key(ev) {
    const keys = {
      ArrowDown: () => this.move(1),
      j: () => this.move(1),
      ArrowUp: () => this.move(-1),
      k: () => this.move(-1),
      ArrowLeft: () => {
        const i = this.selected;
        if (i < 0) return;
        if (this.rows[i][7] > 0 && !state.collapsed.has(i)) this.toggle(i, false);
        else if (this.parentOf[i] >= 0) this.show(this.parentOf[i]);
      },
      ArrowRight: () => { if (this.selected >= 0) this.toggle(this.selected, true); },
      '/': () => { this.el.find.focus(); this.el.find.select(); },
      n: () => this.nextMatch(1),
      N: () => this.nextMatch(-1),
      e: () => this.nextError(1),
      E: () => this.nextError(-1),
      '+': () => this.zoomBy(0.5),
      '=': () => this.zoomBy(0.5),
      '-': () => this.zoomBy(2),
      0: () => this.setWindow(null),
    };
    const run = keys[ev.key];
    if (!run) return;
    ev.preventDefault();
    run();
  }

  zoomBy(factor) {
    const [lo, hi] = this.window;
    const s = this.selected >= 0 ? this.rows[this.selected] : null;
    const centre = s ? s[2] + s[3] / 2 : (lo + hi) / 2;
    this.setWindow(zoom(lo, hi, factor, centre, this.data.duration));
  }
}

let current = null;
let bound = false;

/** Draws the trace page's views from its embedded data (again after each live update). */
export function mount(doc = document) {
  const script = doc.getElementById('trace-data');
  if (!script) { current = null; return; }
  current = new TraceView(doc, JSON.parse(script.textContent));
  if (bound) return;
  bound = true;
  doc.addEventListener('keydown', (ev) => {
    const t = ev.target;
    if (!current || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT')) return;
    current.key(ev);
  });
  doc.addEventListener('click', (ev) => {
    const b = ev.target.closest && ev.target.closest('#toolbar button');
    if (!b || !current) return;
    if (b.dataset.view) { current.setView(b.dataset.view); current.draw(); }
    if (b.id === 'next-error') current.nextError(1);
    if (b.id === 'find-next') current.nextMatch(1);
    if (b.id === 'find-prev') current.nextMatch(-1);
    if (b.id === 'zoom-reset') current.setWindow(null);
  });
  window.addEventListener('resize', () => { if (current) { current.drawMinimap(); current.draw(); } });
}
