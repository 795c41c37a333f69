/**
 * Recommendations for a user: 15-40 candidate items, and what the user does with them
 * (0 ignored, 1 clicked, 2 saved, 3 bought). Unlike the other generators, relevance here is
 * mostly a pure interaction: the dot product of a user's taste vector (query features) with
 * an item's vector (document features), which no single feature shows on its own; plus a
 * categorical match (the user's favourite genre against the item's genre, both integer
 * codes), popularity as a weak main effect, a price sensitivity that depends on the user
 * (rich users do not care), and an item freshness curve that rises then falls. Labels are
 * noisy (logistic noise on the decision) and many users do nothing at all.
 */
import { Random } from '../../simulate/random.ts';
import { type RankingGenerator, type RankingQuery } from './dataset.ts';

const DIMENSIONS = 4;
const GENRES = 8;

const FEATURES = [
  ...Array.from({ length: DIMENSIONS }, (_, k) => `user_taste_${k}`),
  'user_favourite_genre',
  'user_log_income',
  'user_activity',
  ...Array.from({ length: DIMENSIONS }, (_, k) => `item_vector_${k}`),
  'item_genre',
  'item_log_popularity',
  'item_log_price',
  'item_age_days',
  'item_price_rank',
  'noise_0',
  'noise_1',
  'noise_2',
] as const;

export const recommendations: RankingGenerator = {
  name: 'recommendations',
  summary: 'recommendations: relevance from a user-item dot product and a genre-code match (pure interactions), user-dependent price sensitivity, noisy logistic choices',
  featureNames: FEATURES,
  queries(count: number, seed: number): RankingQuery[] {
    const rng = new Random(seed ^ 0x72656373);
    const out: RankingQuery[] = [];
    for (let q = 0; q < count; q++) {
      const taste = Array.from({ length: DIMENSIONS }, () => rng.normal());
      const favourite = rng.int(0, GENRES - 1);
      const logIncome = 10 + 0.6 * rng.normal();
      const activity = rng.next();
      const n = rng.int(15, 40);
      const items = Array.from({ length: n }, () => ({
        vector: Array.from({ length: DIMENSIONS }, () => rng.normal()),
        genre: rng.int(0, GENRES - 1),
        popularity: 2 + 1.5 * rng.normal(),
        logPrice: 3 + rng.normal(),
        ageDays: rng.between(0, 365),
      }));
      const prices = items.map((it) => it.logPrice);
      const sorted = [...prices].sort((a, b) => a - b);
      const features: Float64Array[] = [];
      const labels: number[] = [];
      for (const it of items) {
        let dot = 0;
        for (let k = 0; k < DIMENSIONS; k++) dot += (taste[k] as number) * (it.vector[k] as number);
        const priceSensitivity = Math.max(0, 11 - logIncome) * 0.5;
        const freshness = (it.ageDays / 30) * Math.exp(1 - it.ageDays / 30); // peaks at a month
        const u = 0.6 * dot + (it.genre === favourite ? 1.2 : 0) + 0.25 * it.popularity - priceSensitivity * (it.logPrice - 3) + 0.5 * freshness + 2 * (activity - 0.5);
        // Logistic noise: a user decides, the data only sees the decision.
        const p = rng.next();
        const decision = u + Math.log(p / (1 - p));
        labels.push(decision > 5 ? 3 : decision > 3.5 ? 2 : decision > 2 ? 1 : 0);
        features.push(
          Float64Array.from([
            ...taste,
            favourite,
            logIncome,
            activity,
            ...it.vector,
            it.genre,
            it.popularity,
            it.logPrice,
            it.ageDays,
            sorted.indexOf(it.logPrice) / (n - 1),
            rng.normal(),
            rng.normal(),
            rng.next(),
          ]),
        );
      }
      out.push({ id: `r${seed}-${q}`, features, labels });
    }
    return out;
  },
};
