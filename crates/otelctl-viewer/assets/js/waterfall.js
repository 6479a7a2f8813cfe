// The waterfall: selecting a bar shows its span's details without a reload (the URL keeps
// ?span=, so a refresh shows the same selection); the ▾ toggle collapses a subtree.

/**
 * Which rows show when some are collapsed: `rows` in depth-first order, each {depth,
 * collapsed}; returns, per row, its visual row index or -1 when hidden under a collapsed
 * ancestor.
 */
export function visibleRows(rows) {
  const out = [];
  let hideBelow = -1;
  let shown = 0;
  for (const r of rows) {
    if (hideBelow >= 0 && r.depth > hideBelow) { out.push(-1); continue; }
    hideBelow = r.collapsed ? r.depth : -1;
    out.push(shown);
    shown += 1;
  }
  return out;
}

/** Moves the bars to their visual rows and fits the SVG's height. */
function relayout(svg) {
  const rh = Number(svg.dataset.rowHeight);
  const ah = Number(svg.dataset.axisHeight);
  const bars = [...svg.querySelectorAll('a.bar')];
  const rows = visibleRows(bars.map((a) => ({
    depth: Number(a.dataset.depth),
    collapsed: a.classList.contains('collapsed'),
  })));
  bars.forEach((a, i) => {
    if (rows[i] < 0) { a.style.display = 'none'; return; }
    a.style.display = '';
    a.setAttribute('transform', `translate(0,${(rows[i] - Number(a.dataset.row)) * rh})`);
  });
  const shown = rows.filter((r) => r >= 0).length;
  const h = ah + rh * shown + 4;
  const vb = svg.viewBox.baseVal;
  svg.setAttribute('viewBox', `0 0 ${vb.width} ${h}`);
  svg.querySelectorAll('line.tick').forEach((l) => l.setAttribute('y2', h));
}

/** Marks span `sid` selected and shows its details. */
export function select(doc, sid) {
  doc.querySelectorAll('a.bar').forEach((a) => a.classList.toggle('selected', a.dataset.span === sid));
  doc.querySelectorAll('section.attrs').forEach((s) => { s.hidden = s.dataset.span !== sid; });
  const u = new URL(location.href);
  u.searchParams.set('span', sid);
  history.replaceState(null, '', u);
}

/** Handles clicks on bars (delegated, so it survives live updates of the fragment). */
export function bindWaterfall(doc = document) {
  doc.addEventListener('click', (ev) => {
    const a = ev.target.closest && ev.target.closest('a.bar');
    if (!a) return;
    ev.preventDefault();
    if (ev.target.classList && ev.target.classList.contains('toggle')) {
      a.classList.toggle('collapsed');
      ev.target.textContent = a.classList.contains('collapsed') ? '▸' : '▾';
      relayout(a.ownerSVGElement || a.closest('svg'));
      return;
    }
    select(doc, a.dataset.span);
  });
}
