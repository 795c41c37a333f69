/** `retrain`: train the learned ranker now from the labels in ClickHouse, judge it, and optionally publish it. */
import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { ConfigError } from '../../common/errors.ts';
import { createLogger } from '../../common/logger.ts';
import { createKafka } from '../../topology/kafka.ts';
import { createRegistry, TopicSerde } from '../../topology/serde.ts';
import { latestCatalog, latestSpotRisk } from '../../reporting/cost.ts';
import { latestModel, trainingDocs } from '../../reporting/advisor.ts';
import { trainAndEvaluate } from '../../processors/advisor/ltr/training.ts';
import { toModelRecord } from '../../processors/advisor/trainer.ts';
import { offerKey } from '../../processors/cost/labelsByOffer.ts';
import { trainerOptions } from '../../app/topology.ts';
import type { AdvisorModel } from '../../schemas/generated/records.ts';
import { formatTable } from '../table.ts';
import { CommandFailure, configOf, withClickHouse } from '../common.ts';

export function retrainCommand(program: Command): void {
  program
    .command('retrain')
    .description('train the learned ranker now from the labels in ClickHouse, evaluate it on held-out queries against the model in service, and optionally publish it')
    .option('--out <file>', 'write the model as ONNX to this file')
    .option('--publish', 'publish the model to the advisor-models topic when it is promoted (running services switch to it)')
    .option('--json', 'print JSON')
    .action(async (opts: { out?: string; publish?: boolean; json?: boolean }) => {
      const config = configOf(program);
      let record: AdvisorModel | undefined;
      await withClickHouse(program, async (client, db) => {
        const { docs, labels } = await trainingDocs(client, db, config.advisor.maxTrainingDocs);
        if (labels < config.advisor.minTrainingLabels) {
          throw new CommandFailure(`only ${labels} relevance labels in ClickHouse; training needs advisor.minTrainingLabels = ${config.advisor.minTrainingLabels}`);
        }
        const [catalog, risks, { promoted, highestSequence }] = await Promise.all([latestCatalog(client, db), latestSpotRisk(client, db), latestModel(client, db)]);
        const sequence = highestSequence + 1;
        const started = performance.now();
        const run = trainAndEvaluate(docs, new Map(catalog.map((o) => [offerKey(o), o])), risks, promoted?.serving ?? null, { version: `ltr-${sequence}`, trainedAt: Date.now(), labelsSeen: labels }, trainerOptions(config.advisor));
        record = toModelRecord(run, sequence, Date.now(), labels, performance.now() - started);
        if (opts.out) writeFileSync(opts.out, run.onnx);
        const q = (m: { ndcgAt5: number; ndcgAt10: number; mrr: number } | null) => (m ? { ndcg_at_5: m.ndcgAt5.toFixed(4), ndcg_at_10: m.ndcgAt10.toFixed(4), mrr: m.mrr.toFixed(4) } : { ndcg_at_5: '', ndcg_at_10: '', mrr: '' });
        if (opts.json) {
          const { onnx: _bytes, ...rest } = record;
          console.log(JSON.stringify({ ...rest, onnx_file: opts.out ?? null }, null, 2));
        } else {
          console.log(`${run.version}: ${run.promoted ? 'better or equal: would be promoted' : 'not promoted'} (${run.reason})`);
          console.log(`${labels} labels, ${run.trainingDocs} training documents in ${run.trainingQueries} queries, ${run.quality?.queries ?? 0} held-out queries, ${record.training_ms.toFixed(0)} ms`);
          console.log(
            formatTable([
              { ranker: run.version, ...q(run.quality) },
              { ranker: run.baselineVersion ?? 'heuristic (in service)', ...q(run.baseline) },
              ...(run.baselineVersion ? [{ ranker: 'heuristic', ...q(run.heuristic) }] : []),
            ]),
          );
          if (opts.out) console.log(`ONNX written to ${opts.out}`);
        }
      });
      if (!opts.publish || !record) return;
      if (!record.promoted) throw new CommandFailure('not published: the model is worse than the one in service');
      const logger = createLogger(config.log.level);
      if (config.kafka.brokers.length === 0 || !config.registry.url) throw new ConfigError('--publish needs kafka.brokers and registry.url');
      const kafka = createKafka(config, logger, '-retrain');
      const serde = new TopicSerde(createRegistry(config.registry as { url: string; username: string | null; password: string | null }), config.topics);
      await serde.registerAll();
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
      await producer.connect();
      try {
        await producer.send({ topic: config.topics['advisor-models'], acks: -1, messages: [{ key: record.model_version, value: await serde.encode('advisor-models', record) }] });
        console.log(`published ${record.model_version} to ${config.topics['advisor-models']}`);
      } finally {
        await producer.disconnect();
      }
    });
}
