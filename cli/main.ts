/** The `artenic-optimizer` entry point (bin/artenic-optimizer.mjs); see program.ts. */
import { runCli } from './program.ts';

process.exitCode = await runCli(process.argv);
