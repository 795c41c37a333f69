/** `recommend`: ranked instances for a workload, as the stream answers a recommendation request. */
import { Option, type Command } from 'commander';
import { latestCatalog, latestSpotRisk } from '../../reporting/cost.ts';
import { latestModel } from '../../reporting/advisor.ts';
import { suggest } from '../../processors/advisor/processor.ts';
import { formatTable } from '../table.ts';
import { CommandFailure, configOf, integerOption, numberOption, withClickHouse } from '../common.ts';
import { workloadFrom, workloadOptions, type WorkloadFlags } from '../workload.ts';
import { UsageError } from '../../common/errors.ts';

export function recommendCommand(program: Command): void {
  workloadOptions(program.command('recommend').description('rank instances for a workload, as the stream answers a recommendation request (exit 1 when nothing is feasible)'))
    .addOption(new Option('--top <k>', 'how many').default(5).argParser(integerOption({ min: 1 })))
    .addOption(new Option('--budget <usd>', 'most the run may cost').argParser(numberOption({ above: 0 })))
    .option('--regions <list>', 'comma-separated region allow-list')
    .option('--json', 'print JSON')
    .action(async (opts: WorkloadFlags & { top: number; budget?: number; regions?: string; json?: boolean }) => {
      const config = configOf(program);
      const workload = workloadFrom(opts);
      const regions = opts.regions === undefined ? [] : opts.regions.split(',').map((r) => r.trim());
      if (regions.some((r) => r === '')) throw new UsageError(`--regions ${opts.regions}: expected a comma-separated list of regions`);
      await withClickHouse(program, async (client, db) => {
        const { promoted } = await latestModel(client, db);
        const { mode, modelVersion, ranked } = suggest(
          { workload, budgetUsd: opts.budget ?? null, regionAllowList: regions, topK: opts.top },
          await latestCatalog(client, db),
          await latestSpotRisk(client, db),
          config.advisor,
          promoted?.serving ?? null,
        );
        if (ranked.length === 0) throw new CommandFailure('no feasible instance: check the GPU memory, budget and regions, and that the catalog has reached ClickHouse');
        if (opts.json) return console.log(JSON.stringify({ mode, model_version: modelVersion, ranked }, null, 2));
        console.log(`mode ${mode}${modelVersion ? `, model ${modelVersion}` : ''}`);
        const f = (v: number | undefined) => (v === undefined ? '' : v.toFixed(2));
        console.log(
          formatTable(
            ranked.map((r) => ({
              rank: r.rank,
              provider: r.instance.provider,
              region: r.instance.region,
              instance: r.instance.instance_type,
              usd_per_hour: r.instance.hourly_price_usd,
              est_cost_usd: r.estimated_cost_usd.toFixed(2),
              score: r.score.toFixed(3),
              cost: f(r.factors.cost),
              gpu: f(r.factors.gpu),
              memory: f(r.factors.memory),
              reliability: f(r.factors.reliability),
              ...(mode === 'HEURISTIC' ? {} : { ltr: f(r.factors.ltr) }),
            })),
          ),
        );
      });
    });
}
