/**
 * This project's feedback slice alone (job-dispatch + job-outcome -> relevance-labels, the
 * feedback processor and nothing else) as a process of its own, so that
 * bench/feedback-vs-kstreams.ts can read its CPU from /proc beside the Kafka Streams peer.
 * The runtime is the service's (StreamsApp); only the list of processors differs. With
 * `"topology": "full"` in the spec it runs the service's whole topology instead (every
 * processor of app/topology.ts, the ranker trained in the service's training worker, or in
 * the thread with `"trainer": "thread"`, as a replay and bench/feedback-e2e.ts train it), so
 * bench/profile-slice.ts can put both side by side, run the same way.
 *
 * Usage: node --import tsx bench/feedback-slice.ts '<json>' where the JSON names brokers,
 * registryUrl, applicationId and topics (every role), and optionally topology ("feedback",
 * the default, or "full") and trainer ("worker", the default, or "thread"). Commands on stdin, one per line:
 * `stats` prints one JSON line of counters; `stop` (or end of input, or SIGTERM) stops the
 * runtime (commits the batch in flight, leaves the group) and exits 0. Logs go to stderr.
 */
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { loadConfig } from '../config/options.ts';
import { buildProcessors } from '../app/topology.ts';
import { TrainingWorker } from '../processors/advisor/ltr/trainingWorker.ts';
import { feedbackProcessor } from '../processors/feedback/processor.ts';
import type { TopicRole } from '../schemas/catalog.ts';
import { ensureTopologyTopics } from '../topology/admin.ts';
import { createKafka } from '../topology/kafka.ts';
import { createRegistry, TopicSerde } from '../topology/serde.ts';
import { StreamsApp } from '../topology/streamsApp.ts';

interface SliceSpec {
  brokers: string[];
  registryUrl: string;
  applicationId: string;
  topics: Record<TopicRole, string>;
  topology?: 'feedback' | 'full';
  trainer?: 'worker' | 'thread';
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as SliceSpec;
  const config = loadConfig({
    env: {},
    overrides: { kafka: { brokers: spec.brokers, applicationId: spec.applicationId }, registry: { url: spec.registryUrl }, topics: spec.topics, log: { level: 'warn' } },
  });
  const logger = pino({ name: 'feedback-slice', level: 'warn' }, pino.destination(2));
  const kafka = createKafka(config, logger);
  const serde = new TopicSerde(createRegistry({ url: spec.registryUrl, username: null, password: null }), config.topics);
  await serde.registerAll();
  const trainingWorker = spec.topology === 'full' && spec.trainer !== 'thread' ? new TrainingWorker() : undefined;
  const processors = spec.topology === 'full' ? buildProcessors(config, trainingWorker ? { trainer: trainingWorker.train } : {}) : [feedbackProcessor(config.feedback)];
  await ensureTopologyTopics(kafka, config, processors);
  const streams = new StreamsApp(kafka, config, serde, processors, logger);
  streams.onFatal = (err) => {
    logger.error({ err }, 'stream consumer stopped for good');
    process.exit(1);
  };
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= streams.stop().then(async () => {
      await trainingWorker?.close();
      process.stdout.write(`${JSON.stringify({ kind: 'stopped' })}\n`);
      process.exit(0);
    }));
  process.once('SIGTERM', () => void stop());
  createInterface({ input: process.stdin })
    .on('line', (line) => {
      const command = line.trim();
      if (command === 'stats') {
        const c = streams.counters;
        process.stdout.write(`${JSON.stringify({ kind: 'stats', transactions: c.transactions, consumed: c.consumed, produced: c.produced, deadLetters: c.deadLetters })}\n`);
      } else if (command === 'stop') void stop();
    })
    .once('close', () => void stop());
  await streams.start();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
