// A trace: its waterfall, span table and flame graph, redrawn when spans of it arrive.
import { startLive } from './live.js';
import { mount } from './waterfall.js';

mount();
performance.mark('trace-drawn');
startLive(document, () => mount());
