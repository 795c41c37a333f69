/**
 * Lodging search: a traveller's query (budget, business or leisure trip, nights) against
 * 8-60 listings. Unlike the simulator (one catalog, labels from a per-query rank of a
 * utility), labels here come from absolute cut points of a utility that has:
 *
 * - a non-monotone sweet spot: the price at about 0.8x the traveller's budget is best; far
 *   cheaper reads as poor quality, above budget is penalised steeply. Budget is a query
 *   feature and price a document feature, so the learner must find their interaction;
 * - a per-query relative feature: being cheaper than the other listings of the same search
 *   (`price_rank`) is worth something on its own;
 * - interactions: distance matters only on business trips, photos only on leisure trips;
 *   rating counts more for listings above budget;
 * - missing values that mean different things: no rating (a new listing: middling), no
 *   cancellation fee (free cancellation: as good as the lowest fee, so missing belongs with the
 *   low values), no response rate (instant booking: as good as the highest, with the high values);
 * - five noise features, one of them with missing values.
 */
import { Random } from '../../simulate/random.ts';
import { grade, median, rankWithinQuery, type RankingGenerator, type RankingQuery } from './dataset.ts';

const FEATURES = [
  'log_budget',
  'business_trip',
  'nights',
  'log_price',
  'price_rank',
  'price_vs_median',
  'rating',
  'log_reviews',
  'log_distance_km',
  'distance_rank',
  'photos',
  'cancellation_fee_share',
  'response_rate',
  'noise_0',
  'noise_1',
  'noise_2',
  'noise_3',
  'noise_missing',
] as const;

export const marketplace: RankingGenerator = {
  name: 'marketplace',
  summary: 'lodging search: price sweet spot vs a query budget, price rank in the query, trip-type interactions, missing values with three meanings, 5 noise features',
  featureNames: FEATURES,
  queries(count: number, seed: number): RankingQuery[] {
    const rng = new Random(seed ^ 0x6d61726b);
    const out: RankingQuery[] = [];
    for (let q = 0; q < count; q++) {
      const budget = Math.exp(Math.log(150) + 0.5 * rng.normal());
      const business = rng.chance(0.4) ? 1 : 0;
      const nights = rng.int(1, 7);
      const market = budget * Math.exp(0.3 * rng.normal());
      const n = rng.int(8, 60);
      const docs = Array.from({ length: n }, () => {
        const quality = rng.normal();
        const isNew = rng.chance(0.25);
        const rating = isNew ? Number.NaN : Math.round(10 * Math.min(5, Math.max(1, 4 + 0.4 * quality + 0.3 * rng.normal()))) / 10;
        const price = market * Math.exp(0.45 * rng.normal() + 0.1 * quality);
        return {
          quality,
          price,
          rating,
          reviews: isNew ? 0 : Math.floor(Math.exp(3 + 1.2 * rng.normal())),
          distance: Math.exp(1 + 0.8 * rng.normal()),
          photos: rng.int(0, 40),
          fee: rng.chance(0.35) ? Number.NaN : rng.between(0.05, 0.5),
          response: rng.chance(0.2) ? Number.NaN : rng.between(0.3, 1),
          noise: [rng.normal(), rng.normal(), rng.next(), rng.int(0, 9), rng.chance(0.3) ? Number.NaN : rng.normal()],
          luck: rng.normal(),
        };
      });
      const priceRank = rankWithinQuery(docs.map((d) => d.price));
      const distanceRank = rankWithinQuery(docs.map((d) => d.distance));
      const medianPrice = median(docs.map((d) => d.price));
      const features: Float64Array[] = [];
      const labels: number[] = [];
      docs.forEach((d, i) => {
        const ratio = d.price / budget;
        let u = -2.5 * Math.log(ratio / 0.8) ** 2 - (ratio > 1.2 ? 1.5 : 0);
        u -= 0.6 * (priceRank[i] as number);
        u += Number.isNaN(d.rating) ? 0.1 : 0.9 * (d.rating - 4) * (ratio > 1 ? 1.6 : 1);
        u += business ? -0.9 * Math.log(d.distance) : 0.03 * Math.min(d.photos, 25);
        u += Number.isNaN(d.fee) ? 0.4 : 0.4 - 1.6 * d.fee;
        u += Number.isNaN(d.response) ? 0.3 : 0.6 * (d.response - 0.65);
        u += 0.15 * d.quality + 0.25 * d.luck;
        labels.push(grade(u, [-0.6, 0, 0.5, 1.1]));
        features.push(
          Float64Array.from([
            Math.log(budget),
            business,
            nights,
            Math.log(d.price),
            priceRank[i] as number,
            d.price / medianPrice,
            d.rating,
            Math.log1p(d.reviews),
            Math.log(d.distance),
            distanceRank[i] as number,
            d.photos,
            d.fee,
            d.response,
            ...d.noise,
          ]),
        );
      });
      out.push({ id: `m${seed}-${q}`, features, labels });
    }
    return out;
  },
};
