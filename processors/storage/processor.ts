/**
 * Wires the storage model to the dataset-access topic: per-dataset state and the day clock
 * in change-logged stores, tiering decisions to `tiering-decisions` when the tier or the
 * format advice changes. Stream-time punctuation re-evaluates every dataset at each day
 * boundary, so datasets nobody reads cool down as time passes on the partition (time moves
 * with any input of the partition, job events included).
 */
import type { DatasetAccess, TieringDecision } from '../../schemas/generated/records.ts';
import type { InputRecord, Processor, ProcessorContext } from '../../topology/processor.ts';
import { StorageModel, type DatasetState, type StorageModelOptions } from './model.ts';

export const DATASETS_STORE = 'storage-datasets';
export const CLOCK_STORE = 'storage-clock';

export function storageProcessor(options: StorageModelOptions): Processor {
  const model = (ctx: ProcessorContext) =>
    new StorageModel(ctx.getStateStore<DatasetState>(DATASETS_STORE), ctx.getStateStore<number>(CLOCK_STORE), options);
  const emit = (ctx: ProcessorContext, decisions: TieringDecision[]) => {
    for (const d of decisions) ctx.forward('tiering-decisions', d.dataset_id, d);
  };
  return {
    name: 'storage',
    inputs: ['dataset-access'],
    stores: [{ name: DATASETS_STORE }, { name: CLOCK_STORE }],
    process(record: InputRecord, ctx: ProcessorContext): void {
      emit(ctx, model(ctx).onAccess(record.value as DatasetAccess));
    },
    punctuate(streamTime: number, ctx: ProcessorContext): void {
      emit(ctx, model(ctx).advanceTo(streamTime));
    },
  };
}
