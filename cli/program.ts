/**
 * `artenic-optimizer`: run the service, simulate traffic, start the local stack, query
 * ClickHouse. One file per command under `commands/`; what they share is in `common.ts`.
 *
 * Exit codes: 0 ok; 1 the command ran and failed; 2 bad usage or configuration (commander's
 * own errors included: unknown option or command, invalid choice, missing argument, a value
 * its parser refused). Errors are one line, without a stack trace unless `--debug`; with
 * `--json` anywhere on the line they are JSON on stdout: `{"error": "...", "code": "..."}`.
 */
import { Command, CommanderError } from 'commander';
import { ArtenicError, ConfigError, UsageError } from '../common/errors.ts';
import { EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, wantsJson } from './common.ts';
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
import { schemasCommand } from './commands/schemas.ts';

export function buildProgram(argv: readonly string[]): Command {
  const json = wantsJson(argv);
  const program = new Command()
    .name('artenic-optimizer')
    .description('Event-driven optimizer for ML training platforms: Kafka in, decisions out, history in ClickHouse.')
    .option('-c, --config <file>', 'JSON config file (else $ARTENIC_CONFIG); environment variables override it')
    .option('--debug', 'print stack traces with errors')
    // Set before the commands are added: subcommands inherit both.
    .exitOverride()
    .configureOutput({
      // With --json, errors are reported once, as JSON, by runCli.
      outputError: (text, write) => {
        if (!json) write(text);
      },
    })
    .showHelpAfterError(json ? false : "(run with --help for usage)")
    .addHelpText('after', '\nExit codes: 0 ok, 1 the command failed, 2 bad usage or configuration.\nEvery setting also has an environment variable; `artenic-optimizer settings` lists them.');

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
  schemasCommand(program);
  return program;
}

/** The exit code an error stands for. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  if (err instanceof ConfigError || err instanceof UsageError) return EXIT_USAGE;
  return EXIT_RUNTIME;
}

/** One line that says what went wrong (ClickHouse errors included, without the client's own framing). */
export function messageOf(err: unknown): string {
  const text = err instanceof CommanderError ? err.message.replace(/^error: /, '') : err instanceof Error ? err.message : String(err);
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

function codeOf(err: unknown): string {
  if (err instanceof CommanderError) return 'USAGE';
  if (err instanceof ArtenicError) return err.code;
  const type = (err as { type?: unknown }).type;
  return typeof type === 'string' ? type : 'FAILED';
}

/**
 * Runs the command line (`process.argv` form) and returns the exit code; long-running commands
 * (`run`, `infra`) return once started and exit on their own signal.
 */
export async function runCli(argv: readonly string[]): Promise<number> {
  const json = wantsJson(argv);
  const debug = argv.includes('--debug');
  try {
    await buildProgram(argv).parseAsync([...argv]);
    return EXIT_OK;
  } catch (err) {
    const code = exitCodeOf(err);
    if (code === EXIT_OK) return code;
    // Commander has printed its own message (and the help) unless the output is JSON.
    if (json) console.log(JSON.stringify({ error: messageOf(err), code: codeOf(err) }));
    else if (!(err instanceof CommanderError)) console.error(`${err instanceof ConfigError ? 'configuration error' : 'error'}: ${messageOf(err)}`);
    if (debug && err instanceof Error) console.error(err.stack);
    return code;
  }
}
