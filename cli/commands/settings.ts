/** `settings`: every setting, its environment variable and its default. */
import type { Command } from 'commander';
import { describeSettings } from '../../config/options.ts';
import { formatTable } from '../table.ts';

export function settingsCommand(program: Command): void {
  program
    .command('settings')
    .description('list every setting, its environment variable and its default')
    .option('--json', 'as JSON')
    .action((opts: { json?: boolean }) => {
      const rows = describeSettings();
      console.log(opts.json ? JSON.stringify(rows, null, 2) : formatTable(rows));
    });
}
