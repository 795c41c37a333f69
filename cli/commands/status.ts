/** `status`: the running service, from its /api/status. */
import type { Command } from 'commander';
import type { StatusData } from '../../dashboard/statusData.ts';
import { formatTable } from '../table.ts';
import { savingsLines } from './cost.ts';
import { CommandFailure, configOf } from '../common.ts';

export function statusCommand(program: Command): void {
  program
    .command('status')
    .description('the running service: readiness, optimizer mode and samples, consumed/produced/DLQ counts, sink')
    .option('--url <url>', 'the service (default: http://<http.host>:<http.port>)')
    .option('--json', 'print JSON')
    .action(async (opts: { url?: string; json?: boolean }) => {
      const config = configOf(program);
      const url = opts.url ?? `http://${config.http.host}:${config.http.port}`;
      let status: StatusData;
      try {
        const response = await fetch(`${url}/api/status`, { signal: AbortSignal.timeout(10_000) });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        status = (await response.json()) as StatusData;
      } catch (err) {
        throw new CommandFailure(`no service answers at ${url}: ${(err as Error).message}`, { cause: err });
      }
      if (opts.json) return console.log(JSON.stringify(status, null, 2));
      const o = status.optimizer;
      console.log(
        formatTable([
          { item: 'ready', value: status.streams.ready },
          { item: 'mode', value: o.mode },
          ...(o.modeReason ? [{ item: 'why the heuristic serves', value: o.modeReason }] : []),
          { item: 'training samples', value: o.samples },
          { item: 'mean label', value: o.meanLabel?.toFixed(2) ?? '' },
          { item: 'model version', value: o.modelVersion ?? 'none' },
          { item: 'NDCG@5 (held out)', value: o.ndcgAt5?.toFixed(4) ?? 'no learned model yet' },
          { item: 'NDCG@10 (held out)', value: o.ndcgAt10?.toFixed(4) ?? '' },
          { item: 'MRR (held out)', value: o.mrr?.toFixed(4) ?? '' },
          { item: 'heuristic NDCG@5', value: o.heuristicNdcgAt5?.toFixed(4) ?? '' },
          { item: 'training runs', value: o.trainingRuns },
          { item: 'consumer lag', value: Object.entries(status.streams.consumerLag).map(([g, n]) => `${g}: ${n}`).join(', ') || 'not polled yet' },
          { item: 'consumed', value: JSON.stringify(status.streams.consumed) },
          { item: 'produced', value: JSON.stringify(status.streams.produced) },
          { item: 'dead letters', value: JSON.stringify(status.streams.deadLetters) },
          { item: 'sink buffered rows', value: status.sink.bufferedRows },
        ]),
      );
      for (const line of savingsLines(status.savings)) console.log(line);
    });
}
