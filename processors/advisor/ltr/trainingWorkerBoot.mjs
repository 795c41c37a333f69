// The training worker's entry: TypeScript through tsx, as bin/artenic-optimizer.mjs runs the CLI.
import { register } from 'tsx/esm/api';

register();
await import('./trainingWorkerMain.ts');
