/** `cost summary` and `cost compare`: spend per period with the savings against the optimizer's picks, and providers compared for a workload. */
import { Option, type Command } from 'commander';
import { compareForWorkload, latestCatalog, savingsSummary, spendSummary, type Period, type SavingsSummary } from '../../reporting/cost.ts';
import type { InstanceOffer, WorkloadProfile } from '../../schemas/generated/records.ts';
import { formatTable } from '../table.ts';
import { CommandFailure, configOf, withClickHouse } from '../common.ts';
import { workloadFrom, workloadOptions, type WorkloadFlags } from '../workload.ts';

const usd = (v: number) => `$${v.toFixed(2)}`;

/** Why nothing in the catalog can take a workload, in one line: what it needs against the largest GPU and machine there are. */
export function nothingFeasible(workload: WorkloadProfile, catalog: readonly InstanceOffer[]): string {
  if (catalog.length === 0) return 'the instance catalog in ClickHouse is empty: has the instance-catalog topic reached it?';
  const gpus = Math.max(1, workload.num_gpus);
  const perGpu = workload.gpu_memory_sharded ? workload.gpu_memory_required_gb / gpus : workload.gpu_memory_required_gb;
  const largest = [...catalog].sort((a, b) => b.gpu_memory_gb - a.gpu_memory_gb)[0] as InstanceOffer;
  const widest = [...catalog].sort((a, b) => b.gpu_count - a.gpu_count)[0] as InstanceOffer;
  return (
    `no offer can take this workload: it needs ${+perGpu.toFixed(2)} GB of memory on each of its ${gpus} GPU(s)${workload.gpu_memory_sharded ? ` (${workload.gpu_memory_required_gb} GB sharded)` : ''}; ` +
    `of the ${catalog.length} offers in the catalog, the largest GPU has ${largest.gpu_memory_gb} GB (${largest.provider}/${largest.region}/${largest.instance_type}) ` +
    `and the most GPUs on one machine is ${widest.gpu_count} (${widest.provider}/${widest.region}/${widest.instance_type})`
  );
}

/** The savings figure in words: the same one the status page shows. */
export function savingsLines(s: SavingsSummary): string[] {
  if (s.coveredJobs === 0) return [`savings: no succeeded job has an optimizer pick with an estimate yet (${s.succeededJobs} succeeded, ${s.finishedJobs} finished)`];
  const verdict = s.savingUsd >= 0 ? `the picks would have saved ${usd(s.savingUsd)} (${((100 * s.savingUsd) / s.spentUsd).toFixed(1)}%)` : `the picks would have cost ${usd(-s.savingUsd)} more (${((-100 * s.savingUsd) / s.spentUsd).toFixed(1)}%)`;
  return [
    `savings: on ${s.coveredJobs} of ${s.succeededJobs} succeeded jobs, ${usd(s.spentUsd)} spent against ${usd(s.optimizerUsd)} at the optimizer's picks for the same work: ${verdict}`,
    `  the pick was the platform's own choice on ${s.sameChoiceJobs} of them; outside the comparison: ${usd(s.uncoveredSpentUsd)} on ${s.succeededJobs - s.coveredJobs} succeeded jobs without a pick, ${usd(s.unsuccessfulSpentUsd)} on ${s.finishedJobs - s.succeededJobs} jobs that did not succeed`,
  ];
}

export function costCommand(program: Command): void {
  const cost = program.command('cost').description('cost intelligence from ClickHouse');
  cost
    .command('summary')
    .description("spend per period and provider, instance type or team, and the savings against the optimizer's picks")
    .addOption(new Option('--period <period>', 'day or month').choices(['day', 'month']).default('month'))
    .addOption(new Option('--by <column>', 'grouping').choices(['provider', 'instance_type', 'team']).default('provider'))
    .option('--json', 'print JSON: { spend, savings }')
    .action(async (opts: { period: Period; by: 'provider' | 'instance_type' | 'team'; json?: boolean }) => {
      await withClickHouse(program, async (client, db) => {
        const [spend, savings] = await Promise.all([spendSummary(client, db, opts.period, opts.by), savingsSummary(client, db)]);
        if (opts.json) return console.log(JSON.stringify({ spend, savings }, null, 2));
        console.log(formatTable(spend));
        console.log('');
        for (const line of savingsLines(savings)) console.log(line);
      });
    });

  workloadOptions(cost.command('compare').description('compare providers for a workload: price, estimated time and cost, idle GPUs, availability, Pareto frontier (exit 1, saying why, when no offer can take it)'))
    .option('--pareto', 'only the Pareto frontier')
    .option('--json', 'print JSON')
    .action(async (opts: WorkloadFlags & { pareto?: boolean; json?: boolean }) => {
      const workload = workloadFrom(opts);
      const config = configOf(program);
      await withClickHouse(program, async (client, db) => {
        const { offers, providers } = await compareForWorkload(client, db, workload, config.advisor.scaling);
        if (offers.length === 0) throw new CommandFailure(nothingFeasible(workload, await latestCatalog(client, db)));
        const shown = opts.pareto ? offers.filter((o) => o.pareto) : offers;
        if (opts.json) return console.log(JSON.stringify({ offers: shown, providers }, null, 2));
        console.log(
          formatTable(
            shown.map((o) => ({
              provider: o.provider,
              region: o.region,
              instance: o.instanceType,
              usd_per_hour: o.onDemandPerHour,
              spot_per_hour: o.spotPerHour ?? '',
              gpus: `${o.gpusUsed}${o.idleGpus > 0 ? ` (+${o.idleGpus} idle)` : ''}${o.nodes > 1 ? ` on ${o.nodes} machines` : ''}`,
              efficiency: o.scalingEfficiency.toFixed(2),
              hours: o.estimatedHours.toFixed(2),
              cost_usd: o.estimatedCostUsd.toFixed(2),
              from: o.durationSource,
              available: o.available,
              pareto: o.pareto ? '*' : '',
            })),
          ),
        );
        console.log('');
        console.log(formatTable(providers.map((p) => ({ provider: p.provider, offers: p.offers, regions: p.regions, available: `${Math.round(p.availableShare * 100)}%`, cheapest_usd: p.cheapestCostUsd.toFixed(2) }))));
      });
    });
}
