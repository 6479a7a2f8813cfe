// A task's history: a snapshot.
import { snapshot } from './live.js';

snapshot();
