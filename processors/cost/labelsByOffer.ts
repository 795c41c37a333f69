import type { InstanceRef, RelevanceLabel } from '../../schemas/generated/records.ts';
import type { Repartition } from '../../topology/processor.ts';

/** `provider/region/instance_type`: the key of the instance catalog, so labels meet their offer's prices. */
export function offerKey(i: Pick<InstanceRef, 'provider' | 'region' | 'instance_type'>): string {
  return `${i.provider}/${i.region}/${i.instance_type}`;
}

/** Relevance labels (one per finished run) re-keyed by offer. */
export const LABELS_BY_OFFER: Repartition<'relevance-labels'> = {
  name: 'labels-by-offer',
  from: 'relevance-labels',
  key: (label: RelevanceLabel) => offerKey(label.instance),
};
