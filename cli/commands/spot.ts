/** `spot`: spot risk per offer. */
import type { Command } from 'commander';
import { spotTable } from '../../reporting/cost.ts';
import { printRows, withClickHouse } from '../common.ts';

export function spotCommand(program: Command): void {
  program
    .command('spot')
    .description('spot risk per offer: preemption rate with its credible interval, band, savings, verdict')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      await withClickHouse(program, async (client, db) => printRows(await spotTable(client, db), opts.json));
    });
}
