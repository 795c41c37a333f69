/** `infra`: start the local Kafka and schema registry and print how to reach them. */
import type { Command } from 'commander';
import { startLocalStack } from '../../infra/local/localStack.ts';
import { onShutdown } from '../common.ts';

export function infraCommand(program: Command): void {
  program
    .command('infra')
    .description('start the local Kafka and schema registry and print how to reach them (Ctrl-C stops them)')
    .action(async () => {
      const stack = await startLocalStack();
      console.log(`export ARTENIC_KAFKA_BROKERS=${stack.brokers.join(',')}\nexport ARTENIC_REGISTRY_URL=${stack.registryUrl}`);
      onShutdown(stack.stop);
    });
}
