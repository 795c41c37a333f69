import { describe, expect, it } from 'vitest';
import { InvalidStudyError } from '../../../../processors/hpo/errors.ts';
import { type ParamSpec, SearchSpace } from '../../../../processors/hpo/space.ts';

const float = (name: string, low: number, high: number, log = false): ParamSpec => ({ name, kind: 'FLOAT', low, high, log, choices: [] });
const int = (name: string, low: number, high: number, log = false): ParamSpec => ({ name, kind: 'INT', low, high, log, choices: [] });
const cat = (name: string, choices: string[]): ParamSpec => ({ name, kind: 'CATEGORICAL', low: null, high: null, log: false, choices });

describe('SearchSpace', () => {
  const space = new SearchSpace([float('lr', 1e-5, 1e-1, true), float('dropout', 0, 0.5), int('layers', 1, 8), int('batch', 16, 1024, true), cat('opt', ['adam', 'sgd', 'rmsprop'])]);

  it('decodes the corners of the unit cube to the bounds', () => {
    expect(space.decode([0, 0, 0, 0, 0])).toEqual({ lr: 1e-5, dropout: 0, layers: 1, batch: 16, opt: 'adam' });
    const top = space.decode([1, 1, 1, 1, 1]);
    expect(top.lr).toBeCloseTo(0.1, 12);
    expect(top).toMatchObject({ dropout: 0.5, layers: 8, batch: 1024, opt: 'rmsprop' });
  });

  it('round-trips a configuration through encode and decode', () => {
    const config = { lr: 3e-4, dropout: 0.1234, layers: 5, batch: 256, opt: 'sgd' };
    const back = space.decode(space.encode(config));
    expect(back.lr as number).toBeCloseTo(3e-4, 15);
    expect(back.dropout as number).toBeCloseTo(0.1234, 12);
    expect(back).toMatchObject({ layers: 5, batch: 256, opt: 'sgd' });
  });

  it('gives every integer an equal share of its coordinate and rounds on decode', () => {
    const s = new SearchSpace([int('k', 0, 3)]);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[s.decode([(i + 0.5) / 4000]).k as number]! += 1;
    expect(counts).toEqual([1000, 1000, 1000, 1000]);
  });

  it('puts log-scaled floats uniformly in the log', () => {
    const s = new SearchSpace([float('x', 1, 10000, true)]);
    expect(s.decode([0.5]).x as number).toBeCloseTo(100, 9);
    expect(s.encode({ x: 10 })[0]).toBeCloseTo(0.25, 12);
  });

  it('maps categorical buckets to choices and choices to bucket centres', () => {
    expect(space.decode([0, 0, 0, 0, 0.34]).opt).toBe('sgd');
    expect(space.encode({ lr: 1e-3, dropout: 0, layers: 1, batch: 16, opt: 'rmsprop' })[4]).toBeCloseTo(5 / 6, 12);
  });

  it.each([
    [[float('a', 1, 1)], /low \(1\) must be below high \(1\)/],
    [[float('a', 0, 1, true)], /log-scaled parameter needs low > 0/],
    [[cat('c', [])], /needs at least one choice/],
    [[float('a', 0, 1), float('a', 0, 2)], /duplicate parameter name 'a'/],
    [[int('i', 0.5, 3)], /INT bounds must be integers/],
    [[{ ...float('a', 0, 1), low: null }], /needs finite low and high/],
    [[], /at least one parameter/],
  ] as Array<[ParamSpec[], RegExp]>)('rejects an invalid spec with a clear error (%#)', (specs, message) => {
    expect(() => new SearchSpace(specs)).toThrow(InvalidStudyError);
    expect(() => new SearchSpace(specs)).toThrow(message);
  });

  it('rejects an unknown choice when encoding', () => {
    expect(() => space.encode({ lr: 1e-3, dropout: 0, layers: 1, batch: 16, opt: 'adagrad' })).toThrow(/not one of its choices/);
  });
});
