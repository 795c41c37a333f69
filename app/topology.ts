/** Which processors run, built from the configuration. Add a processor here to wire it in. */
import type { Config } from '../config/options.ts';
import { feedbackProcessor } from '../processors/feedback/processor.ts';
import { storageProcessor } from '../processors/storage/processor.ts';
import { spotProcessor } from '../processors/cost/spotProcessor.ts';
import { anomalyProcessor } from '../processors/cost/anomalyProcessor.ts';
import { advisorProcessor } from '../processors/advisor/processor.ts';
import { trainerProcessor, type TrainerOptions } from '../processors/advisor/trainer.ts';
import { scalingProcessor } from '../processors/advisor/scalingProcessor.ts';
import { hpoStreamProcessor } from '../processors/hpo/streamProcessor.ts';
import type { Processor } from '../topology/processor.ts';
import type { Trainer } from '../processors/advisor/ltr/trainingWorker.ts';

export function trainerOptions(a: Config['advisor']): TrainerOptions {
  return {
    minTrainingLabels: a.minTrainingLabels,
    retrainEveryLabels: a.retrainEveryLabels,
    retrainMinIntervalMs: a.retrainMinIntervalMs,
    maxTrainingDocs: a.maxTrainingDocs,
    keepModels: a.keepModels,
    heldOutFraction: a.heldOutFraction,
    lambdaMart: { trees: a.trees, leaves: a.leaves, learningRate: a.learningRate, minDataInLeaf: a.minDataInLeaf },
    weights: { cost: a.weightCost, gpu: a.weightGpu, memory: a.weightMemory, reliability: a.weightReliability },
    rules: { scaling: a.scaling, maxGpuOverprovision: a.maxGpuOverprovision, memoryHeadroomTarget: a.memoryHeadroomTarget },
    servedAs: { mode: a.mode, ltrWeight: a.ltrWeight },
    minGainOverHeuristic: a.minGainOverHeuristic,
    maxCostRegretGap: a.maxCostRegretGap,
  };
}

/**
 * `trainer`: where the ranker trains. The live service passes its training worker's (off the
 * event loop); left out, training runs in the thread, as a replay needs.
 */
export function buildProcessors(config: Config, options: { trainer?: Trainer } = {}): Processor[] {
  return [
    feedbackProcessor(config.feedback),
    storageProcessor(config.storage),
    spotProcessor(config.spot),
    anomalyProcessor(config.anomalies),
    advisorProcessor(config.advisor),
    trainerProcessor({ ...trainerOptions(config.advisor), ...(options.trainer ? { trainer: options.trainer } : {}) }),
    scalingProcessor({ ...config.advisor.scaling }),
    hpoStreamProcessor(config.hpo),
  ];
}
