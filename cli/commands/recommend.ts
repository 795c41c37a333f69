/** `recommend`: ranked instances for a workload, as the stream answers a recommendation request. */
import { Option, type Command } from 'commander';
import { latestCatalog, latestSpotRisk } from '../../reporting/cost.ts';
import { latestModel } from '../../reporting/advisor.ts';
import { suggest } from '../../processors/advisor/processor.ts';
import { formatTable } from '../table.ts';
import { configOf, EXIT_RUNTIME, withClickHouse, workloadFrom, workloadOptions, type WorkloadFlags } from '../common.ts';

export function recommendCommand(program: Command): void {
  workloadOptions(program.command('recommend').description('rank instances for a workload, as the stream answers a recommendation request'))
    .addOption(new Option('--top <k>', 'how many').default(5).argParser(Number))
    .addOption(new Option('--budget <usd>', 'most the run may cost').argParser(Number))
    .option('--regions <list>', 'comma-separated region allow-list')
    .option('--json', 'print JSON')
    .action(async (opts: WorkloadFlags & { top: number; budget?: number; regions?: string; json?: boolean }) => {
      const config = configOf(program);
      const workload = workloadFrom(opts);
      await withClickHouse(program, async (client, db) => {
        const { promoted } = await latestModel(client, db);
        const { mode, modelVersion, ranked } = suggest(
          { workload, budgetUsd: opts.budget ?? null, regionAllowList: opts.regions ? opts.regions.split(',').map((r) => r.trim()) : [], topK: opts.top },
          await latestCatalog(client, db),
          await latestSpotRisk(client, db),
          config.advisor,
          promoted?.serving ?? null,
        );
        if (ranked.length === 0) console.error('no feasible instance: check the GPU memory, budget and regions, and that the catalog has reached ClickHouse');
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
        if (ranked.length === 0) process.exitCode = EXIT_RUNTIME;
      });
    });
}
