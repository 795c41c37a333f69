/**
 * A study's options: what `createStudy` accepts (StudyOptions), the defaults, and the
 * validation that turns them into ResolvedOptions (every field present) or fails with an
 * InvalidStudyError naming the field. Each sampler's own options (TPE, trust region,
 * Nelder–Mead, NSGA-II, landscape) are defined, with their defaults, beside the sampler.
 */
import type { HpoObjective } from '../../schemas/generated/records.ts';
import { InvalidStudyError } from './errors.ts';
import { DEFAULT_KDE_CHOOSER, type KdeChooserOptions } from './kde.ts';
import { DEFAULT_LANDSCAPE_OPTIONS, type LandscapeOptions } from './landscape.ts';
import { DEFAULT_NELDER_MEAD_OPTIONS, type NelderMeadOptions } from './nelderMead.ts';
import { DEFAULT_NSGA2_OPTIONS, type Nsga2Options } from './nsga2.ts';
import { STRATEGIES } from './samplers/index.ts';
import { type ParamSpec, type ResolvedParam, validateParamSpecs } from './space.ts';
import { DEFAULT_TPE_OPTIONS, type TpeOptions } from './tpe.ts';
import { DEFAULT_TRUST_REGION_OPTIONS, type TrustRegionOptions } from './trustRegion.ts';

export type StrategyName = 'auto' | 'tpe' | 'nelder-mead' | 'sobol' | 'random' | 'nsga2';
export const STRATEGY_NAMES: readonly StrategyName[] = ['auto', 'tpe', 'nelder-mead', 'sobol', 'random', 'nsga2'];

/** An objective, exactly the Avro record `artenic.HpoObjective`. */
export type ObjectiveSpec = HpoObjective;

export interface GuardrailOptions {
  /** Narrower [low, high] per numeric parameter; suggestions are clamped into it. */
  readonly bounds?: Readonly<Record<string, { readonly low: number; readonly high: number }>>;
  /** Largest change of any parameter from the best configuration, in unit-cube units (0, 1]. */
  readonly maxStep?: number;
  /** Consecutive regressions after which the next ask returns the best configuration. */
  readonly rollbackAfter?: number;
}

export interface ProbeOptions {
  /** Share of the budget spent on the Sobol probe of 'auto' and the start-up design of 'tpe'. */
  readonly fraction: number;
  /** The 'auto' probe has at least this many points (default 20) and 2d + 1, capped at half the budget. TPE's start-up needs 10. */
  readonly min: number;
}

export interface AutoOptions {
  /** What refines a STRUCTURED landscape: 'local' (the local method, default), or one method. */
  readonly structured: 'local' | 'tpe' | 'nelder-mead' | 'trust-region';
  /** The local method: 'auto' (Nelder–Mead with up to 2 numeric dimensions, the trust region above), or one of them. */
  readonly local: 'auto' | 'nelder-mead' | 'trust-region';
  /** When the refiner is TPE, the last share of the budget goes to the local method around the best point... */
  readonly polishFraction: number;
  /** ...a Nelder–Mead simplex of this size (unit-cube units). */
  readonly polishStep: number;
  /** Share of the local method's trials that TPE proposes instead, so that the search goes on beside the refinement. */
  readonly tpeShare: number;
}

export interface StudyOptions {
  readonly params: readonly ParamSpec[];
  readonly objectives: readonly ObjectiveSpec[];
  /** Trials to run in total (failed ones included). */
  readonly budget: number;
  readonly seed: number;
  readonly strategy?: StrategyName;
  /** Trials that may be pending at once. Default 1. */
  readonly parallelism?: number;
  /** Completed trials the models keep. Default 1000. */
  readonly maxHistory?: number;
  readonly guardrails?: GuardrailOptions;
  readonly probe?: Partial<ProbeOptions>;
  /** 'auto' tuning; defaults measured in bench/hpo-quality.ts. */
  readonly auto?: Partial<AutoOptions>;
  readonly tpe?: Partial<TpeOptions>;
  readonly trustRegion?: Partial<TrustRegionOptions>;
  readonly nelderMead?: Partial<NelderMeadOptions>;
  readonly nsga2?: Partial<Nsga2Options>;
  readonly landscape?: Partial<LandscapeOptions>;
}

export interface ResolvedOptions {
  params: ResolvedParam[];
  objectives: ObjectiveSpec[];
  budget: number;
  seed: number;
  strategy: StrategyName;
  parallelism: number;
  maxHistory: number;
  guardrails: GuardrailOptions;
  probe: ProbeOptions;
  auto: AutoOptions;
  tpe: TpeOptions;
  trustRegion: TrustRegionOptions;
  nelderMead: NelderMeadOptions;
  nsga2: Nsga2Options;
  landscape: LandscapeOptions;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The fields of `value` that are set (absent: {}); InvalidStudyError naming `field` when it is not an object. */
function section<T>(field: string, value: Partial<T> | undefined): Partial<T> {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) throw new InvalidStudyError(`${field}: expected an object, got ${Array.isArray(value) ? 'an array' : String(value)}`);
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Validates everything (InvalidStudyError names the bad field) and fills in the defaults. */
export function resolveOptions(options: StudyOptions): ResolvedOptions {
  if (!isObject(options)) throw new InvalidStudyError('options: expected an object');
  const params = validateParamSpecs(options.params);
  const objectives = options.objectives;
  if (!Array.isArray(objectives) || objectives.length === 0) throw new InvalidStudyError('objectives: at least one objective is needed');
  const names = new Set<string>();
  for (const [i, o] of objectives.entries()) {
    if (!isObject(o) || typeof o.name !== 'string' || o.name.length === 0) throw new InvalidStudyError(`objectives[${i}]: name must be a non-empty string`);
    if (names.has(o.name)) throw new InvalidStudyError(`objectives[${i}]: duplicate objective name '${o.name}'`);
    names.add(o.name);
    if (o.direction !== 'MINIMIZE' && o.direction !== 'MAXIMIZE') throw new InvalidStudyError(`objectives[${i}] (${o.name}): direction must be MINIMIZE or MAXIMIZE`);
  }
  if (!Number.isInteger(options.budget) || options.budget < 1) throw new InvalidStudyError(`budget: must be an integer >= 1, got ${String(options.budget)}`);
  if (typeof options.seed !== 'number' || !Number.isFinite(options.seed)) throw new InvalidStudyError(`seed: must be a finite number, got ${String(options.seed)}`);
  const strategy = options.strategy ?? 'auto';
  if (!STRATEGY_NAMES.includes(strategy)) throw new InvalidStudyError(`strategy: must be one of ${STRATEGY_NAMES.join(', ')}, got '${String(strategy)}'`);
  if (objectives.length > 1 && STRATEGIES[strategy].objectives === 'one') {
    throw new InvalidStudyError(`strategy: '${strategy}' optimises one objective; with ${objectives.length} objectives use 'nsga2' or 'auto'`);
  }
  const parallelism = options.parallelism ?? 1;
  if (!Number.isInteger(parallelism) || parallelism < 1) throw new InvalidStudyError(`parallelism: must be an integer >= 1, got ${String(parallelism)}`);
  const maxHistory = options.maxHistory ?? 1000;
  if (!Number.isInteger(maxHistory) || maxHistory < 10) throw new InvalidStudyError(`maxHistory: must be an integer >= 10, got ${String(maxHistory)}`);
  const guardrails = section<GuardrailOptions>('guardrails', options.guardrails) as GuardrailOptions;
  for (const [name, b] of Object.entries(section('guardrails.bounds', guardrails.bounds))) {
    const spec = params.find((p) => p.name === name);
    if (!spec) throw new InvalidStudyError(`guardrails.bounds.${name}: no such parameter`);
    if (spec.kind === 'CATEGORICAL') throw new InvalidStudyError(`guardrails.bounds.${name}: bounds apply to numeric parameters only`);
    const bound = b as { low?: unknown; high?: unknown } | null;
    const low = bound?.low;
    const high = bound?.high;
    if (typeof low !== 'number' || typeof high !== 'number' || !(low <= high) || low < (spec.low as number) || high > (spec.high as number)) {
      throw new InvalidStudyError(`guardrails.bounds.${name}: need ${spec.low} <= low <= high <= ${spec.high}, got [${String(low)}, ${String(high)}]`);
    }
  }
  if (guardrails.maxStep !== undefined && !(typeof guardrails.maxStep === 'number' && guardrails.maxStep > 0 && guardrails.maxStep <= 1)) {
    throw new InvalidStudyError(`guardrails.maxStep: must be in (0, 1], got ${String(guardrails.maxStep)}`);
  }
  if (guardrails.rollbackAfter !== undefined && !(Number.isInteger(guardrails.rollbackAfter) && guardrails.rollbackAfter >= 1)) {
    throw new InvalidStudyError(`guardrails.rollbackAfter: must be an integer >= 1, got ${String(guardrails.rollbackAfter)}`);
  }
  const probe: ProbeOptions = { fraction: 0.1, min: 20, ...section('probe', options.probe) };
  if (!(probe.fraction >= 0 && probe.fraction <= 1)) throw new InvalidStudyError(`probe.fraction: must be in [0, 1], got ${probe.fraction}`);
  if (!(Number.isInteger(probe.min) && probe.min >= 1)) throw new InvalidStudyError(`probe.min: must be an integer >= 1, got ${probe.min}`);
  const autoIn = section<AutoOptions>('auto', options.auto);
  const auto: AutoOptions = { structured: 'local', local: 'auto', polishFraction: 0.6, polishStep: 0.05, tpeShare: 0.25, ...autoIn };
  if (!['local', 'tpe', 'nelder-mead', 'trust-region'].includes(auto.structured)) {
    throw new InvalidStudyError(`auto.structured: must be 'local', 'tpe', 'nelder-mead' or 'trust-region', got '${String(auto.structured)}'`);
  }
  if (!['auto', 'nelder-mead', 'trust-region'].includes(auto.local)) throw new InvalidStudyError(`auto.local: must be 'auto', 'nelder-mead' or 'trust-region', got '${String(auto.local)}'`);
  if (!(auto.polishFraction >= 0 && auto.polishFraction < 1)) throw new InvalidStudyError(`auto.polishFraction: must be in [0, 1), got ${auto.polishFraction}`);
  if (!(auto.polishStep > 0 && auto.polishStep <= 1)) throw new InvalidStudyError(`auto.polishStep: must be in (0, 1], got ${auto.polishStep}`);
  if (!(auto.tpeShare >= 0 && auto.tpeShare < 1)) throw new InvalidStudyError(`auto.tpeShare: must be in [0, 1), got ${auto.tpeShare}`);
  const tpeIn = section<TpeOptions>('tpe', options.tpe);
  const tpe: TpeOptions = { ...DEFAULT_TPE_OPTIONS, ...tpeIn, kde: { ...DEFAULT_KDE_CHOOSER, ...section<KdeChooserOptions>('tpe.kde', tpeIn.kde) } };
  if (!(Number.isInteger(tpe.candidates) && tpe.candidates >= 1)) throw new InvalidStudyError(`tpe.candidates: must be an integer >= 1, got ${tpe.candidates}`);
  if (!(tpe.gamma > 0 && tpe.gamma < 1)) throw new InvalidStudyError(`tpe.gamma: must be in (0, 1), got ${tpe.gamma}`);
  if (!(Number.isInteger(tpe.maxGood) && tpe.maxGood >= 1)) throw new InvalidStudyError(`tpe.maxGood: must be an integer >= 1, got ${tpe.maxGood}`);
  if (!(tpe.priorWeight > 0)) throw new InvalidStudyError(`tpe.priorWeight: must be > 0, got ${tpe.priorWeight}`);
  if (tpe.bandwidth !== 'neighbour' && tpe.bandwidth !== 'scott') throw new InvalidStudyError(`tpe.bandwidth: must be 'neighbour' or 'scott', got '${String(tpe.bandwidth)}'`);
  if (!['auto', 'ts', 'gpujs'].includes(tpe.kde.backend)) throw new InvalidStudyError(`tpe.kde.backend: must be auto, ts or gpujs, got '${String(tpe.kde.backend)}'`);
  const trustRegion: TrustRegionOptions = { ...DEFAULT_TRUST_REGION_OPTIONS, ...section('trustRegion', options.trustRegion) };
  if (!(trustRegion.minRadius > 0 && trustRegion.minRadius <= trustRegion.initialRadius && trustRegion.initialRadius <= trustRegion.maxRadius)) {
    throw new InvalidStudyError(`trustRegion: need 0 < minRadius <= initialRadius <= maxRadius, got ${trustRegion.minRadius}, ${trustRegion.initialRadius}, ${trustRegion.maxRadius}`);
  }
  if (!(trustRegion.grow >= 1 && trustRegion.shrink > 0 && trustRegion.shrink < 1)) throw new InvalidStudyError(`trustRegion: need grow >= 1 and 0 < shrink < 1, got ${trustRegion.grow}, ${trustRegion.shrink}`);
  if (!(Number.isInteger(trustRegion.maxFitPoints) && trustRegion.maxFitPoints >= 3)) throw new InvalidStudyError(`trustRegion.maxFitPoints: must be an integer >= 3, got ${trustRegion.maxFitPoints}`);
  if (!(trustRegion.ridge >= 0)) throw new InvalidStudyError(`trustRegion.ridge: must be >= 0, got ${trustRegion.ridge}`);
  if (!(Number.isInteger(trustRegion.exploreTrials) && trustRegion.exploreTrials >= 0)) throw new InvalidStudyError(`trustRegion.exploreTrials: must be an integer >= 0, got ${trustRegion.exploreTrials}`);
  if (!['explore', 'distinct', 'best'].includes(trustRegion.restartFrom)) throw new InvalidStudyError(`trustRegion.restartFrom: must be 'explore', 'distinct' or 'best', got '${String(trustRegion.restartFrom)}'`);
  if (!(trustRegion.restartGrowth >= 1)) throw new InvalidStudyError(`trustRegion.restartGrowth: must be >= 1, got ${trustRegion.restartGrowth}`);
  const nsga2: Nsga2Options = { ...DEFAULT_NSGA2_OPTIONS, ...section('nsga2', options.nsga2) };
  if (!(Number.isInteger(nsga2.populationSize) && nsga2.populationSize >= 4)) throw new InvalidStudyError(`nsga2.populationSize: must be an integer >= 4, got ${nsga2.populationSize}`);
  return {
    params,
    objectives: objectives.map((o) => ({ name: o.name, direction: o.direction })),
    budget: options.budget,
    seed: options.seed,
    strategy,
    parallelism,
    maxHistory,
    guardrails: structuredClone(guardrails),
    probe,
    auto,
    tpe,
    trustRegion,
    nelderMead: { ...DEFAULT_NELDER_MEAD_OPTIONS, ...section('nelderMead', options.nelderMead) },
    nsga2,
    landscape: { ...DEFAULT_LANDSCAPE_OPTIONS, ...section('landscape', options.landscape) },
  };
}
