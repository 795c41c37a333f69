/** `recommend`: ranked instances for a workload, as the stream answers a recommendation request, with the reasons. */
import { Option, type Command } from 'commander';
import { latestCatalog, latestScaling, latestSpotRisk } from '../../reporting/cost.ts';
import { latestModel } from '../../reporting/advisor.ts';
import { rankingRules, suggest } from '../../processors/advisor/processor.ts';
import { exclusionReason } from '../../processors/advisor/heuristicRanker.ts';
import { formatTable } from '../table.ts';
import { CommandFailure, configOf, integerOption, numberOption, withClickHouse } from '../common.ts';
import { workloadFrom, workloadOptions, type WorkloadFlags } from '../workload.ts';
import { UsageError } from '../../common/errors.ts';

export function recommendCommand(program: Command): void {
  workloadOptions(program.command('recommend').description('rank instances for a workload, as the stream answers a recommendation request, with hours, GPUs used and idle, fit and risk (exit 1 when nothing is feasible)'))
    .addOption(new Option('--top <k>', 'how many').default(5).argParser(integerOption({ min: 1 })))
    .addOption(new Option('--budget <usd>', 'most the run may cost').argParser(numberOption({ above: 0 })))
    .option('--regions <list>', 'comma-separated region allow-list')
    .option('--explain <instance>', 'say why an instance type (or provider/region/type) is ranked where it is, or not ranked at all')
    .option('--json', 'print JSON')
    .action(async (opts: WorkloadFlags & { top: number; budget?: number; regions?: string; explain?: string; json?: boolean }) => {
      const config = configOf(program);
      const workload = workloadFrom(opts);
      const regions = opts.regions === undefined ? [] : opts.regions.split(',').map((r) => r.trim());
      if (regions.some((r) => r === '')) throw new UsageError(`--regions ${opts.regions}: expected a comma-separated list of regions`);
      await withClickHouse(program, async (client, db) => {
        const [{ promoted, heuristicReason }, catalog, risks, scaling] = await Promise.all([latestModel(client, db), latestCatalog(client, db), latestSpotRisk(client, db), latestScaling(client, db)]);
        const req = { workload, budgetUsd: opts.budget ?? null, regionAllowList: regions, topK: opts.top };
        const serving = config.advisor.mode === 'heuristic' ? null : (promoted?.serving ?? null);
        const { mode, modelVersion, ranked } = suggest(req, catalog, risks, config.advisor, serving, scaling);
        const reason = config.advisor.mode !== 'heuristic' && !serving ? heuristicReason : null;
        let explanation: Record<string, unknown> | null = null;
        if (opts.explain) {
          const wanted = opts.explain;
          const matches = catalog.filter((o) => o.instance_type === wanted || `${o.provider}/${o.region}/${o.instance_type}` === wanted);
          if (matches.length === 0) throw new UsageError(`--explain ${wanted}: no such offer in the catalog (an instance type, or provider/region/type)`);
          const all = suggest({ ...req, topK: Number.MAX_SAFE_INTEGER }, catalog, risks, config.advisor, serving, scaling).ranked;
          explanation = Object.fromEntries(
            matches.map((o) => {
              const key = `${o.provider}/${o.region}/${o.instance_type}`;
              const r = all.find((x) => x.instance.provider === o.provider && x.instance.region === o.region && x.instance.instance_type === o.instance_type);
              return [key, r ? { rank: r.rank, of: all.length, score: r.score, estimated_cost_usd: r.estimated_cost_usd, factors: r.factors } : { rank: null, excluded: exclusionReason(req, o, catalog, rankingRules(config.advisor, scaling)) }];
            }),
          );
        }
        if (ranked.length === 0) {
          const why = explanation ? Object.entries(explanation).map(([key, e]) => `${key}: ${(e as { excluded?: string | null }).excluded ?? 'no reason found'}`) : [];
          throw new CommandFailure(['no feasible instance: check the GPU count, the GPU memory per GPU (--sharded for a total), budget and regions, and that the catalog has reached ClickHouse', ...why].join('; '));
        }
        if (opts.json) return console.log(JSON.stringify({ mode, model_version: modelVersion, mode_reason: reason, ranked, ...(explanation ? { explain: explanation } : {}) }, null, 2));
        console.log(`mode ${mode}${modelVersion ? `, model ${modelVersion}` : ''}${reason ? ` (${reason})` : ''}`);
        const f = (v: number | undefined, digits = 2) => (v === undefined ? '' : v.toFixed(digits));
        console.log(
          formatTable(
            ranked.map((r) => ({
              rank: r.rank,
              provider: r.instance.provider,
              region: r.instance.region,
              instance: r.instance.instance_type,
              usd_per_hour: r.instance.hourly_price_usd,
              gpus: `${r.factors.gpus_used ?? ''}${r.factors.idle_gpus ? ` (+${r.factors.idle_gpus} idle)` : ''}${r.nodes > 1 ? ` on ${r.nodes} machines` : ''}`,
              hours: f(r.factors.hours),
              est_cost_usd: r.estimated_cost_usd.toFixed(2),
              memory_headroom: f(r.factors.memory_headroom),
              preemption: r.factors.preemption_rate === undefined ? '' : `${(100 * r.factors.preemption_rate).toFixed(0)}%`,
              score: r.score.toFixed(3),
              cost: f(r.factors.cost),
              gpu: f(r.factors.gpu),
              memory: f(r.factors.memory),
              reliability: f(r.factors.reliability),
              ...(mode === 'HEURISTIC' ? {} : { ltr: f(r.factors.ltr) }),
            })),
          ),
        );
        if (explanation) {
          console.log('');
          for (const [key, e] of Object.entries(explanation)) {
            const x = e as { rank: number | null; of?: number; estimated_cost_usd?: number; factors?: Record<string, number>; excluded?: string | null };
            if (x.rank === null) console.log(`${key}: not ranked: ${x.excluded ?? 'no reason found'}`);
            else {
              const fx = x.factors ?? {};
              console.log(
                `${key}: rank ${x.rank} of ${x.of}: ${f(fx.hours)} h, $${f(x.estimated_cost_usd)}, ${fx.gpus_used} GPU(s) used${fx.idle_gpus ? `, ${fx.idle_gpus} idle ($${f(fx.idle_cost_usd)} of the cost)` : ''}, memory headroom ${f(fx.memory_headroom)}, scores cost ${f(fx.cost)} gpu ${f(fx.gpu)} memory ${f(fx.memory)} reliability ${f(fx.reliability)}`,
              );
            }
          }
        }
      });
    });
}
