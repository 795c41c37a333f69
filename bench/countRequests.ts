/**
 * A preload (`node --import <this file>`) that counts every Kafka request the process sends, by
 * apiName, and writes the counts as JSON to BENCH_REQUEST_COUNTS_FILE when the process exits:
 * kafkajs' Connection.send, resolved from the working directory (the checkout being measured),
 * is wrapped. Bench only (bench/profile-slice.ts, BENCH_COUNT_REQUESTS=1).
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const file = process.env.BENCH_REQUEST_COUNTS_FILE;
if (file) {
  const counts: Record<string, number> = {};
  const connection = createRequire(join(process.cwd(), 'package.json'))('kafkajs/src/network/connection.js') as {
    prototype: { send(this: unknown, args: { request: { apiName: string } }): Promise<unknown> };
  };
  const send = connection.prototype.send;
  connection.prototype.send = function countedSend(this: unknown, args: { request: { apiName: string } }): Promise<unknown> {
    const api = args.request.apiName;
    counts[api] = (counts[api] ?? 0) + 1;
    return send.call(this, args);
  };
  process.on('exit', () => writeFileSync(file, JSON.stringify(counts)));
}
