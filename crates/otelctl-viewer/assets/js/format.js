// Number formatting shared by the pages' modules, matching the server's (format_duration).

const pad = (n) => String(n).padStart(2, '0');

/** A duration in nanoseconds as the server writes it: `850 ns`, `12.3 µs`, `4.56 ms`, `2.50 s`, `3m 05s`, `1h 02m`. */
export function formatDuration(ns) {
  if (ns < 1e3) return `${Math.round(ns)} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(1)} µs`;
  if (ns < 1e9) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns < 60e9) return `${(ns / 1e9).toFixed(2)} s`;
  const s = Math.floor(ns / 1e9);
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  return `${Math.floor(s / 3600)}h ${pad(Math.floor(s / 60) % 60)}m`;
}

/** Tick values for a time axis over [lo, hi] ns: about `count` round steps (1, 2, 5 × 10^k). */
export function ticks(lo, hi, count = 5) {
  const span = Math.max(hi - lo, 1);
  const raw = span / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow)
    .reduce((best, s) => (Math.abs(span / s - count) < Math.abs(span / best - count) ? s : best));
  const out = [];
  for (let k = Math.ceil(lo / step); k * step <= hi; k += 1) out.push(k * step);
  return out;
}
