// A trace: its waterfall and live updates when spans of it arrive.
import { startLive } from './live.js';
import { bindWaterfall } from './waterfall.js';

bindWaterfall();
startLive();
