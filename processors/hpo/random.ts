/**
 * The engine's only source of randomness: xoshiro128** (Blackman & Vigna), 32-bit words so
 * that it runs on plain JS numbers, seeded through splitmix32. Its whole state is four
 * integers, which is what a snapshot stores; nothing in the engine calls Math.random.
 */
import { cos, log } from './portableMath.ts';

function splitmix32(state: number): [number, number] {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [next, (z ^ (z >>> 16)) >>> 0];
}

/** A 32-bit hash of a string (FNV-1a), to derive independent streams from one seed. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export type RandomState = [number, number, number, number];

export class SeededRandom {
  // The four words are kept as signed 32-bit integers (what the bitwise operators produce), so
  // that the engine stores them unboxed; state() hands them out unsigned.
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /**
   * `seed` may be any finite number (an Avro long included: its high and low halves both
   * count); `stream` names an independent sub-stream, so that one component drawing more
   * numbers never shifts another's.
   */
  constructor(seed: number, stream = '') {
    const low = Math.trunc(seed) >>> 0;
    const high = Math.floor(Math.trunc(seed) / 2 ** 32) >>> 0;
    let sm = (low ^ Math.imul(high, 0x27d4eb2d) ^ hashString(stream)) | 0;
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [next, out] = splitmix32(sm);
      sm = next;
      words.push(out);
    }
    this.s0 = (words[0] as number) | 0;
    this.s1 = (words[1] as number) | 0;
    this.s2 = (words[2] as number) | 0;
    this.s3 = (words[3] as number) | 0;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // the all-zero state is a fixed point
  }

  static fromState(state: RandomState): SeededRandom {
    const r = new SeededRandom(0);
    r.setState(state);
    return r;
  }

  state(): RandomState {
    return [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0];
  }

  setState(state: RandomState): void {
    this.s0 = state[0] | 0;
    this.s1 = state[1] | 0;
    this.s2 = state[2] | 0;
    this.s3 = state[3] | 0;
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    let s0 = this.s0;
    let s1 = this.s1;
    let s2 = this.s2;
    let s3 = this.s3;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    this.s0 = s0;
    this.s1 = s1;
    this.s2 = s2;
    this.s3 = s3;
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  float(): number {
    const high = this.nextUint32() >>> 5; // 27 bits
    const low = this.nextUint32() >>> 6; // 26 bits
    return (high * 67108864 + low) / 9007199254740992;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.min(n - 1, Math.floor(this.float() * n));
  }

  /** Standard normal (Box–Muller; the second variate is dropped so the state stays four words). */
  normal(): number {
    let u = this.float();
    while (u <= 0) u = this.float();
    return Math.sqrt(-2 * log(u)) * cos(2 * Math.PI * this.float());
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
