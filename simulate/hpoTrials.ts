/**
 * A platform's side of an HPO study: it reads suggestions of a study from hpo-suggestions,
 * "trains" each one (an objective function of the parameters) and publishes the run as a
 * dispatch carrying hpo_study_id and hpo_trial_id plus its outcome with the metric, until the
 * study says it is done. Used by the simulator (`run --simulate`) and the broker tests.
 */
import type { Kafka } from 'kafkajs';
import type { Config } from '../config/options.ts';
import type { HpoStudy, HpoSuggestion, JobOutcome } from '../schemas/generated/records.ts';
import type { Logger } from '../common/logger.ts';
import type { TopicSerde } from '../topology/serde.ts';
import { EventGenerator } from './generator.ts';
import { Publisher } from './publisher.ts';

export type Objective = (params: Record<string, number | string | boolean>) => number;

export interface TrialRunnerOptions {
  study: HpoStudy;
  objective: Objective;
  /** Event time of the first trial's dispatch; each next one is dispatched `trialMs` after the previous one finished. */
  startAt: number;
  trialMs: number;
  /** Give up after this many wall-clock ms. */
  timeoutMs: number;
  /**
   * A shared simulated clock (the simulator's): trials are dispatched at its time and their
   * outcomes published only once it has passed them, as the rest of the traffic is, so trial
   * events never run ahead of the stream time of the partitions they share. Without it, each
   * trial starts `trialMs` after the previous one finished, on its own clock from `startAt`.
   */
  clock?: () => number;
  signal?: AbortSignal;
}

export interface TrialRunResult {
  suggestions: HpoSuggestion[];
  done: HpoSuggestion | null;
}

/** Runs the study to its end: publishes the study, then every trial it suggests. */
export async function runTrials(kafka: Kafka, serde: TopicSerde, config: Config, options: TrialRunnerOptions, logger: Logger): Promise<TrialRunResult> {
  const { study } = options;
  const generator = new EventGenerator({ seed: Number(study.seed % 1_000_000), runId: `hpo-${study.study_id}` });
  const publisher = await Publisher.connect(kafka, serde, config.topics);
  const consumer = kafka.consumer({ groupId: `${config.kafka.applicationId}-trials-${study.study_id}-${Date.now().toString(36)}`, readUncommitted: false, maxWaitTimeInMs: 100 });
  const suggestions: HpoSuggestion[] = [];
  let done: HpoSuggestion | null = null;
  let clock = options.startAt;
  let finisher: NodeJS.Timeout | undefined;
  try {
    await consumer.connect();
    await consumer.subscribe({ topic: config.topics['hpo-suggestions'], fromBeginning: true });
    await publisher.add('hpo-studies', study.study_id, study);
    await publisher.flush();
    const running: JobOutcome[] = [];
    finisher = setInterval(() => {
      const now = options.clock?.() ?? Number.POSITIVE_INFINITY;
      const finished = running.filter((o) => o.event_time <= now);
      if (finished.length === 0) return;
      running.splice(0, running.length, ...running.filter((o) => o.event_time > now));
      void (async () => {
        for (const o of finished) await publisher.add('job-outcome', o.job_id, o);
        await publisher.flush();
      })().catch((err: unknown) => logger.warn({ err }, 'publishing a trial outcome failed'));
    }, 200);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`study ${study.study_id}: no 'done' within ${options.timeoutMs} ms (${suggestions.length} suggestions)`)), options.timeoutMs);
      options.signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
      consumer
        .run({
          eachMessage: async ({ message }) => {
            const s = (await serde.decode('hpo-suggestions', message.value, { minEventTimeMs: 0, maxEventTimeMs: Number.POSITIVE_INFINITY })) as HpoSuggestion;
            if (s.study_id !== study.study_id) return;
            suggestions.push(s);
            if (s.done) {
              done = s;
              clearTimeout(timer);
              resolve();
              return;
            }
            const params = Object.fromEntries(s.params.map((p) => [p.name, p.number ?? p.category ?? p.flag ?? '']));
            // The platform dispatches a trial after the previous one finished: event times only grow,
            // so no trial's label arrives behind its partition's stream time.
            const job = generator.job(options.clock ? Math.round(options.clock()) : clock);
            clock = job.outcome.event_time + options.trialMs;
            const jobId = `${study.study_id}-${s.trial_id}`;
            const metric = options.objective(params);
            await publisher.add('job-dispatch', jobId, {
              ...job.dispatch,
              event_id: `dispatch:${jobId}`,
              job_id: jobId,
              hyperparameters: Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)])),
              hpo_study_id: study.study_id,
              hpo_trial_id: s.trial_id,
            });
            const outcome = { ...job.outcome, event_id: `outcome:${jobId}`, job_id: jobId, status: 'SUCCEEDED' as const, metric, error: null };
            // With a shared clock the outcome waits for it (without blocking this consumer).
            if (options.clock) running.push(outcome);
            else await publisher.add('job-outcome', jobId, outcome);
            await publisher.flush();
          },
        })
        .catch(reject);
    });
    const trials = suggestions.filter((s) => !s.done).length;
    const finished = done as HpoSuggestion | null;
    logger.info({ study: study.study_id, trials, best: finished?.best_value ?? null }, finished ? 'HPO study finished' : 'HPO trial runner stopped before the study finished');
  } finally {
    clearInterval(finisher);
    await consumer.disconnect();
    await publisher.close();
  }
  return { suggestions, done };
}

/** The simulator's study: learning rate, batch size and optimizer of a model, validation accuracy up. */
export function demoStudy(studyId: string, at: number): HpoStudy {
  return {
    event_id: `study:${studyId}`,
    event_time: at,
    study_id: studyId,
    params: [
      { name: 'learning_rate', kind: 'FLOAT', low: 1e-5, high: 1e-1, log: true, choices: [], step: null },
      // Choices given as numbers and booleans, as Optuna's suggest_categorical takes them: they come back typed.
      { name: 'batch_size', kind: 'CATEGORICAL', low: null, high: null, log: false, choices: [16, 32, 64, 128, 256, 512], step: null },
      { name: 'optimizer', kind: 'CATEGORICAL', low: null, high: null, log: false, choices: ['sgd', 'adam', 'adamw'], step: null },
      { name: 'mixed_precision', kind: 'CATEGORICAL', low: null, high: null, log: false, choices: [true, false], step: null },
    ],
    objectives: [{ name: 'metric', direction: 'MAXIMIZE' }],
    budget: 60,
    parallelism: 4,
    seed: 42,
    strategy: 'auto',
    max_step: null,
    rollback_after: null,
  };
}

/** A validation accuracy that peaks at learning rate 3e-3, batch 128, AdamW, mixed precision on. */
export const demoAccuracy: Objective = (p) =>
  0.95 -
  0.02 * Math.log10((p.learning_rate as number) / 3e-3) ** 2 -
  0.01 * Math.log2((p.batch_size as number) / 128) ** 2 -
  (p.optimizer === 'adamw' ? 0 : p.optimizer === 'adam' ? 0.01 : 0.05) -
  (p.mixed_precision === false ? 0.005 : 0);
