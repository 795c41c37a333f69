/**
 * NSGA-II (Deb et al. 2002) for two or more minimised objectives, as ask/tell in the unit
 * cube. The first `populationSize` asks come from the caller's initial design (Sobol);
 * after that every ask is a child of the current parents: binary tournament on (front rank,
 * crowding distance), simulated binary crossover, polynomial mutation. Told children collect
 * in a pool; once it holds `populationSize` of them, parents + pool are cut back to
 * `populationSize` by non-dominated sorting and crowding distance (a generation). Children
 * asked but not yet told simply join a later generation, so parallel trials need no barrier.
 * Failed trials never enter the pool.
 */
import { SeededRandom, type RandomState } from './random.ts';
import { pow } from './portableMath.ts';

export interface Nsga2Options {
  readonly populationSize: number;
  readonly crossoverProbability: number;
  /** SBX distribution index: larger keeps children closer to their parents. */
  readonly crossoverEta: number;
  /** Per-gene mutation probability; 0 means 1/d. */
  readonly mutationProbability: number;
  readonly mutationEta: number;
}

export const DEFAULT_NSGA2_OPTIONS: Nsga2Options = {
  populationSize: 20,
  crossoverProbability: 0.9,
  crossoverEta: 15,
  mutationProbability: 0,
  mutationEta: 20,
};

export interface Individual {
  point: number[];
  objectives: number[];
  /** Trial number: the deterministic tie-breaker. */
  order: number;
}

export interface Nsga2State {
  dimension: number;
  /** Per gene: number of choices of a categorical parameter, 0 for a numeric one (absent: all numeric). */
  choiceCounts?: number[];
  options: Nsga2Options;
  parents: Individual[];
  pool: Individual[];
  spareChild: number[] | null;
  generation: number;
  random: RandomState;
}

/** True when a is no worse than b everywhere and better somewhere (minimisation). */
export function dominates(a: readonly number[], b: readonly number[]): boolean {
  let better = false;
  for (let k = 0; k < a.length; k++) {
    if ((a[k] as number) > (b[k] as number)) return false;
    if ((a[k] as number) < (b[k] as number)) better = true;
  }
  return better;
}

/** Fast non-dominated sort: the fronts, as index lists, best first. */
export function nonDominatedSort(objectives: readonly (readonly number[])[]): number[][] {
  const n = objectives.length;
  const dominatedBy: number[][] = Array.from({ length: n }, () => []);
  const dominationCount = new Array<number>(n).fill(0);
  const fronts: number[][] = [[]];
  for (let p = 0; p < n; p++) {
    for (let q = p + 1; q < n; q++) {
      if (dominates(objectives[p] as number[], objectives[q] as number[])) {
        (dominatedBy[p] as number[]).push(q);
        dominationCount[q] = (dominationCount[q] as number) + 1;
      } else if (dominates(objectives[q] as number[], objectives[p] as number[])) {
        (dominatedBy[q] as number[]).push(p);
        dominationCount[p] = (dominationCount[p] as number) + 1;
      }
    }
    if (dominationCount[p] === 0) (fronts[0] as number[]).push(p);
  }
  // Indices that became dominated after being pushed to front 0 are filtered below.
  fronts[0] = (fronts[0] as number[]).filter((p) => dominationCount[p] === 0);
  for (let i = 0; (fronts[i] as number[]).length > 0; i++) {
    const next: number[] = [];
    for (const p of fronts[i] as number[]) {
      for (const q of dominatedBy[p] as number[]) {
        dominationCount[q] = (dominationCount[q] as number) - 1;
        if (dominationCount[q] === 0) next.push(q);
      }
    }
    next.sort((a, b) => a - b);
    fronts.push(next);
  }
  fronts.pop();
  return fronts;
}

/** Crowding distance of each member of one front (Infinity at the extremes of each objective). */
export function crowdingDistance(objectives: readonly (readonly number[])[]): number[] {
  const n = objectives.length;
  const distance = new Array<number>(n).fill(0);
  if (n === 0) return distance;
  const m = (objectives[0] as number[]).length;
  for (let k = 0; k < m; k++) {
    const order = objectives.map((_, i) => i).sort((a, b) => (objectives[a] as number[])[k]! - (objectives[b] as number[])[k]! || a - b);
    const lo = (objectives[order[0] as number] as number[])[k] as number;
    const hi = (objectives[order[n - 1] as number] as number[])[k] as number;
    distance[order[0] as number] = Infinity;
    distance[order[n - 1] as number] = Infinity;
    if (hi === lo) continue;
    for (let i = 1; i < n - 1; i++) {
      const prev = (objectives[order[i - 1] as number] as number[])[k] as number;
      const next = (objectives[order[i + 1] as number] as number[])[k] as number;
      distance[order[i] as number] = (distance[order[i] as number] as number) + (next - prev) / (hi - lo);
    }
  }
  return distance;
}

export class Nsga2 {
  private s: Nsga2State;
  private random: SeededRandom;
  private rank = new Map<Individual, number>();
  private crowding = new Map<Individual, number>();

  private constructor(state: Nsga2State) {
    this.s = state;
    this.random = SeededRandom.fromState(state.random);
    this.rankParents();
  }

  static create(dimension: number, seed: number, options: Partial<Nsga2Options> = {}, choiceCounts: readonly number[] = []): Nsga2 {
    const opts = { ...DEFAULT_NSGA2_OPTIONS, ...options };
    return new Nsga2({ dimension, ...(choiceCounts.some((c) => c > 0) ? { choiceCounts: [...choiceCounts] } : {}), options: opts, parents: [], pool: [], spareChild: null, generation: 0, random: new SeededRandom(seed, 'nsga2').state() });
  }

  static restore(state: Nsga2State): Nsga2 {
    return new Nsga2(structuredClone(state));
  }

  state(): Nsga2State {
    return { ...structuredClone(this.s), random: this.random.state() };
  }

  get generation(): number {
    return this.s.generation;
  }

  /** True while the initial design is still being collected: the caller supplies the points. */
  needsInitialDesign(): boolean {
    return this.s.parents.length === 0;
  }

  /** A child of the current parents (call only when !needsInitialDesign()). */
  askChild(): number[] {
    if (this.s.spareChild) {
      const child = this.s.spareChild;
      this.s.spareChild = null;
      return child;
    }
    const a = this.tournament();
    const b = this.tournament();
    const [c1, c2] = this.crossover(a.point, b.point);
    this.s.spareChild = this.mutate(c2);
    return this.mutate(c1);
  }

  /** A told result. Returns true when it completed a generation. */
  tell(point: readonly number[], objectives: readonly number[], order: number): boolean {
    this.s.pool.push({ point: [...point], objectives: [...objectives], order });
    if (this.s.pool.length < this.s.options.populationSize) return false;
    this.select();
    return true;
  }

  private select(): void {
    const merged = [...this.s.parents, ...this.s.pool].sort((a, b) => a.order - b.order);
    const fronts = nonDominatedSort(merged.map((i) => i.objectives));
    const next: Individual[] = [];
    const size = this.s.options.populationSize;
    for (const front of fronts) {
      const members = front.map((i) => merged[i] as Individual);
      if (next.length + members.length <= size) {
        next.push(...members);
        continue;
      }
      const distance = crowdingDistance(members.map((i) => i.objectives));
      const byCrowding = members.map((ind, i) => ({ ind, d: distance[i] as number })).sort((x, y) => y.d - x.d || x.ind.order - y.ind.order);
      next.push(...byCrowding.slice(0, size - next.length).map((x) => x.ind));
      break;
    }
    this.s.parents = next;
    this.s.pool = [];
    this.s.generation++;
    this.rankParents();
  }

  private rankParents(): void {
    this.rank.clear();
    this.crowding.clear();
    const parents = this.s.parents;
    const fronts = nonDominatedSort(parents.map((p) => p.objectives));
    fronts.forEach((front, r) => {
      const distance = crowdingDistance(front.map((i) => (parents[i] as Individual).objectives));
      front.forEach((i, k) => {
        this.rank.set(parents[i] as Individual, r);
        this.crowding.set(parents[i] as Individual, distance[k] as number);
      });
    });
  }

  private tournament(): Individual {
    const parents = this.s.parents;
    const a = parents[this.random.int(parents.length)] as Individual;
    const b = parents[this.random.int(parents.length)] as Individual;
    const ra = this.rank.get(a) as number;
    const rb = this.rank.get(b) as number;
    if (ra !== rb) return ra < rb ? a : b;
    return (this.crowding.get(a) as number) >= (this.crowding.get(b) as number) ? a : b;
  }

  /** Simulated binary crossover with bounds [0, 1] (Deb & Agrawal); a categorical gene is swapped whole (uniform crossover). */
  private crossover(p1: number[], p2: number[]): [number[], number[]] {
    const c1 = [...p1];
    const c2 = [...p2];
    const { crossoverProbability, crossoverEta: eta } = this.s.options;
    if (this.random.float() >= crossoverProbability) return [c1, c2];
    for (let k = 0; k < p1.length; k++) {
      if (this.random.float() >= 0.5) continue;
      if ((this.s.choiceCounts?.[k] ?? 0) > 0) {
        c1[k] = p2[k] as number;
        c2[k] = p1[k] as number;
        continue;
      }
      const x1 = Math.min(p1[k] as number, p2[k] as number);
      const x2 = Math.max(p1[k] as number, p2[k] as number);
      if (x2 - x1 < 1e-14) continue;
      const u = this.random.float();
      const child = (beta: number, sign: number) => {
        const alpha = 2 - pow(beta, -(eta + 1));
        const betaQ = u <= 1 / alpha ? pow(u * alpha, 1 / (eta + 1)) : pow(1 / (2 - u * alpha), 1 / (eta + 1));
        return 0.5 * (x1 + x2 + sign * betaQ * (x2 - x1));
      };
      let y1 = child(1 + (2 * x1) / (x2 - x1), -1);
      let y2 = child(1 + (2 * (1 - x2)) / (x2 - x1), 1);
      y1 = Math.min(1, Math.max(0, y1));
      y2 = Math.min(1, Math.max(0, y2));
      if (this.random.float() < 0.5) [y1, y2] = [y2, y1];
      c1[k] = y1;
      c2[k] = y2;
    }
    return [c1, c2];
  }

  /** Polynomial mutation with bounds [0, 1] (Deb & Goyal); a categorical gene mutates to another choice, uniformly. */
  private mutate(x: number[]): number[] {
    const { mutationEta: eta } = this.s.options;
    const p = this.s.options.mutationProbability > 0 ? this.s.options.mutationProbability : 1 / x.length;
    return x.map((v, k) => {
      if (this.random.float() >= p) return v;
      const choices = this.s.choiceCounts?.[k] ?? 0;
      if (choices > 1) {
        const own = Math.min(choices - 1, Math.floor(v * choices));
        const other = this.random.int(choices - 1);
        return ((other >= own ? other + 1 : other) + 0.5) / choices;
      }
      const u = this.random.float();
      const power = 1 / (eta + 1);
      const delta = u < 0.5 ? pow(2 * u + (1 - 2 * u) * pow(1 - v, eta + 1), power) - 1 : 1 - pow(2 * (1 - u) + 2 * (u - 0.5) * pow(v, eta + 1), power);
      return Math.min(1, Math.max(0, v + delta));
    });
  }
}
