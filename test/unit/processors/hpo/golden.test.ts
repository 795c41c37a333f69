import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GOLDEN_FILE, type GoldenAsk, runScenario, SCENARIOS } from './goldenTrace.ts';

// Every ask of every scenario must equal the recorded one exactly (same seed + same tells =>
// same asks), so speed-ups of the engine cannot silently change what it suggests.
const golden = JSON.parse(readFileSync(GOLDEN_FILE, 'utf8')) as Record<string, GoldenAsk[]>;

describe('golden ask traces (bit-for-bit)', () => {
  it('covers every scenario', () => {
    expect(Object.keys(golden).sort()).toEqual(SCENARIOS.map((s) => s.name).sort());
  });

  for (const scenario of SCENARIOS) {
    it(scenario.name, () => {
      const asks = runScenario(scenario);
      const expected = golden[scenario.name]!;
      expect(asks.length).toBe(expected.length);
      for (let i = 0; i < asks.length; i++) {
        // Object.is per value: -0 / 0 and every last bit count.
        const a = asks[i]!;
        const e = expected[i]!;
        expect({ number: a.number, strategy: a.strategy }, `${scenario.name} ask ${i}`).toEqual({ number: e.number, strategy: e.strategy });
        for (const key of Object.keys(e.params)) expect(Object.is(a.params[key], e.params[key]), `${scenario.name} ask ${i} ${key}: ${String(a.params[key])} vs ${String(e.params[key])}`).toBe(true);
        expect(Object.keys(a.params).sort()).toEqual(Object.keys(e.params).sort());
      }
    }, 30_000);
  }
});
