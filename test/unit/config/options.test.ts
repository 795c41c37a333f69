import { describe, expect, it } from 'vitest';
import { DEFAULTS, describeSettings, envName, loadConfig, redactConfig } from '../../../config/options.ts';
import { ConfigError } from '../../../common/errors.ts';

describe('configuration', () => {
  it('has working defaults', () => {
    const c = loadConfig({ env: {} });
    expect(c.feedback.pendingTtlMs).toBe(DEFAULTS.feedback.pendingTtlMs);
    expect(c.topics['job-dispatch']).toBe('job-dispatch');
    expect(c.http.host).toBe('127.0.0.1');
  });

  it('reads every leaf from its environment variable', () => {
    const c = loadConfig({
      env: { ARTENIC_KAFKA_BROKERS: 'a:1, b:2', ARTENIC_FEEDBACK_GOOD_COST_RATIO: '1.2', ARTENIC_KAFKA_SSL: 'true', ARTENIC_TOPICS_JOB_DISPATCH: 'prod.dispatch' },
    });
    expect(c.kafka.brokers).toEqual(['a:1', 'b:2']);
    expect(c.feedback.goodCostRatio).toBe(1.2);
    expect(c.kafka.ssl).toBe(true);
    expect(c.topics['job-dispatch']).toBe('prod.dispatch');
    expect(envName(['feedback', 'pendingTtlMs'])).toBe('ARTENIC_FEEDBACK_PENDING_TTL_MS');
    expect(describeSettings().length).toBeGreaterThan(40);
  });

  it.each([
    [{ ARTENIC_FEEDBACK_PENDING_TTL_MS: 'soon' }, /feedback\.pendingTtlMs \(ARTENIC_FEEDBACK_PENDING_TTL_MS\): expected a number/],
    [{ ARTENIC_KAFKA_BROKERS: 'no-port' }, /kafka\.brokers\.0/],
    [{ ARTENIC_FEEDBACK_GOOD_COST_RATIO: '2' }, /feedback\.goodCostRatio.*optimal <= good <= adequate/],
    [{ ARTENIC_KAFKA_SASL_MECHANISM: 'scram-sha-512' }, /kafka\.saslUsername.*SASL needs/],
    [{ ARTENIC_CLICKHOUSE_DATABASE: 'x; DROP' }, /clickhouse\.database/],
    [{ ARTENIC_TOPICS_DLQ: 'job-dispatch' }, /two roles share one topic name/],
    [{ ARTENIC_KAFKA_SSL: 'maybe' }, /kafka\.ssl.*true or false/],
    [{ ARTENIC_STREAMS_COMMIT_INTERVAL_MS: '6000' }, /streams\.commitIntervalMs.*half of kafka\.transactionTimeoutMs/],
  ])('names the bad setting: %o', (env, message) => {
    expect(() => loadConfig({ env })).toThrow(ConfigError);
    expect(() => loadConfig({ env })).toThrow(message);
  });

  it('masks secrets for logging', () => {
    const c = loadConfig({ env: { ARTENIC_KAFKA_SASL_MECHANISM: 'plain', ARTENIC_KAFKA_SASL_USERNAME: 'u', ARTENIC_KAFKA_SASL_PASSWORD: 'hunter2', ARTENIC_CLICKHOUSE_PASSWORD: 'pw' } });
    const text = JSON.stringify(redactConfig(c));
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('"pw"');
  });
});

describe('default instance id', () => {
  it('is the host name and the process id, cleaned to what an instance id may hold', async () => {
    const { defaultInstanceId, loadConfig } = await import('../../../config/options.ts');
    expect(defaultInstanceId('worker-7.eu', 42)).toBe('worker-7.eu-42');
    expect(defaultInstanceId('my host:weird/name', 1)).toBe('my-host-weird-name-1');
    expect(defaultInstanceId('', 3)).toBe('instance-3');
    // Two processes on one host differ.
    expect(defaultInstanceId('h', 1)).not.toBe(defaultInstanceId('h', 2));
    expect(loadConfig({ env: {} }).kafka.instanceId).toBe(defaultInstanceId());
    expect(loadConfig({ env: {} }).kafka.instanceId).toMatch(/^[A-Za-z0-9._-]+-\d+$/);
  });
});
