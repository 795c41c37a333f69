/** The training worker thread: runs `trainAndEvaluate` for each request, in order (see trainingWorker.ts). */
import { parentPort } from 'node:worker_threads';
import { trainInThread, type WorkerReply, type WorkerRequest } from './trainingWorker.ts';

parentPort?.on('message', async ({ id, input }: WorkerRequest) => {
  let reply: WorkerReply;
  try {
    reply = { id, run: await trainInThread(input) };
  } catch (err) {
    reply = { id, error: { message: (err as Error).message, ...((err as Error).stack ? { stack: (err as Error).stack } : {}) } };
  }
  parentPort?.postMessage(reply);
});
