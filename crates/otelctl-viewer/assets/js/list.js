// The trace list (and the pages shown in its place: not found).
import { startLive } from './live.js';

startLive();
