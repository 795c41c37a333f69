/**
 * The strategies by name: each one's sampler, how to restore it, and how to read it out of a
 * version-1 study snapshot. A study looks its strategy up here; nothing else names them.
 */
import type { StrategyName } from '../options.ts';
import type { StrategyDefinition } from '../sampler.ts';
import { AUTO_STRATEGY } from './autoSampler.ts';
import { NELDER_MEAD_STRATEGY } from './nelderMeadSampler.ts';
import { NSGA2_STRATEGY } from './nsga2Sampler.ts';
import { RANDOM_STRATEGY } from './randomSampler.ts';
import { SOBOL_STRATEGY } from './sobolSampler.ts';
import { TPE_STRATEGY } from './tpeSampler.ts';

export const STRATEGIES: Readonly<Record<StrategyName, StrategyDefinition>> = {
  auto: AUTO_STRATEGY,
  tpe: TPE_STRATEGY,
  'nelder-mead': NELDER_MEAD_STRATEGY,
  sobol: SOBOL_STRATEGY,
  random: RANDOM_STRATEGY,
  nsga2: NSGA2_STRATEGY,
};
