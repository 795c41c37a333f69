/**
 * Publishes generated traffic to Kafka in the Confluent wire format, as a platform would.
 * `simulate` runs on an accelerated clock: it starts `backfillMs` in the past and runs
 * `timeScale` times faster than the wall clock until it catches up, then in real time, so
 * that job outcomes (hours after their dispatch) show up within seconds.
 */
import '../topology/kafkajsHotPath.ts'; // [hotpath] before kafkajs: see kafkajsHotPath.ts
import { Partitioners, type Kafka, type Message, type Producer } from 'kafkajs';
import type { Config } from '../config/options.ts';
import type { InputTopic } from '../schemas/catalog.ts';
import type { TopicRecords } from '../schemas/generated/records.ts';
import type { Logger } from '../common/logger.ts';
import type { TopicSerde } from '../topology/serde.ts';
import { EventGenerator, toInstanceOffer, type GeneratedJob } from './generator.ts';
import { CATALOG } from './catalog.ts';
import { offerKey } from '../processors/cost/labelsByOffer.ts';
import type { Random } from './random.ts';

export class Publisher {
  private pending = new Map<string, Message[]>();
  readonly sent: Record<string, number> = {};

  constructor(
    private readonly producer: Producer,
    private readonly serde: TopicSerde,
    private readonly topics: Config['topics'],
  ) {}

  static async connect(kafka: Kafka, serde: TopicSerde, topics: Config['topics']): Promise<Publisher> {
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await producer.connect();
    return new Publisher(producer, serde, topics);
  }

  async add<R extends InputTopic>(role: R, key: string, value: TopicRecords[R]): Promise<void> {
    this.addRaw(role, key, await this.serde.encode(role, value));
  }

  /** Bytes as they are, for bad-input tests and demos. */
  addRaw(role: InputTopic, key: string | null, value: Buffer | null): void {
    const topic = this.topics[role];
    const list = this.pending.get(topic) ?? [];
    list.push({ key, value });
    this.pending.set(topic, list);
  }

  /** The whole catalog, keyed provider/region/instance_type as the cost and advisor processors expect. */
  async addCatalog(eventTime: number): Promise<void> {
    for (const o of CATALOG) {
      const offer = toInstanceOffer(o, eventTime);
      await this.add('instance-catalog', offerKey(offer), offer);
    }
  }

  async addJobs(jobs: GeneratedJob[]): Promise<void> {
    for (const j of jobs) {
      await this.add('job-dispatch', j.dispatch.job_id, j.dispatch);
      await this.add('job-outcome', j.outcome.job_id, j.outcome);
    }
  }

  async flush(): Promise<number> {
    if (this.pending.size === 0) return 0;
    const topicMessages = [...this.pending].map(([topic, messages]) => ({ topic, messages }));
    this.pending = new Map();
    await this.producer.sendBatch({ topicMessages, acks: -1 });
    let n = 0;
    for (const { topic, messages } of topicMessages) {
      this.sent[topic] = (this.sent[topic] ?? 0) + messages.length;
      n += messages.length;
    }
    return n;
  }

  async close(): Promise<void> {
    await this.flush();
    await this.producer.disconnect();
  }
}

export interface SimulationOptions {
  seed: number;
  runId: string;
  /** Jobs dispatched per wall-clock second. */
  jobsPerSecond: number;
  /** Dataset accesses per wall-clock second. */
  accessesPerSecond: number;
  /** Simulated milliseconds per wall-clock millisecond while catching up. */
  timeScale: number;
  /** How far in the past the simulated clock starts. */
  backfillMs: number;
  /** Fraction of records published broken (garbage bytes, NaN, negative cost), to show the DLQ at work. */
  badRate: number;
  /** Stop after this many wall-clock ms; 0 runs until the signal aborts. */
  durationMs: number;
  signal?: AbortSignal;
  onTick?: (sent: Record<string, number>) => void;
  /** Updated with the simulated time as it advances, for other publishers to keep in step. */
  clock?: { now: number };
}

function corrupt(rng: Random, publisher: Publisher, job: GeneratedJob): void {
  const kind = rng.int(0, 2);
  if (kind === 0) publisher.addRaw('job-dispatch', job.dispatch.job_id, Buffer.from('{"not":"avro"}'));
  else if (kind === 1) publisher.addRaw('job-outcome', job.outcome.job_id, Buffer.from([0, 0x7f, 0xff, 0xff, 0xff, 1, 2, 3]));
  else publisher.addRaw('job-outcome', job.outcome.job_id, Buffer.from([1, 2, 3, 4, 5, 6]));
}

export async function runSimulation(publisher: Publisher, options: SimulationOptions, logger: Logger): Promise<void> {
  const generator = new EventGenerator({ seed: options.seed, runId: options.runId });
  const rng = generator.rng;
  const started = Date.now();
  let simNow = started - options.backfillMs;
  if (options.clock) options.clock.now = simNow;
  await publisher.addCatalog(simNow);
  const due: Array<GeneratedJob['outcome']> = [];
  const tickMs = 200;
  let jobCarry = 0;
  let accessCarry = 0;
  while (!options.signal?.aborted && (options.durationMs === 0 || Date.now() - started < options.durationMs)) {
    const tickStart = Date.now();
    const scale = simNow < tickStart ? options.timeScale : 1;
    const simStep = tickMs * scale;
    jobCarry += (options.jobsPerSecond * tickMs) / 1000;
    accessCarry += (options.accessesPerSecond * tickMs) / 1000;
    for (; jobCarry >= 1; jobCarry--) {
      const job = generator.job(Math.round(simNow + rng.next() * simStep));
      if (rng.chance(options.badRate)) {
        corrupt(rng, publisher, job);
        continue;
      }
      await publisher.add('job-dispatch', job.dispatch.job_id, job.dispatch);
      due.push(job.outcome);
    }
    for (; accessCarry >= 1; accessCarry--) {
      const access = generator.datasetAccess(Math.round(simNow + rng.next() * simStep));
      if (access) await publisher.add('dataset-access', access.dataset_id, access);
    }
    simNow += simStep;
    if (options.clock) options.clock.now = simNow;
    due.sort((a, b) => a.event_time - b.event_time);
    while (due.length > 0 && (due[0] as GeneratedJob['outcome']).event_time <= simNow) {
      const o = due.shift() as GeneratedJob['outcome'];
      await publisher.add('job-outcome', o.job_id, o);
    }
    await publisher.flush();
    options.onTick?.(publisher.sent);
    const wait = tickMs - (Date.now() - tickStart);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  logger.info({ sent: publisher.sent }, 'simulation finished');
}
