/** Which processors run, built from the configuration. Add a processor here to wire it in. */
import type { Config } from '../config/options.ts';
import { feedbackProcessor } from '../processors/feedback/processor.ts';
import { storageProcessor } from '../processors/storage/processor.ts';
import { spotProcessor } from '../processors/cost/spotProcessor.ts';
import { anomalyProcessor } from '../processors/cost/anomalyProcessor.ts';
import { advisorProcessor } from '../processors/advisor/processor.ts';
import type { Processor } from './processor.ts';

export function buildProcessors(config: Config): Processor[] {
  return [feedbackProcessor(config.feedback), storageProcessor(config.storage), spotProcessor(config.spot), anomalyProcessor(config.anomalies), advisorProcessor(config.advisor)];
}
