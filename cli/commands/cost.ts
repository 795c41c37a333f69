/** `cost summary` and `cost compare`: spend per period, and providers compared for a workload. */
import { Option, type Command } from 'commander';
import { compareForWorkload, latestCatalog, spendSummary, type Period } from '../../reporting/cost.ts';
import type { InstanceOffer, WorkloadProfile } from '../../schemas/generated/records.ts';
import { formatTable } from '../table.ts';
import { CommandFailure, printRows, withClickHouse } from '../common.ts';
import { workloadFrom, workloadOptions, type WorkloadFlags } from '../workload.ts';

/** Why nothing in the catalog can run a workload, in one line. */
export function nothingFeasible(workload: WorkloadProfile, catalog: readonly InstanceOffer[]): string {
  if (catalog.length === 0) return 'the instance catalog in ClickHouse is empty: has the instance-catalog topic reached it?';
  const largest = [...catalog].sort((a, b) => b.gpu_count * b.gpu_memory_gb - a.gpu_count * a.gpu_memory_gb)[0] as InstanceOffer;
  const mostGpus = Math.max(...catalog.map((o) => o.gpu_count));
  return (
    `no offer can run this workload: it needs ${workload.gpu_memory_required_gb} GB of GPU memory on ${Math.max(1, workload.num_gpus)} GPU(s); ` +
    `the largest offer of the ${catalog.length} in the catalog has ${largest.gpu_count * largest.gpu_memory_gb} GB on ${largest.gpu_count} GPU(s) ` +
    `(${largest.provider}/${largest.region}/${largest.instance_type}), the most GPUs on one offer is ${mostGpus}`
  );
}

export function costCommand(program: Command): void {
  const cost = program.command('cost').description('cost intelligence from ClickHouse');
  cost
    .command('summary')
    .description('spend per period and provider, instance type or team')
    .addOption(new Option('--period <period>', 'day or month').choices(['day', 'month']).default('month'))
    .addOption(new Option('--by <column>', 'grouping').choices(['provider', 'instance_type', 'team']).default('provider'))
    .option('--json', 'print JSON')
    .action(async (opts: { period: Period; by: 'provider' | 'instance_type' | 'team'; json?: boolean }) => {
      await withClickHouse(program, async (client, db) => printRows(await spendSummary(client, db, opts.period, opts.by), opts.json));
    });

  workloadOptions(cost.command('compare').description('compare providers for a workload: price, estimated time and cost, availability, Pareto frontier (exit 1 when no offer can run it)'))
    .option('--pareto', 'only the Pareto frontier')
    .option('--json', 'print JSON')
    .action(async (opts: WorkloadFlags & { pareto?: boolean; json?: boolean }) => {
      const workload = workloadFrom(opts);
      await withClickHouse(program, async (client, db) => {
        const { offers, providers } = await compareForWorkload(client, db, workload);
        if (offers.length === 0) throw new CommandFailure(nothingFeasible(workload, await latestCatalog(client, db)));
        const shown = opts.pareto ? offers.filter((o) => o.pareto) : offers;
        if (opts.json) return console.log(JSON.stringify({ offers: shown, providers }, null, 2));
        console.log(formatTable(shown.map((o) => ({ provider: o.provider, region: o.region, instance: o.instanceType, usd_per_hour: o.onDemandPerHour, spot_per_hour: o.spotPerHour ?? '', hours: o.estimatedHours.toFixed(2), cost_usd: o.estimatedCostUsd.toFixed(2), from: o.durationSource, available: o.available, pareto: o.pareto ? '*' : '' }))));
        console.log('');
        console.log(formatTable(providers.map((p) => ({ provider: p.provider, offers: p.offers, regions: p.regions, available: `${Math.round(p.availableShare * 100)}%`, cheapest_usd: p.cheapestCostUsd.toFixed(2) }))));
      });
    });
}
