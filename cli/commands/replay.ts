/** `replay`: the processors over a file of events, without Kafka (backtesting). */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { replayEvents, type ReplayEvent } from '../../app/replay.ts';
import { configOf } from '../common.ts';

export function replayCommand(program: Command): void {
  program
    .command('replay')
    .description('run the processors over a file of events without Kafka (backtesting), through the same code path')
    .argument('<file>', 'JSON lines: {"topic": "<input role>", "key": "...", "value": {...}}')
    .option('--only <role>', 'print only the outputs of this topic role')
    .action(async (file: string, opts: { only?: string }) => {
      const config = configOf(program);
      const events: ReplayEvent[] = [];
      for (const [i, text] of readFileSync(file, 'utf8').split('\n').entries()) {
        if (!text.trim()) continue;
        try {
          events.push(JSON.parse(text) as ReplayEvent);
        } catch {
          events.push({ topic: '(unparsable line)', key: null, value: null });
          console.error(`line ${i + 1}: not JSON`);
        }
      }
      for (const o of replayEvents(events, config)) if (!opts.only || o.topic === opts.only) console.log(JSON.stringify(o));
    });
}
