import type { InstanceRef, OfferRun, RelevanceLabel } from '../../schemas/generated/records.ts';
import type { Repartition } from '../../topology/processor.ts';

/** `provider/region/instance_type`: the key of the instance catalog, so labels meet their offer's prices. */
export function offerKey(i: Pick<InstanceRef, 'provider' | 'region' | 'instance_type'>): string {
  return `${i.provider}/${i.region}/${i.instance_type}`;
}

/** What spot risk (spot runs, any status) and cost anomalies (successes) read of a label. */
export function offerRun(label: RelevanceLabel): OfferRun {
  return {
    event_id: label.event_id,
    event_time: label.event_time,
    job_id: label.job_id,
    query_id: label.query_id,
    team: label.team,
    status: label.status,
    instance: label.instance,
    cost_usd: label.cost_usd,
    duration_s: label.duration_s,
    preemption_count: label.preemption_count,
  };
}

/** A label either reader of the repartition uses: a spot run (spot risk) or a success (cost anomalies). */
export function readByOffer(label: Pick<RelevanceLabel, 'instance' | 'status'>): boolean {
  return label.instance.spot || label.status === 'SUCCEEDED';
}

/**
 * Relevance labels (one per finished run) re-keyed by offer: only those spot risk or cost
 * anomalies read, projected to the slim internal OfferRun (schemas/internal/offer-runs.avsc).
 */
export const LABELS_BY_OFFER: Repartition<'relevance-labels'> = {
  name: 'labels-by-offer',
  from: 'relevance-labels',
  key: (label: RelevanceLabel) => offerKey(label.instance),
  accepts: readByOffer,
  projection: { record: 'offer-runs', project: offerRun },
};
