import { describe, expect, it } from 'vitest';
import avro from 'avsc';
import { internalSchema, topicSchema } from '../../../../schemas/catalog.ts';
import { loadConfig } from '../../../../config/options.ts';
import { buildLabel } from '../../../../processors/feedback/join.ts';
import { LABELS_BY_OFFER, offerKey, offerRun, readByOffer } from '../../../../processors/cost/labelsByOffer.ts';
import { EventGenerator } from '../../../../simulate/generator.ts';
import type { RelevanceLabel } from '../../../../schemas/generated/records.ts';

const config = loadConfig({ env: {} });
const generator = new EventGenerator({ seed: 3, runId: 'offer-runs' });
const labels: RelevanceLabel[] = Array.from({ length: 400 }, (_, i) => generator.job(Date.UTC(2026, 0, 1) + i * 60_000))
  .map((j) => buildLabel(j.dispatch, j.outcome, config.feedback))
  .filter((l): l is RelevanceLabel => l !== null);

describe('labels-by-offer', () => {
  it('repartitions only spot runs and successes, what spot risk and cost anomalies read', () => {
    const taken = labels.filter((l) => LABELS_BY_OFFER.accepts?.(l) ?? true);
    expect(taken.length).toBeLessThan(labels.length);
    for (const l of labels) expect(readByOffer(l)).toBe(l.instance.spot || l.status === 'SUCCEEDED');
    expect(labels.some((l) => !l.instance.spot && l.status !== 'SUCCEEDED')).toBe(true);
  });

  it('keys by offer and projects to an OfferRun that fits its schema and is smaller than the label', () => {
    const labelType = avro.Type.forSchema(topicSchema('relevance-labels') as avro.Schema);
    const runType = avro.Type.forSchema(internalSchema('offer-runs') as avro.Schema);
    const l = labels[0] as RelevanceLabel;
    expect(LABELS_BY_OFFER.key(l)).toBe(offerKey(l.instance));
    const run = LABELS_BY_OFFER.projection?.project(l);
    expect(run).toEqual(offerRun(l));
    expect(runType.isValid(run)).toBe(true);
    let whole = 0;
    let slim = 0;
    for (const x of labels) {
      whole += labelType.toBuffer(x).length;
      slim += runType.toBuffer(offerRun(x)).length;
    }
    expect(slim).toBeLessThan(whole * 0.7);
  });

  it('reads the whole labels older versions repartitioned (BACKWARD: OfferRun aliases RelevanceLabel)', () => {
    const labelType = avro.Type.forSchema(topicSchema('relevance-labels') as avro.Schema);
    const runType = avro.Type.forSchema(internalSchema('offer-runs') as avro.Schema);
    const resolver = runType.createResolver(labelType);
    for (const l of labels.slice(0, 20)) expect(runType.fromBuffer(labelType.toBuffer(l), resolver)).toEqual(offerRun(l));
  });
});
