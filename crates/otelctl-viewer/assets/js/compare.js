// The comparison of two traces: a snapshot.
import { snapshot } from './live.js';

snapshot();
