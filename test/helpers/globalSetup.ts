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
  const stack = await startLocalStack();
  project.provide('brokers', stack.brokers);
  project.provide('registryUrl', stack.registryUrl);
  return () => stack.stop();
}
