import { describe, expect, it } from 'vitest';
import { isFenced, taskTransactionalId } from '../../../topology/transactionalSender.ts';

describe('isFenced', () => {
  it('recognises the broker saying a newer producer owns the transactional id, however kafkajs wraps it', () => {
    expect(isFenced({ type: 'INVALID_PRODUCER_EPOCH', message: 'Producer attempted an operation with an old epoch' })).toBe(true);
    expect(isFenced({ type: 'KAFKAJS_UNKNOWN_ERROR_CODE', message: 'Unknown error code 90' })).toBe(true);
    expect(isFenced({ name: 'KafkaJSNumberOfRetriesExceeded', message: 'x', cause: { type: 'PRODUCER_FENCED' } })).toBe(true);
    expect(isFenced({ name: 'KafkaJSAggregateError', message: 'x', errors: [{ type: 'LEADER_NOT_AVAILABLE' }, { type: 'INVALID_PRODUCER_EPOCH' }] })).toBe(true);
  });

  it('leaves other failures alone', () => {
    expect(isFenced({ type: 'CONCURRENT_TRANSACTIONS', message: 'busy' })).toBe(false);
    expect(isFenced(new Error('Connection closed'))).toBe(false);
    expect(isFenced(undefined)).toBe(false);
    expect(isFenced({ type: 'NOT_COORDINATOR', message: 'Unknown error code 900' })).toBe(false);
  });

  it('names a task\'s transactional id after its partition, the same on every instance', () => {
    expect(taskTransactionalId('app', 3)).toBe('app-3');
  });
});
