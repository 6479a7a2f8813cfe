// Live updates: an EventSource on /events; a `change` event that concerns this page re-fetches
// the page's fragment and swaps it into <main id="live">, keeping what the user is doing (a
// filter being typed, the A/B picks of a comparison). The body carries data-sse (open/closed)
// and data-updates (fragments applied), which the browser tests read.

/** The URL of the fragment that replaces <main id="live"> on `page`. */
export function fragmentUrl(page, trace, search) {
  if (page === 'trace') return '/fragment/trace/' + trace + search;
  if (page === 'logs' || page === 'metrics') return '/fragment/' + page + search;
  return '/fragment/traces' + search;
}

/** Whether a `change` event (its parsed data) concerns `page` (showing `trace` on a trace page). */
export function concerns(page, trace, data) {
  if (data.reset || data.cleared) return true;
  if (page === 'logs') return Boolean(data.logs);
  if (page === 'metrics') return Boolean(data.metrics);
  const traces = data.traces || [];
  if (page === 'trace') return traces.includes(trace) || (data.log_traces || []).includes(trace);
  // The list: anything but an event about logs or metrics alone.
  return traces.length > 0 || !(data.logs || data.metrics);
}

/** Parses an event's data; an unreadable one counts as a reset (refresh whole). */
export function parseChange(text) {
  try {
    const data = JSON.parse(text);
    return data && typeof data === 'object' ? data : { reset: true };
  } catch {
    return { reset: true };
  }
}

/** Swaps `html` into `live`, keeping the focused filter field and the compare picks. */
function apply(doc, live, html) {
  const tpl = doc.createElement('template');
  tpl.innerHTML = html;
  const oldForm = doc.getElementById('filters');
  const newForm = tpl.content.getElementById('filters');
  const focused = doc.activeElement;
  const keep = oldForm && newForm && oldForm.contains(focused);
  const caret = keep && typeof focused.selectionStart === 'number'
    ? [focused.selectionStart, focused.selectionEnd] : null;
  if (keep) newForm.replaceWith(oldForm);
  const picked = [...doc.querySelectorAll('#compare-form input:checked')]
    .map((i) => [i.name, i.value]);
  live.replaceChildren(tpl.content);
  if (keep) {
    focused.focus();
    if (caret) {
      try { focused.setSelectionRange(caret[0], caret[1]); } catch { /* not a text field */ }
    }
  }
  for (const [name, value] of picked) {
    const input = doc.querySelector(`#compare-form input[name="${name}"][value="${value}"]`);
    if (input) input.checked = true;
  }
}

/**
 * Starts live updates for the current page; `onUpdate` runs after each applied fragment.
 * `onChange(data, refresh)`, when given, sees each change first and returns true when it has
 * handled it (the logs page's tail adds rows instead of refreshing the whole fragment).
 */
export function startLive(doc = document, onUpdate = () => {}, onChange = null) {
  const body = doc.body;
  const live = doc.getElementById('live');
  const status = doc.getElementById('live-status');
  const { page, trace } = body.dataset;
  let busy = false;
  let again = false;
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(fragmentUrl(page, trace, location.search), { cache: 'no-store' })
      .then((r) => r.text())
      .then((html) => {
        apply(doc, live, html);
        body.dataset.updates = String(Number(body.dataset.updates || 0) + 1);
        onUpdate();
      })
      .catch(() => {})
      .then(() => {
        busy = false;
        if (again) { again = false; refresh(); }
      });
  }
  if (!window.EventSource) return refresh;
  const es = new EventSource('/events');
  es.onopen = () => { body.dataset.sse = 'open'; status.textContent = 'live'; };
  es.onerror = () => { body.dataset.sse = 'closed'; status.textContent = 'reconnecting…'; };
  es.addEventListener('change', (ev) => {
    const data = parseChange(ev.data);
    if (onChange && onChange(data, refresh)) return;
    if (concerns(page, trace, data)) refresh();
  });
  return refresh;
}

/** Pages that show a snapshot (no live updates) say so. */
export function snapshot(doc = document) {
  doc.getElementById('live-status').textContent = 'snapshot';
}
