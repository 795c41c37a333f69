/**
 * `artenic-optimizer`: run the service, simulate traffic, start the local stack, query
 * ClickHouse. Exit codes: 0 ok, 1 runtime failure, 2 bad usage or configuration.
 *
 * One file per command under `commands/`; what they share is in `common.ts`.
 */
import { Command } from 'commander';
import { ArtenicError, ConfigError } from '../common/errors.ts';
import { EXIT_RUNTIME, EXIT_USAGE } from './common.ts';
import { runCommand } from './commands/run.ts';
import { simulateCommand } from './commands/simulate.ts';
import { infraCommand } from './commands/infra.ts';
import { sqlCommand } from './commands/sql.ts';
import { storageCommand } from './commands/storage.ts';
import { costCommand } from './commands/cost.ts';
import { recommendCommand } from './commands/recommend.ts';
import { retrainCommand } from './commands/retrain.ts';
import { spotCommand } from './commands/spot.ts';
import { statusCommand } from './commands/status.ts';
import { replayCommand } from './commands/replay.ts';
import { settingsCommand } from './commands/settings.ts';

const program = new Command()
  .name('artenic-optimizer')
  .description('Event-driven optimizer for ML training platforms: Kafka in, decisions out, history in ClickHouse.')
  .option('-c, --config <file>', 'JSON config file (else $ARTENIC_CONFIG); environment variables override it')
  .showHelpAfterError()
  .addHelpText('after', '\nEvery setting also has an environment variable; `artenic-optimizer settings` lists them.');

runCommand(program);
simulateCommand(program);
infraCommand(program);
sqlCommand(program);
storageCommand(program);
costCommand(program);
recommendCommand(program);
retrainCommand(program);
spotCommand(program);
statusCommand(program);
replayCommand(program);
settingsCommand(program);

program.parseAsync().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    console.error(`configuration error: ${err.message}`);
    process.exit(EXIT_USAGE);
  }
  console.error(err instanceof ArtenicError ? `${err.code}: ${err.message}` : err);
  process.exit(EXIT_RUNTIME);
});
