/**
 * Spot risk per offer, on the spot runs (labels projected to OfferRun) re-keyed by offer and
 * the instance catalog, which is keyed the same way, so both meet on one partition. Emits to the compacted spot-risk topic
 * when the band or the verdict changes, or the rate moves by `spot.emitMinRateDelta`.
 */
import type { InstanceOffer, OfferRun, SpotRisk } from '../../schemas/generated/records.ts';
import type { InputRecord, Processor, ProcessorContext } from '../../topology/processor.ts';
import { LABELS_BY_OFFER, offerKey } from './labelsByOffer.ts';
import { assessSpot, spotVerdict, type SpotPrices, type SpotRules, type SpotStats } from './spotRisk.ts';

export const SPOT_STORE = 'spot-offers';

interface OfferState {
  provider: string;
  region: string;
  instanceType: string;
  stats: SpotStats;
  prices: SpotPrices | null;
  last: { band: string; recommend: boolean; rate: number } | null;
}

export interface SpotOptions extends SpotRules {
  emitMinRateDelta: number;
}

export function spotProcessor(options: SpotOptions): Processor {
  return {
    name: 'spot',
    inputs: ['instance-catalog'],
    repartitions: [LABELS_BY_OFFER],
    stores: [{ name: SPOT_STORE }],
    process(record: InputRecord, ctx: ProcessorContext): void {
      const store = ctx.getStateStore<OfferState>(SPOT_STORE);
      const fresh = (p: string, r: string, t: string): OfferState => ({
        provider: p,
        region: r,
        instanceType: t,
        stats: { runs: 0, preemptedRuns: 0, preemptions: 0, runHours: 0 },
        prices: null,
        last: null,
      });
      let state: OfferState;
      let key: string;
      if (record.role === 'instance-catalog') {
        const offer = record.value as InstanceOffer;
        key = offerKey(offer);
        state = { ...(store.get(key) ?? fresh(offer.provider, offer.region, offer.instance_type)) };
        state.prices = { onDemand: offer.on_demand_price_usd, spot: offer.spot_price_usd };
      } else {
        const label = record.value as OfferRun;
        if (!label.instance.spot) return;
        key = offerKey(label.instance);
        const prev = store.get(key) ?? fresh(label.instance.provider, label.instance.region, label.instance.instance_type);
        const preempted = label.preemption_count > 0 || label.status === 'PREEMPTED';
        state = {
          ...prev,
          stats: {
            runs: prev.stats.runs + 1,
            preemptedRuns: prev.stats.preemptedRuns + (preempted ? 1 : 0),
            preemptions: prev.stats.preemptions + Math.max(label.preemption_count, label.status === 'PREEMPTED' ? 1 : 0),
            runHours: prev.stats.runHours + label.duration_s / 3600,
          },
        };
      }
      if (state.stats.runs > 0) {
        // Whether to emit reads the rate, band and verdict alone; the credible interval and the
        // expected costs (most of assessSpot's work) only for a record that goes out.
        const v = spotVerdict(state.stats, state.prices, options);
        const last = state.last;
        if (!last || last.band !== v.riskBand || last.recommend !== v.recommendSpot || Math.abs(last.rate - v.preemptionRate) >= options.emitMinRateDelta) {
          const a = assessSpot(state.stats, state.prices, options);
          const risk: SpotRisk = {
            event_id: `spot:${key}:${state.stats.runs}:${record.eventTime}`,
            event_time: record.eventTime,
            provider: state.provider,
            region: state.region,
            instance_type: state.instanceType,
            runs: state.stats.runs,
            preemptions: state.stats.preemptions,
            preemption_rate: a.preemptionRate,
            rate_lower: a.rateLower,
            rate_upper: a.rateUpper,
            avg_savings_pct: a.savingsPct,
            expected_cost_ratio: a.expectedCostRatio,
            expected_cost_ratio_no_checkpoint: a.expectedCostRatioNoCheckpoint,
            mean_run_hours: a.meanRunHours,
            risk_band: a.riskBand,
            recommend_spot: a.recommendSpot,
            reason: a.reason,
          };
          ctx.forward('spot-risk', key, risk);
          state.last = { band: a.riskBand, recommend: a.recommendSpot, rate: a.preemptionRate };
        }
      }
      store.put(key, state);
    },
  };
}
