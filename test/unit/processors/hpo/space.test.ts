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

  it('rejects an unknown choice when encoding', () => {
    expect(() => space.encode({ lr: 1e-3, dropout: 0, layers: 1, batch: 16, opt: 'adagrad' })).toThrow(/not one of its choices/);
  });});

describe('Optuna-compatible parameters', () => {
  it('returns categorical choices with their own type: strings, numbers, booleans', () => {
    const s = new SearchSpace([
      { name: 'batch', kind: 'CATEGORICAL', choices: [16, 32, 64] },
      { name: 'augment', kind: 'CATEGORICAL', choices: [true, false] },
      { name: 'opt', kind: 'CATEGORICAL', choices: ['adam', 'sgd'] },
      { name: 'mixed', kind: 'CATEGORICAL', choices: [1, '1', true] },
    ]);
    const config = s.decode([0.5, 0.1, 0.9, 0.1]);
    expect(config).toEqual({ batch: 32, augment: true, opt: 'sgd', mixed: 1 });
    expect(typeof config.batch).toBe('number');
    expect(typeof config.augment).toBe('boolean');
    // Each typed value encodes back to its own bucket; 1, '1' and true are three different choices.
    expect(Array.from(s.encode({ batch: 64, augment: false, opt: 'adam', mixed: '1' }))).toEqual([5 / 6, 0.75, 0.25, 0.5]);
    expect(s.decode(s.encode({ batch: 64, augment: false, opt: 'adam', mixed: true }))).toEqual({ batch: 64, augment: false, opt: 'adam', mixed: true });
    // A value that went through text is recognised when exactly one choice reads the same.
    expect(s.encode({ batch: '32', augment: 'false', opt: 'sgd', mixed: 1 })[0]).toBeCloseTo(0.5, 15);
  });

  it('FLOAT with a step: the values low, low + step, ... (high rounded down onto the grid, as Optuna does)', () => {
    const s = new SearchSpace([{ name: 'lr', kind: 'FLOAT', low: 0.05, high: 0.32, step: 0.05 }]);
    expect(s.params[0]!.high).toBeCloseTo(0.3, 12);
    expect(s.levelCount(0)).toBe(6);
    const seen = new Set<number>();
    for (let i = 0; i < 600; i++) seen.add(Math.round((s.decode([(i + 0.5) / 600]).lr as number) * 1e9) / 1e9);
    expect([...seen].sort((a, b) => a - b)).toEqual([0.05, 0.1, 0.15, 0.2, 0.25, 0.3]);
  });

  it('INT with a step: every value on the grid owns an equal share of the coordinate', () => {
    const s = new SearchSpace([{ name: 'trees', kind: 'INT', low: 20, high: 200, step: 20 }]);
    const counts = new Map<number, number>();
    for (let i = 0; i < 1000; i++) {
      const v = s.decode([(i + 0.5) / 1000]).trees as number;
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual([20, 40, 60, 80, 100, 120, 140, 160, 180, 200]);
    expect([...counts.values()].every((c) => c === 100)).toBe(true);
    expect(s.decode(s.encode({ trees: 140 })).trees).toBe(140);
  });

  it('INT with log: integers uniform in the log, low >= 1', () => {
    const s = new SearchSpace([{ name: 'width', kind: 'INT', low: 1, high: 1024, log: true }]);
    expect(s.decode([0]).width).toBe(1);
    expect(s.decode([1]).width).toBe(1024);
    expect(Number.isInteger(s.decode([0.37]).width)).toBe(true);
  });

  it('low == high is a constant (Optuna allows it)', () => {
    const s = new SearchSpace([float('a', 2, 2), int('b', 3, 3)]);
    expect(s.decode([0.9, 0.1])).toEqual({ a: 2, b: 3 });
    expect(Array.from(s.encode({ a: 2, b: 3 }))).toEqual([0.5, 0.5]);
  });

  it('fills in what a spec leaves out (log false, no step, no choices)', () => {
    const s = new SearchSpace([{ name: 'x', kind: 'FLOAT', low: 0, high: 1 }, { name: 'n', kind: 'INT', low: 0, high: 4 }]);
    expect(s.params.map((p) => [p.log, p.step, p.choices])).toEqual([
      [false, null, []],
      [false, 1, []],
    ]);
  });

  // Every invalid spec fails with InvalidStudyError naming the parameter: one case per rule.
  it.each([
    ['params is not an array', 'nope', /params: expected an array/],
    ['no parameters', [], /at least one parameter/],
    ['a spec that is not an object', [null], /params\[0\]: expected an object/],
    ['no name', [{ kind: 'FLOAT', low: 0, high: 1 }], /params\[0\]: name must be a non-empty string/],
    ['an empty name', [{ name: '', kind: 'FLOAT', low: 0, high: 1 }], /params\[0\]: name must be a non-empty string/],
    ['a duplicate name', [float('a', 0, 1), float('a', 0, 2)], /params\[1\] \(a\): duplicate parameter name 'a'/],
    ['an unknown kind', [{ name: 'a', kind: 'DOUBLE', low: 0, high: 1 }], /\(a\): kind must be FLOAT, INT or CATEGORICAL/],
    ['log that is not a boolean', [{ name: 'a', kind: 'FLOAT', low: 1, high: 2, log: 'yes' }], /\(a\): log must be true or false/],
    ['FLOAT without low', [{ name: 'a', kind: 'FLOAT', high: 1 }], /\(a\): FLOAT needs finite numbers low and high/],
    ['FLOAT without choices, log or step (was a TypeError)', [{ name: 'a', kind: 'FLOAT', low: null, high: 1 }], /\(a\): FLOAT needs finite numbers low and high/],
    ['INT with a non-finite high', [{ name: 'a', kind: 'INT', low: 0, high: Infinity }], /\(a\): INT needs finite numbers low and high/],
    ['bounds given as strings', [{ name: 'a', kind: 'FLOAT', low: '0', high: '1' }], /\(a\): FLOAT needs finite numbers low and high, got low '0'/],
    ['low above high', [float('a', 2, 1)], /\(a\): low \(2\) must not be above high \(1\)/],
    ['INT bounds that are not integers', [int('i', 0.5, 3)], /\(i\): INT bounds must be integers/],
    ['a log FLOAT with low <= 0', [float('a', 0, 1, true)], /\(a\): a log-scaled FLOAT needs low > 0/],
    ['a log INT with low < 1', [int('a', 0, 10, true)], /\(a\): a log-scaled INT needs low >= 1/],
    ['a step that is not positive', [{ name: 'a', kind: 'FLOAT', low: 0, high: 1, step: 0 }], /\(a\): step must be a positive finite number/],
    ['a step that is not a number', [{ name: 'a', kind: 'INT', low: 0, high: 10, step: '2' }], /\(a\): step must be a positive finite number/],
    ['an INT step that is not an integer', [{ name: 'a', kind: 'INT', low: 0, high: 10, step: 2.5 }], /\(a\): an INT step must be an integer/],
    ['step and log on a FLOAT', [{ name: 'a', kind: 'FLOAT', low: 1, high: 10, step: 1, log: true }], /\(a\): step and log cannot be used together/],
    ['step other than 1 on a log INT', [{ name: 'a', kind: 'INT', low: 1, high: 64, step: 2, log: true }], /\(a\): a log-scaled INT needs step 1/],
    ['choices on a numeric parameter', [{ name: 'a', kind: 'INT', low: 0, high: 3, choices: [1, 2] }], /\(a\): choices apply to CATEGORICAL parameters only/],
    ['CATEGORICAL without choices', [{ name: 'c', kind: 'CATEGORICAL' }], /\(c\): a CATEGORICAL parameter needs at least one choice/],
    ['CATEGORICAL with choices that are not an array', [{ name: 'c', kind: 'CATEGORICAL', choices: 'abc' }], /\(c\): choices must be an array/],
    ['a choice that is an object', [{ name: 'c', kind: 'CATEGORICAL', choices: ['a', { b: 1 }] }], /\(c\): choices\[1\] must be a string, a finite number or a boolean/],
    ['a null choice', [{ name: 'c', kind: 'CATEGORICAL', choices: [null, 'a'] }], /\(c\): choices\[0\] must be a string, a finite number or a boolean, got null/],
    ['a NaN choice', [{ name: 'c', kind: 'CATEGORICAL', choices: [1, NaN] }], /\(c\): choices\[1\] must be a string, a finite number or a boolean/],
    ['duplicate choices', [cat('c', ['x', 'y', 'x'])], /\(c\): choices must be distinct; 'x' appears twice/],
    ['log on a CATEGORICAL', [{ name: 'c', kind: 'CATEGORICAL', choices: ['a'], log: true }], /\(c\): log applies to FLOAT and INT/],
    ['step on a CATEGORICAL', [{ name: 'c', kind: 'CATEGORICAL', choices: [1, 2], step: 1 }], /\(c\): step applies to FLOAT and INT/],
    ['bounds on a CATEGORICAL', [{ name: 'c', kind: 'CATEGORICAL', choices: [1, 2], low: 0, high: 3 }], /\(c\): low and high apply to FLOAT and INT/],
  ] as Array<[string, unknown, RegExp]>)('rejects %s', (_rule, specs, message) => {
    let error: unknown;
    try {
      new SearchSpace(specs as ParamSpec[]);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InvalidStudyError);
    expect((error as Error).message).toMatch(message);
  });
});
