/**
 * Fixed data for the status page's screenshot baselines: every section filled the way a day
 * of real traffic fills it, with the long names, the tiny storage savings and the one-day
 * edge cases that used to be drawn badly. Deterministic: no clock, no randomness.
 */
import type { StatusData } from '../../dashboard/statusData.ts';

const days = Array.from({ length: 14 }, (_, i) => `2026-06-${String(18 + i).padStart(2, '0')}`.replace('2026-06-31', '2026-07-01'));

function wave(i: number, base: number, amp: number): number {
  return Math.round((base + amp * Math.sin(i * 0.9) + (i % 3) * amp * 0.2) * 100) / 100;
}

const offers = ['aws/us-east-1/p4d.24xlarge', 'gcp/us-central1/a3-highgpu-8g', 'azure/eastus/Standard_NC24ads_A100_v4', 'aws/us-west-2/g5.xlarge', 'gcp/europe-west4/a2-highgpu-1g', 'azure/westeurope/Standard_NC4as_T4_v3'];

const objective = (n: number) => Math.round((0.62 + 0.3 * (1 - Math.exp(-n / 9)) + 0.04 * Math.sin(n * 1.7)) * 10000) / 10000;

export function statusFixture(): StatusData {
  const history: StatusData['history'] = Array.from({ length: 12 }, (_, i) => {
    const cost = [412.5, 88.2, 19.75, 1203.4, 5.12, 96.0, 245.33, 14.9, 310.0, 77.77, 2.4, 640.1][i] as number;
    const outcome = ['SUCCEEDED', 'SUCCEEDED', 'FAILED', 'SUCCEEDED', 'PREEMPTED', 'SUCCEEDED', 'CANCELLED'][i % 7] as string;
    const hasPick = i % 5 !== 4;
    const same = i % 6 === 5;
    const pickCost = !hasPick ? null : same ? cost : Math.round(cost * (0.7 + (i % 4) * 0.12) * 100) / 100;
    return {
      time: `2026-07-01 ${String(11 - Math.floor(i / 2)).padStart(2, '0')}:${String(50 - (i % 2) * 25).padStart(2, '0')}:00.000`,
      job_id: `job-sim-2026-07-01-${String(4812 - i).padStart(6, '0')}`,
      team: ['vision', 'nlp-research', 'ranking', 'speech'][i % 4] as string,
      chosen: offers[i % offers.length] as string,
      pick: !hasPick ? '' : same ? (offers[i % offers.length] as string) : (offers[(i + 3) % offers.length] as string),
      same_choice: hasPick && same,
      mode: !hasPick ? null : i % 2 ? 'HYBRID' : 'HEURISTIC',
      outcome,
      // As the labels are made: 0 for a run that failed or ended preempted, none for a cancelled one.
      label: outcome === 'CANCELLED' ? null : outcome === 'SUCCEEDED' ? ([4, 3, 2, 3, 1][i % 5] as number) : 0,
      actual_cost_usd: cost,
      pick_cost_usd: pickCost,
      // Only jobs the savings figure covers (succeeded, with the pick's estimate) have a difference.
      delta_usd: pickCost === null || outcome !== 'SUCCEEDED' ? null : Math.round((cost - pickCost) * 100) / 100,
    };
  });
  const trials = Array.from({ length: 36 }, (_, n) => ({
    trial_id: `demo-study-t${n}`,
    number: n,
    strategy: n < 8 ? 'sobol' : 'tpe',
    params: { learning_rate: Math.round(10 ** (-4 + (n % 7) * 0.45) * 1e6) / 1e6, batch_size: [32, 64, 128, 256][n % 4] as number, optimizer: ['adamw', 'sgd', 'lion'][n % 3] as string },
    status: n % 11 === 10 ? 'FAILED' : 'SUCCEEDED',
    value: n % 11 === 10 ? null : objective(n),
  }));
  return {
    generatedAt: '2026-07-01T12:00:00.000Z',
    optimizer: { mode: 'HYBRID', modeReason: null, samples: 12_834, meanLabel: 2.61, modelVersion: 'ltr-7', ndcgAt5: 0.912, ndcgAt10: 0.934, mrr: 0.88, heuristicNdcgAt5: 0.801, trainingRuns: 9 },
    streams: {
      ready: true,
      consumerLag: { 'artenic-optimizer': 0, 'artenic-optimizer-clickhouse-sink': 3 },
      consumerLagAt: '2026-07-01T11:59:55.000Z',
      consumed: {},
      produced: {},
      deadLetters: { BAD_MAGIC_BYTE: 3, ORPHAN_OUTCOME: 2 },
      transactions: 1_234,
      stateEntries: 5_210,
    },
    sink: { bufferedRows: 0, rowsInserted: {}, paused: false },
    recentDecisions: [
      { time: '2026-07-01 11:59:41.000', kind: 'relevance label', subject: 'job-sim-2026-07-01-004812', summary: 'label 4 on p4d.24xlarge' },
      { time: '2026-07-01 11:59:12.000', kind: 'ranker model', subject: 'ltr-7', summary: 'promoted: held-out NDCG@5 0.912 >= 0.897 (ltr-6) on 41 queries' },
      { time: '2026-07-01 11:58:03.000', kind: 'tiering', subject: 'ds-clickstream-2026-06', summary: 'COLD, CONVERT_TO_PARQUET' },
      { time: '2026-07-01 11:57:30.000', kind: 'spot risk', subject: 'gcp/us-central1/a3-highgpu-8g', summary: '>20%, on-demand' },
      { time: '2026-07-01 11:55:02.000', kind: 'cost anomaly', subject: 'job-sim-2026-07-01-004790', summary: '$1203.4 vs median $402.17' },
      { time: '2026-07-01 11:54:44.000', kind: 'relevance label', subject: 'job-sim-2026-07-01-004809', summary: 'label 0 on Standard_NC24ads_A100_v4' },
    ],
    spendByProvider: [
      { provider: 'aws', cost_usd: 18_240.5, runs: 412 },
      { provider: 'gcp', cost_usd: 11_020.25, runs: 305 },
      { provider: 'azure', cost_usd: 4_310.9, runs: 122 },
    ],
    costTrend: days.flatMap((day, i) => [
      { day, provider: 'aws', cost_usd: wave(i, 1300, 260) },
      { day, provider: 'gcp', cost_usd: wave(i + 2, 790, 180) },
      { day, provider: 'azure', cost_usd: wave(i + 4, 310, 90) },
    ]),
    spotRisk: offers.map((offer, i) => ({
      offer,
      runs: [41, 12, 7, 88, 23, 5][i] as number,
      rate: [0.08, 0.27, 0.16, 0.05, 0.12, 0.19][i] as number,
      lower: [0.03, 0.12, 0.05, 0.02, 0.05, 0.06][i] as number,
      upper: [0.15, 0.45, 0.33, 0.1, 0.22, 0.38][i] as number,
      band: ['5-10%', '>20%', '15-20%', '<5%', '10-15%', '15-20%'][i] as string,
      savings_pct: [63, 65, 60, 64, 70, null][i] as number | null,
      recommend: [true, false, false, true, true, false][i] as boolean,
    })),
    storage: [
      { dataset_id: 'ds-clickstream-2026-06', tier: 'COLD', format_advice: 'CONVERT_TO_PARQUET', size_bytes: 412_000_000_000, monthly_saving_usd: 8.74 },
      { dataset_id: 'ds-imagenet-subset-v3', tier: 'WARM', format_advice: null, size_bytes: 96_500_000_000, monthly_saving_usd: 0.98 },
      { dataset_id: 'ds-reviews-json', tier: 'WARM', format_advice: 'CONVERT_TO_PARQUET_OR_JSONL', size_bytes: 2_400_000_000, monthly_saving_usd: 0.04 },
      { dataset_id: 'ds-eval-small', tier: 'COLD', format_advice: null, size_bytes: 180_000_000, monthly_saving_usd: 0.0033 },
      { dataset_id: 'ds-hot-features', tier: 'HOT', format_advice: null, size_bytes: 12_000_000_000, monthly_saving_usd: 0 },
    ],
    savings: {
      finishedJobs: 839,
      succeededJobs: 702,
      coveredJobs: 688,
      sameChoiceJobs: 214,
      spentUsd: 27_410.12,
      optimizerUsd: 23_307.74,
      savingUsd: 4_102.38,
      uncoveredSpentUsd: 391.7,
      unsuccessfulSpentUsd: 5_769.83,
      storageMonthlyUsd: 9.7633,
    },
    storageDatasets: 5,
    selection: { sort: 'time', dir: 'desc', workload: null, study: null },
    history,
    providerComparison: {
      classes: [
        { queryId: 'a1b2c3d4e5f60718', runs: 212, description: 'pytorch transformer 1.3B · 8 GPU, 320 GB sharded · 12 h' },
        { queryId: '0f1e2d3c4b5a6978', runs: 97, description: 'jax transformer 350M · 1 GPU, 40 GB each · 4 h' },
      ],
      selected: 'a1b2c3d4e5f60718',
      workload: { framework: 'PYTORCH', model_family: 'transformer', param_count: 1.3e9, dataset_size_gb: 200, gpu_memory_required_gb: 320, num_gpus: 8, expected_duration_h: 12, distributed: true, gpu_memory_sharded: true, max_nodes: 1 },
      bars: [
        { provider: 'gcp', offer: 'us-central1/a3-highgpu-8g', usdPerHour: 88.25, hours: 5.5, costUsd: 485.38, source: 'observed', feasibleOffers: 2 },
        { provider: 'aws', offer: 'us-east-1/p4d.24xlarge', usdPerHour: 32.77, hours: 15.8, costUsd: 517.77, source: 'estimated', feasibleOffers: 3 },
        { provider: 'azure', offer: 'eastus/Standard_ND96asr_v4', usdPerHour: 27.2, hours: 20.1, costUsd: 546.72, source: 'estimated', feasibleOffers: 1 },
      ],
    },
    hpo: {
      studies: [
        { study_id: 'demo-mq8x1', strategy: 'auto', budget: 60, objective: { name: 'metric', direction: 'MAXIMIZE' }, objectives: 1, suggested: 38, finished: 36, done: false, best_value: 0.9342, defined_at: '2026-06-30 08:00:00.000' },
        { study_id: 'resnet-sweep-2', strategy: 'tpe', budget: 40, objective: { name: 'cost_usd', direction: 'MINIMIZE' }, objectives: 1, suggested: 40, finished: 40, done: true, best_value: 12.4, defined_at: '2026-06-20 10:00:00.000' },
      ],
      selected: 'demo-mq8x1',
      trials,
    },
    deadLettersByCode: [
      { code: 'BAD_MAGIC_BYTE', records: 31, topics: ['job-dispatch', 'job-outcome'], last: '2026-07-01 11:40:00.000', example: 'not in the Confluent wire format (first byte 123, length 88)' },
      { code: 'ORPHAN_OUTCOME', records: 12, topics: ['job-outcome'], last: '2026-07-01 09:12:00.000', example: 'outcome of job job-sim-2026-06-23-001204 without its dispatch after 7 days of event time' },
      { code: 'INVALID_FIELD', records: 4, topics: ['dataset-access'], last: '2026-06-30 22:03:00.000', example: 'size_bytes must be >= 0, got -12' },
      { code: 'UNKNOWN_SCHEMA', records: 1, topics: ['instance-catalog'], last: '2026-06-29 04:00:00.000', example: 'schema id 9999 is not in the registry' },
    ],
  };
}
