/** Every ranking-data generator of the LambdaMART benchmark, the simulator's first. */
import type { RankingGenerator } from './dataset.ts';
import { marketplace } from './marketplace.ts';
import { recommendations } from './recommendations.ts';
import { simulator } from './simulator.ts';
import { webSearch } from './webSearch.ts';

export type { RankingGenerator, RankingQuery } from './dataset.ts';
export { trainingSet } from './dataset.ts';

export const RANKING_GENERATORS: readonly RankingGenerator[] = [simulator, marketplace, webSearch, recommendations];
