import { describe, expect, it } from 'vitest';
import { topicSchema } from '../../../schemas/catalog.ts';
import { compileValidator } from '../../../schemas/validate.ts';
import { EventGenerator } from '../../../simulate/generator.ts';

const bounds = { minEventTimeMs: Date.UTC(2015, 0, 1), maxEventTimeMs: Date.UTC(2030, 0, 1) };
const g = new EventGenerator({ seed: 9, runId: 'val' });
const { dispatch, outcome } = g.job(Date.UTC(2026, 0, 1));
const checkDispatch = compileValidator(topicSchema('job-dispatch'));
const checkOutcome = compileValidator(topicSchema('job-outcome'));

describe('schema constraints', () => {
  it('accepts generated traffic', () => {
    expect(checkDispatch(dispatch, bounds)).toBeNull();
    expect(checkOutcome(outcome, bounds)).toBeNull();
  });

  it.each([
    ['NaN cost', { cost_usd: Number.NaN }, 'INVALID_FIELD', /cost_usd must be a finite number/],
    ['Infinity duration', { duration_s: Number.POSITIVE_INFINITY }, 'INVALID_FIELD', /duration_s must be a finite/],
    ['negative cost', { cost_usd: -1 }, 'INVALID_FIELD', /cost_usd must be >= 0/],
    ['1970', { event_time: 0 }, 'EVENT_TIME_OUT_OF_RANGE', /event_time/],
    ['2100', { event_time: Date.UTC(2100, 0, 1) }, 'EVENT_TIME_OUT_OF_RANGE', /event_time/],
    ['empty job id', { job_id: '  ' }, 'INVALID_FIELD', /job_id must not be empty/],
  ])('rejects %s', (_name, patch, code, message) => {
    const v = checkOutcome({ ...outcome, ...patch }, bounds);
    expect(v?.code).toBe(code);
    expect(v?.message).toMatch(message);
  });

  it('checks nested records and arrays', () => {
    expect(checkDispatch({ ...dispatch, instance: { ...dispatch.instance, hourly_price_usd: -2 } }, bounds)?.message).toMatch(/instance\.hourly_price_usd must be >= 0/);
    const candidates = [{ ...dispatch.instance, hourly_price_usd: Number.NaN }];
    expect(checkDispatch({ ...dispatch, candidates }, bounds)?.message).toMatch(/candidates\[0\]\.hourly_price_usd/);
    expect(checkDispatch({ ...dispatch, workload: { ...dispatch.workload, expected_duration_h: -1 } }, bounds)?.message).toMatch(/expected_duration_h/);
  });
});
