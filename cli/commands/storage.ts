/** `storage analyze`: tiering and format advice from the access history in ClickHouse. */
import type { Command } from 'commander';
import { UsageError } from '../../common/errors.ts';
import { analyze, analyzeAll } from '../../reporting/storage.ts';
import { formatTable } from '../table.ts';
import { CommandFailure, configOf, openClickHouse } from '../common.ts';

export function storageCommand(program: Command): void {
  const storage = program.command('storage').description('storage optimizer: tiering and format advice from the access history in ClickHouse');
  storage
    .command('analyze')
    .description('advice for one dataset, or for all of them, as the stream computes it')
    .argument('[dataset]', 'dataset id; all datasets when left out')
    .option('--at <time>', 'evaluate at this ISO time (default: the latest access seen)')
    .option('--json', 'print JSON')
    .action(async (dataset: string | undefined, opts: { at?: string; json?: boolean }) => {
      const config = configOf(program);
      const at = opts.at === undefined ? undefined : Date.parse(opts.at);
      if (at !== undefined && Number.isNaN(at)) throw new UsageError(`--at ${opts.at}: expected an ISO time, e.g. 2026-07-01T00:00:00Z`);
      const { client } = await openClickHouse(config);
      try {
        const db = config.clickhouse.database;
        const decisions = dataset
          ? [await analyze(client, db, dataset, config.storage, at)].filter((d) => d !== null)
          : (await analyzeAll(client, db, config.storage, at)).decisions;
        if (dataset && decisions.length === 0) throw new CommandFailure(`no accesses of dataset ${dataset} in ClickHouse`);
        const rows = decisions.map((d) => ({
          dataset: d.dataset_id,
          tier: d.tier,
          size_mb: Math.round(d.size_bytes / 1e6),
          format: d.format,
          advice: d.format_advice ?? '',
          estimated_mb: d.estimated_size_bytes === null ? '' : Math.round(d.estimated_size_bytes / 1e6),
          saving_usd_month: d.monthly_saving_usd.toFixed(2),
          reason: d.reason,
        }));
        console.log(opts.json ? JSON.stringify(decisions, null, 2) : formatTable(rows));
        if (!opts.json && !dataset) console.log(`\ntotal monthly saving: $${decisions.reduce((s, d) => s + d.monthly_saving_usd, 0).toFixed(2)}`);
      } finally {
        await client.close();
      }
    });
}
