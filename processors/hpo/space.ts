/**
 * The search space: parameter specs and the map between a configuration and a point of the
 * unit cube [0,1]^d, where every sampler works. One coordinate per parameter:
 * - FLOAT: linear (or logarithmic, when `log`) in [low, high];
 * - INT, and FLOAT with a `step`: the values low, low + step, ..., each owning an equal share
 *   of the coordinate ([low - step/2, high + step/2]; for a log INT, an equal share of the
 *   log of [low - 0.5, high + 0.5]); decode rounds to the nearest value;
 * - CATEGORICAL: k equal buckets, choice i at the centre (i + 0.5) / k.
 *
 * The specs follow Optuna's distributions (`suggest_float`, `suggest_int`,
 * `suggest_categorical`): low <= high (equal: a constant); `log` needs low > 0 (an INT: low
 * >= 1) and excludes `step`; an INT's step is a positive integer (1 when `log`); when
 * high - low is not a multiple of `step`, high comes down to the last value on the grid.
 * Categorical choices are strings, finite numbers or booleans, distinct, and come back with
 * their own type. The Avro record `artenic.HpoParam` (string choices, no step) is one such spec.
 * Every rule is checked at construction (InvalidStudyError naming the parameter).
 */
import type { HpoParam } from '../../schemas/generated/records.ts';
import { InvalidStudyError } from './errors.ts';
import { exp, log } from './portableMath.ts';

export type ChoiceValue = string | number | boolean;

/** A parameter, as Optuna defines its distributions; the Avro record `artenic.HpoParam` is one. */
export interface ParamSpec {
  readonly name: string;
  readonly kind: 'FLOAT' | 'INT' | 'CATEGORICAL';
  readonly low?: number | null;
  readonly high?: number | null;
  readonly log?: boolean;
  /** FLOAT or INT: the grid's spacing (FLOAT: none when absent; INT: 1). */
  readonly step?: number | null;
  readonly choices?: readonly ChoiceValue[];
}

// The Avro record is a spec as it stands (a compile-time check).
const _avroIsASpec: (p: HpoParam) => ParamSpec = (p) => p;
void _avroIsASpec;

export type ParamValue = ChoiceValue;

/** Discrete dimensions with more grid values than this are modelled as continuous (and rounded on decode). */
export const MAX_GRID_LEVELS = 1024;
export type Configuration = Record<string, ParamValue>;

interface NumericAxis {
  readonly kind: 'FLOAT' | 'INT';
  readonly from: number; // in the encoded scale (log when log)
  readonly to: number;
  readonly log: boolean;
  readonly low: number;
  /** The highest value on the grid (high itself without a step). */
  readonly high: number;
  /** Spacing of the grid; 0 for a continuous FLOAT. */
  readonly step: number;
  /** Number of grid values (0 for a continuous FLOAT). */
  readonly levels: number;
}
interface CategoricalAxis {
  readonly kind: 'CATEGORICAL';
  readonly choices: readonly ChoiceValue[];
}
type Axis = NumericAxis | CategoricalAxis;

/** A parameter spec as the engine keeps it: every field present, high on the grid. */
export interface ResolvedParam {
  readonly name: string;
  readonly kind: 'FLOAT' | 'INT' | 'CATEGORICAL';
  readonly low: number | null;
  readonly high: number | null;
  readonly log: boolean;
  readonly step: number | null;
  readonly choices: readonly ChoiceValue[];
}

function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function describe(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return String(v);
}

/** The number of grid steps from low to high (Optuna rounds high down onto the grid; a relative 1e-9 counts as on it). */
function stepsInRange(low: number, high: number, step: number): number {
  const ratio = (high - low) / step;
  const nearest = Math.round(ratio);
  return Math.abs(ratio - nearest) <= 1e-9 * Math.max(1, nearest) ? nearest : Math.floor(ratio);
}

/** Validates one spec and returns it resolved; throws InvalidStudyError naming the parameter. */
function resolveParam(p: unknown, i: number, seen: Set<string>): ResolvedParam {
  if (!p || typeof p !== 'object' || Array.isArray(p)) throw new InvalidStudyError(`params[${i}]: expected an object with name and kind, got ${describe(p)}`);
  const spec = p as Record<string, unknown>;
  const name = spec.name;
  const where = `params[${i}]${typeof name === 'string' && name.length > 0 ? ` (${name})` : ''}`;
  if (typeof name !== 'string' || name.length === 0) throw new InvalidStudyError(`${where}: name must be a non-empty string`);
  if (seen.has(name)) throw new InvalidStudyError(`${where}: duplicate parameter name '${name}'`);
  seen.add(name);
  const kind = spec.kind;
  if (kind !== 'FLOAT' && kind !== 'INT' && kind !== 'CATEGORICAL') throw new InvalidStudyError(`${where}: kind must be FLOAT, INT or CATEGORICAL, got ${describe(kind)}`);
  const logFlag = spec.log ?? false;
  if (typeof logFlag !== 'boolean') throw new InvalidStudyError(`${where}: log must be true or false, got ${describe(logFlag)}`);
  const step = spec.step ?? null;
  const choices = spec.choices ?? [];

  if (kind === 'CATEGORICAL') {
    if (!Array.isArray(choices)) throw new InvalidStudyError(`${where}: choices must be an array of strings, numbers or booleans, got ${describe(choices)}`);
    if (choices.length === 0) throw new InvalidStudyError(`${where}: a CATEGORICAL parameter needs at least one choice`);
    for (const [c, choice] of choices.entries()) {
      const ok = typeof choice === 'string' || typeof choice === 'boolean' || isFiniteNumber(choice);
      if (!ok) throw new InvalidStudyError(`${where}: choices[${c}] must be a string, a finite number or a boolean, got ${describe(choice)}`);
    }
    for (let a = 0; a < choices.length; a++) {
      for (let b = a + 1; b < choices.length; b++) {
        if (sameChoice(choices[a] as ChoiceValue, choices[b] as ChoiceValue)) throw new InvalidStudyError(`${where}: choices must be distinct; ${describe(choices[a])} appears twice`);
      }
    }
    if (logFlag) throw new InvalidStudyError(`${where}: log applies to FLOAT and INT parameters, not CATEGORICAL`);
    if (step !== null) throw new InvalidStudyError(`${where}: step applies to FLOAT and INT parameters, not CATEGORICAL`);
    if ((spec.low ?? null) !== null || (spec.high ?? null) !== null) throw new InvalidStudyError(`${where}: low and high apply to FLOAT and INT parameters; a CATEGORICAL one has choices`);
    return { name, kind, low: null, high: null, log: false, step: null, choices: [...(choices as ChoiceValue[])] };
  }

  const low = spec.low;
  const high = spec.high;
  if (!isFiniteNumber(low) || !isFiniteNumber(high)) throw new InvalidStudyError(`${where}: ${kind} needs finite numbers low and high, got low ${describe(low)} and high ${describe(high)}`);
  if (!(low <= high)) throw new InvalidStudyError(`${where}: low (${low}) must not be above high (${high})`);
  if (!Array.isArray(choices) || choices.length > 0) throw new InvalidStudyError(`${where}: choices apply to CATEGORICAL parameters only`);
  if (kind === 'INT' && (!Number.isSafeInteger(low) || !Number.isSafeInteger(high))) throw new InvalidStudyError(`${where}: INT bounds must be integers, got ${low} and ${high}`);
  if (step !== null) {
    if (!isFiniteNumber(step) || !(step > 0)) throw new InvalidStudyError(`${where}: step must be a positive finite number, got ${describe(step)}`);
    if (kind === 'INT' && !Number.isSafeInteger(step)) throw new InvalidStudyError(`${where}: an INT step must be an integer, got ${step}`);
  }
  if (logFlag) {
    if (kind === 'FLOAT' && !(low > 0)) throw new InvalidStudyError(`${where}: a log-scaled FLOAT needs low > 0, got ${low}`);
    if (kind === 'INT' && !(low >= 1)) throw new InvalidStudyError(`${where}: a log-scaled INT needs low >= 1, got ${low}`);
    if (kind === 'FLOAT' && step !== null) throw new InvalidStudyError(`${where}: step and log cannot be used together (as in Optuna)`);
    if (kind === 'INT' && step !== null && step !== 1) throw new InvalidStudyError(`${where}: a log-scaled INT needs step 1 (as in Optuna), got ${step}`);
  }
  const gridStep = kind === 'INT' ? (step ?? 1) : step;
  const top = gridStep === null ? high : low + stepsInRange(low, high, gridStep) * gridStep;
  return { name, kind, low, high: top, log: logFlag, step: kind === 'INT' ? (step ?? 1) : step, choices: [] };
}

/** True when two choices are the same value of the same type (0 and -0 alike). */
function sameChoice(a: ChoiceValue, b: ChoiceValue): boolean {
  return typeof a === typeof b && (a === b || (a !== a && b !== b));
}

/** Validates the specs; throws InvalidStudyError naming the first bad parameter. Returns them resolved. */
export function validateParamSpecs(specs: readonly ParamSpec[]): ResolvedParam[] {
  if (!Array.isArray(specs)) throw new InvalidStudyError(`params: expected an array of parameter specs, got ${describe(specs)}`);
  if (specs.length === 0) throw new InvalidStudyError('params: a study needs at least one parameter');
  const seen = new Set<string>();
  return specs.map((p, i) => resolveParam(p, i, seen));
}

export class SearchSpace {
  readonly params: readonly ResolvedParam[];
  readonly dimension: number;
  private readonly axes: readonly Axis[];

  /** Validates the specs (InvalidStudyError on the first bad one). */
  constructor(specs: readonly ParamSpec[]) {
    this.params = validateParamSpecs(specs);
    this.dimension = this.params.length;
    this.axes = this.params.map((p): Axis => {
      if (p.kind === 'CATEGORICAL') return { kind: 'CATEGORICAL', choices: [...p.choices] };
      const low = p.low as number;
      const high = p.high as number;
      const step = p.step ?? 0;
      const levels = step > 0 ? Math.round((high - low) / step) + 1 : 0;
      const half = step / 2;
      const lo = low - half;
      const hi = high + half;
      return { kind: p.kind, log: p.log, low, high, step, levels, from: p.log ? log(lo) : lo, to: p.log ? log(hi) : hi };
    });
  }

  /** Number of choices of dimension k, or 0 for a numeric one. */
  choiceCount(k: number): number {
    const axis = this.axes[k];
    return axis?.kind === 'CATEGORICAL' ? axis.choices.length : 0;
  }

  /** Number of grid values of a numeric dimension k (INT, or FLOAT with a step); 0 when continuous or categorical. */
  levelCount(k: number): number {
    const axis = this.axes[k];
    return axis && axis.kind !== 'CATEGORICAL' ? axis.levels : 0;
  }

  /**
   * The unit-cube coordinates of the grid values of discrete dimension k (INT, or FLOAT with a
   * step), ascending; null for a continuous or categorical dimension, or a grid of more than
   * MAX_GRID_LEVELS values (treated as continuous, rounded on decode).
   */
  levelPositions(k: number): Float64Array | null {
    const axis = this.axes[k];
    if (!axis || axis.kind === 'CATEGORICAL' || axis.levels === 0 || axis.levels > MAX_GRID_LEVELS) return null;
    const out = new Float64Array(axis.levels);
    for (let i = 0; i < axis.levels; i++) {
      const value = axis.low + i * axis.step;
      out[i] = axis.to === axis.from ? 0.5 : clamp01(((axis.log ? log(value) : value) - axis.from) / (axis.to - axis.from));
    }
    return out;
  }

  /** Indices of the categorical dimensions. */
  categoricalDims(): number[] {
    return this.axes.flatMap((a, k) => (a.kind === 'CATEGORICAL' ? [k] : []));
  }

  /** Index of `value` among the choices of categorical axis k, or -1. */
  private choiceIndex(axis: CategoricalAxis, value: unknown): number {
    const exact = axis.choices.findIndex((c) => sameChoice(c, value as ChoiceValue));
    if (exact >= 0) return exact;
    // A value that went through text (a record, a CLI argument): accepted when one choice reads the same.
    if (typeof value !== 'string') return -1;
    const matches = axis.choices.flatMap((c, i) => (String(c) === value ? [i] : []));
    return matches.length === 1 ? (matches[0] as number) : -1;
  }

  /** The unit-cube point of a configuration. Throws on a missing parameter or an unknown choice. */
  encode(config: Configuration): Float64Array {
    const u = new Float64Array(this.dimension);
    this.axes.forEach((axis, k) => {
      const name = (this.params[k] as ResolvedParam).name;
      const value = config[name];
      if (axis.kind === 'CATEGORICAL') {
        const index = this.choiceIndex(axis, value);
        if (index < 0) throw new InvalidStudyError(`${name}: ${describe(value)} is not one of its choices`);
        u[k] = (index + 0.5) / axis.choices.length;
        return;
      }
      if (!isFiniteNumber(value)) throw new InvalidStudyError(`${name}: expected a finite number, got ${describe(value)}`);
      if (axis.to === axis.from) {
        u[k] = 0.5;
        return;
      }
      const x = Math.min(axis.high, Math.max(axis.low, value));
      u[k] = clamp01(((axis.log ? log(x) : x) - axis.from) / (axis.to - axis.from));
    });
    return u;
  }

  /** The configuration of a unit-cube point; coordinates outside [0,1] are clamped. */
  decode(u: ArrayLike<number>): Configuration {
    const config: Configuration = {};
    this.axes.forEach((axis, k) => {
      const name = (this.params[k] as ResolvedParam).name;
      const t = clamp01(u[k] ?? 0);
      if (axis.kind === 'CATEGORICAL') {
        config[name] = axis.choices[Math.min(axis.choices.length - 1, Math.floor(t * axis.choices.length))] as ChoiceValue;
        return;
      }
      const s = axis.from + t * (axis.to - axis.from);
      let x = axis.log ? exp(s) : s;
      if (axis.kind === 'INT' && axis.step === 1) x = Math.round(x);
      else if (axis.step > 0) x = axis.low + Math.min(axis.levels - 1, Math.max(0, Math.round((x - axis.low) / axis.step))) * axis.step;
      config[name] = Math.min(axis.high, Math.max(axis.low, x));
    });
    return config;
  }

  /** The point that actually gets evaluated: grid values and choices snapped to their bucket centres. */
  canonical(u: ArrayLike<number>): Float64Array {
    return this.encode(this.decode(u));
  }
}

export function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : Number.isNaN(x) ? 0.5 : x;
}
