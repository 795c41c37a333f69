/** `schemas export <dir>`: the value schema of every topic as one self-contained `.avsc`, for producers in other languages. */
import type { Command } from 'commander';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TOPIC_ROLES, topicSchema } from '../../schemas/catalog.ts';
import { configOf } from '../common.ts';

export function schemasCommand(program: Command): void {
  const schemas = program.command('schemas').description('the Avro schemas of the topics');
  schemas
    .command('export')
    .description('write one self-contained .avsc per subject (<topic>-value.avsc, shared types inlined), exactly what the service registers')
    .argument('<dir>', 'directory to write into (created if missing)')
    .option('--json', 'print what was written as JSON')
    .action((dir: string, opts: { json?: boolean }) => {
      const config = configOf(program);
      mkdirSync(dir, { recursive: true });
      const written = TOPIC_ROLES.map((role) => {
        const subject = `${config.topics[role]}-value`;
        const file = join(dir, `${subject}.avsc`);
        writeFileSync(file, `${JSON.stringify(topicSchema(role), null, 2)}\n`);
        return { role, subject, file };
      });
      if (opts.json) console.log(JSON.stringify(written, null, 2));
      else for (const w of written) console.log(`${w.subject}\t${w.file}`);
    });
}
