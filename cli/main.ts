/** The `artenic-optimizer` entry point (bin/artenic-optimizer.mjs); see program.ts. */
// [hotpath] First: it replaces kafkajs modules before anything loads kafkajs (topology/kafkajsHotPath.ts).
import '../topology/kafkajsHotPath.ts';
import { runCli } from './program.ts';

process.exitCode = await runCli(process.argv);
