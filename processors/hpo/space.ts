/**
 * The search space: parameter specs (the Avro HpoParam record) and the map between a
 * configuration and a point of the unit cube [0,1]^d, where every strategy works. One
 * coordinate per parameter:
 * - FLOAT: linear (or logarithmic, when `log`) in [low, high];
 * - INT: the same on [low - 0.5, high + 0.5], rounded on decode, so each integer owns an
 *   equal share of the coordinate (an equal share of its log when `log`);
 * - CATEGORICAL: k equal buckets, choice i at the centre (i + 0.5) / k.
 */
import type { HpoParam } from '../../schemas/generated/records.ts';
import { InvalidStudyError } from './errors.ts';

/** A parameter, exactly the Avro record `artenic.HpoParam`. */
export type ParamSpec = HpoParam;
export type ParamValue = number | string;
export type Configuration = Record<string, ParamValue>;

interface NumericAxis {
  readonly kind: 'FLOAT' | 'INT';
  readonly from: number; // in the encoded scale (log when log)
  readonly to: number;
  readonly log: boolean;
  readonly low: number;
  readonly high: number;
}
interface CategoricalAxis {
  readonly kind: 'CATEGORICAL';
  readonly choices: readonly string[];
}
type Axis = NumericAxis | CategoricalAxis;

/** Throws InvalidStudyError naming the first bad parameter; returns nothing when all are valid. */
export function validateParamSpecs(specs: readonly ParamSpec[]): void {
  if (!Array.isArray(specs) || specs.length === 0) throw new InvalidStudyError('params: a study needs at least one parameter');
  const seen = new Set<string>();
  for (const [i, p] of specs.entries()) {
    const where = `params[${i}]${p && typeof p.name === 'string' ? ` (${p.name})` : ''}`;
    if (!p || typeof p.name !== 'string' || p.name.length === 0) throw new InvalidStudyError(`${where}: name must be a non-empty string`);
    if (seen.has(p.name)) throw new InvalidStudyError(`${where}: duplicate parameter name '${p.name}'`);
    seen.add(p.name);
    if (p.kind === 'CATEGORICAL') {
      if (!Array.isArray(p.choices) || p.choices.length === 0) throw new InvalidStudyError(`${where}: a CATEGORICAL parameter needs at least one choice`);
      if (new Set(p.choices).size !== p.choices.length) throw new InvalidStudyError(`${where}: choices must be distinct`);
      continue;
    }
    if (p.kind !== 'FLOAT' && p.kind !== 'INT') throw new InvalidStudyError(`${where}: kind must be FLOAT, INT or CATEGORICAL, got '${String(p.kind)}'`);
    if (typeof p.low !== 'number' || typeof p.high !== 'number' || !Number.isFinite(p.low) || !Number.isFinite(p.high)) {
      throw new InvalidStudyError(`${where}: ${p.kind} needs finite low and high`);
    }
    if (!(p.low < p.high)) throw new InvalidStudyError(`${where}: low (${p.low}) must be below high (${p.high})`);
    if (p.kind === 'INT' && (!Number.isInteger(p.low) || !Number.isInteger(p.high))) throw new InvalidStudyError(`${where}: INT bounds must be integers`);
    if (p.log && !(p.low > 0)) throw new InvalidStudyError(`${where}: a log-scaled parameter needs low > 0, got ${p.low}`);
  }
}

export class SearchSpace {
  readonly params: readonly ParamSpec[];
  readonly dimension: number;
  private readonly axes: readonly Axis[];

  /** Validates the specs (InvalidStudyError on the first bad one). */
  constructor(specs: readonly ParamSpec[]) {
    validateParamSpecs(specs);
    this.params = specs.map((p) => ({ ...p, choices: [...p.choices] }));
    this.dimension = specs.length;
    this.axes = specs.map((p): Axis => {
      if (p.kind === 'CATEGORICAL') return { kind: 'CATEGORICAL', choices: [...p.choices] };
      const low = p.low as number;
      const high = p.high as number;
      const lo = p.kind === 'INT' ? low - 0.5 : low;
      const hi = p.kind === 'INT' ? high + 0.5 : high;
      return { kind: p.kind, log: p.log, low, high, from: p.log ? Math.log(lo) : lo, to: p.log ? Math.log(hi) : hi };
    });
  }

  /** Number of choices of dimension k, or 0 for a numeric one. */
  choiceCount(k: number): number {
    const axis = this.axes[k];
    return axis?.kind === 'CATEGORICAL' ? axis.choices.length : 0;
  }

  /** Indices of the categorical dimensions. */
  categoricalDims(): number[] {
    return this.axes.flatMap((a, k) => (a.kind === 'CATEGORICAL' ? [k] : []));
  }

  /** The unit-cube point of a configuration. Throws on a missing parameter or an unknown choice. */
  encode(config: Configuration): Float64Array {
    const u = new Float64Array(this.dimension);
    this.axes.forEach((axis, k) => {
      const name = (this.params[k] as ParamSpec).name;
      const value = config[name];
      if (axis.kind === 'CATEGORICAL') {
        const index = axis.choices.indexOf(String(value));
        if (index < 0) throw new InvalidStudyError(`${name}: '${String(value)}' is not one of its choices`);
        u[k] = (index + 0.5) / axis.choices.length;
        return;
      }
      if (typeof value !== 'number' || !Number.isFinite(value)) throw new InvalidStudyError(`${name}: expected a finite number, got ${String(value)}`);
      const x = Math.min(axis.high, Math.max(axis.low, value));
      u[k] = clamp01(((axis.log ? Math.log(x) : x) - axis.from) / (axis.to - axis.from));
    });
    return u;
  }

  /** The configuration of a unit-cube point; coordinates outside [0,1] are clamped. */
  decode(u: ArrayLike<number>): Configuration {
    const config: Configuration = {};
    this.axes.forEach((axis, k) => {
      const name = (this.params[k] as ParamSpec).name;
      const t = clamp01(u[k] ?? 0);
      if (axis.kind === 'CATEGORICAL') {
        config[name] = axis.choices[Math.min(axis.choices.length - 1, Math.floor(t * axis.choices.length))] as string;
        return;
      }
      const s = axis.from + t * (axis.to - axis.from);
      let x = axis.log ? Math.exp(s) : s;
      if (axis.kind === 'INT') x = Math.round(x);
      config[name] = Math.min(axis.high, Math.max(axis.low, x));
    });
    return config;
  }

  /** The point that actually gets evaluated: integers and choices snapped to their bucket centres. */
  canonical(u: ArrayLike<number>): Float64Array {
    return this.encode(this.decode(u));
  }
}

export function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : Number.isNaN(x) ? 0.5 : x;
}
