import { describe, expect, it } from 'vitest';
import { chunkRequests } from '../../../topology/recordCollector.ts';

describe('chunkRequests', () => {
  it('keeps every message, in order, in requests under the limit', () => {
    const byTopic = new Map([
      ['a', Array.from({ length: 50 }, (_, i) => ({ key: `a${i}`, value: Buffer.alloc(1000) }))],
      ['b', Array.from({ length: 30 }, (_, i) => ({ key: `b${i}`, value: Buffer.alloc(2000) }))],
    ]);
    const requests = chunkRequests(byTopic, 10_000);
    const flat = requests.flatMap((r) => r.flatMap((t) => t.messages.map((m) => m.key)));
    expect(flat).toEqual([...byTopic.values()].flat().map((m) => m.key));
    for (const r of requests) {
      const bytes = r.flatMap((t) => t.messages).reduce((n, m) => n + (m.value as Buffer).length + 64 + String(m.key).length, 0);
      expect(bytes).toBeLessThanOrEqual(10_000);
    }
    expect(requests.length).toBeGreaterThan(5);
  });

  it('sends an oversized single message alone rather than dropping it', () => {
    const requests = chunkRequests(new Map([['a', [{ key: 'k', value: Buffer.alloc(50_000) }]]]), 10_000);
    expect(requests).toHaveLength(1);
  });
});
