/**
 * Web search: 20-120 documents a query, most of them irrelevant (labels are sparse, as in
 * MSLR-style data), three kinds of query that want different things:
 *
 * - navigational (25%): one target page (the site's home) is perfect; it shows as a short
 *   URL, a strong title match and a high PageRank, not necessarily the best body match;
 * - informational (55%): topical match, query-term coverage and a document-length sweet spot
 *   (about e^7.5 words: stubs and sprawling pages are both worse) decide;
 * - news (20%): the same, but freshness matters and PageRank does not (an interaction with
 *   the query's type, which is a query feature).
 *
 * Features are heavy-tailed and correlated (BM25 of body, title and anchor text), with a
 * per-query relative feature (body BM25 over the query's best), two noisy copies and three
 * pure noise features. Missing values are not at random: no anchor text for pages without
 * inlinks, no spam score for pages not yet crawled (they behave like mildly spammy ones), no
 * click-through rate for pages younger than a month (their CTR would say a lot).
 */
import { Random } from '../../simulate/random.ts';
import { grade, rankWithinQuery, type RankingGenerator, type RankingQuery } from './dataset.ts';

const FEATURES = [
  'query_terms',
  'is_navigational',
  'is_news',
  'log_query_frequency',
  'bm25_body',
  'bm25_title',
  'bm25_anchor',
  'bm25_body_vs_best',
  'term_coverage',
  'log_doc_length',
  'log_pagerank',
  'pagerank_rank',
  'url_depth',
  'spam_score',
  'log_age_days',
  'ctr',
  'bm25_body_noisy',
  'term_coverage_noisy',
  'noise_0',
  'noise_1',
  'noise_2',
] as const;

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

export const webSearch: RankingGenerator = {
  name: 'web-search',
  summary: 'web search: sparse labels, 3 query types that want different things, doc-length sweet spot, missing-not-at-random anchor/spam/CTR, heavy tails, noisy copies',
  featureNames: FEATURES,
  queries(count: number, seed: number): RankingQuery[] {
    const rng = new Random(seed ^ 0x77656273);
    const out: RankingQuery[] = [];
    for (let q = 0; q < count; q++) {
      const terms = rng.int(1, 6);
      const kind = rng.next();
      const navigational = kind < 0.25;
      const news = !navigational && kind < 0.45;
      const n = rng.int(20, 120);
      const target = navigational ? rng.int(0, n - 1) : -1;
      const docs = Array.from({ length: n }, (_, i) => {
        const isTarget = i === target;
        // Topicality: most documents barely match.
        const topical = isTarget ? rng.between(0.4, 0.9) : rng.next() ** 3;
        let covered = 0;
        for (let t = 0; t < terms; t++) if (rng.chance(0.25 + 0.7 * topical)) covered++;
        const inlinks = isTarget || rng.chance(0.6);
        const ageDays = Math.exp(4 + 1.5 * rng.normal());
        return {
          topical,
          coverage: covered / terms,
          bm25Body: topical * 10 * (1 + 0.15 * terms) + 2 * Math.abs(rng.normal()),
          bm25Title: (isTarget ? 6 : 0) + topical * 4 * rng.next() + Math.abs(rng.normal()),
          bm25Anchor: inlinks ? (isTarget ? 5 : 0) + topical * 6 + Math.abs(rng.normal()) : Number.NaN,
          docLength: 7 + 1.1 * rng.normal(),
          pagerank: (isTarget ? 2 : 0) + rng.normal(),
          depth: isTarget ? rng.int(0, 1) : rng.int(0, 7),
          spam: rng.chance(0.3) ? Number.NaN : rng.next() ** (isTarget ? 6 : 2), // a site's home page is rarely spam
          ageDays,
          luck: rng.normal(),
          isTarget,
        };
      });
      const best = Math.max(...docs.map((d) => d.bm25Body));
      const pagerankRank = rankWithinQuery(docs.map((d) => d.pagerank));
      const features: Float64Array[] = [];
      const labels: number[] = [];
      docs.forEach((d, i) => {
        const spam = Number.isNaN(d.spam) ? 0.35 : d.spam;
        let s: number;
        if (navigational) {
          s = d.isTarget ? 6 : 2 * d.topical + 0.4 * d.coverage - 0.2 * d.depth;
        } else {
          s = 3 * d.topical + 0.8 * d.coverage - 0.5 * (d.docLength - 7.5) ** 2;
          s += news ? -0.5 * Math.log(d.ageDays) + 1.5 : 0.3 * d.pagerank;
        }
        s += -2 * spam + 0.3 * d.luck;
        const ctr = d.ageDays < 30 ? Number.NaN : sigmoid(1.5 * (s - 1.5) + rng.normal());
        labels.push(grade(s, [0.9, 1.6, 2.3, 3.2]));
        features.push(
          Float64Array.from([
            terms,
            navigational ? 1 : 0,
            news ? 1 : 0,
            Math.log(10 + 1000 * rng.next()) + (navigational ? 1 : 0),
            d.bm25Body,
            d.bm25Title,
            d.bm25Anchor,
            d.bm25Body / best,
            d.coverage,
            d.docLength,
            d.pagerank,
            pagerankRank[i] as number,
            d.depth,
            d.spam,
            Math.log(d.ageDays),
            ctr,
            d.bm25Body + 3 * rng.normal(),
            Math.min(1, Math.max(0, d.coverage + 0.3 * rng.normal())),
            rng.normal(),
            rng.next(),
            rng.int(0, 3),
          ]),
        );
      });
      out.push({ id: `w${seed}-${q}`, features, labels });
    }
    return out;
  },
};
