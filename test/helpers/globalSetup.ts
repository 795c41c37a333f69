/** Integration tests share one real Kafka broker and one real registry, started here. */
import type { TestProject } from 'vitest/node';
import { startLocalStack } from '../../infra/local/localStack.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    brokers: string[];
    registryUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Records up to 16 MiB, so the bad-input tests can send a 10 MB one.
  const stack = await startLocalStack({ extraProperties: { 'message.max.bytes': '16777216', 'replica.fetch.max.bytes': '16777216' } });
  project.provide('brokers', stack.brokers);
  project.provide('registryUrl', stack.registryUrl);
  return () => stack.stop();
}
