#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, so there is no build step between a change and a run.
// First, the process's memory settings (bin/processSettings.mjs): Node re-executes itself in
// place with them, unless ARTENIC_PROCESS_SETTINGS=0.
import { applyProcessSettings } from './processSettings.mjs';

applyProcessSettings();
const { register } = await import('tsx/esm/api');
register();
await import('../cli/main.ts');
