/**
 * The body of one bench worker thread: it imports its driver (DriverModule), opens this thread's
 * share of the connections and runs the schedule the coordinator (workers.ts) posts. Messages are
 * the WorkerRequest / WorkerReply unions of workers.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { encodeHistogram } from './histogram.js';
import { LoadRunner } from './load.js';
import { loadFactory } from './registry.js';
import type { WorkerReply, WorkerRequest, WorkerSetup } from './workers.js';

const port = parentPort!;
const setup = workerData as WorkerSetup;

function post(reply: WorkerReply): void {
  port.postMessage(reply);
}

function failure(error: unknown): WorkerReply {
  return { type: 'failed', message: error instanceof Error ? error.message : String(error), stack: error instanceof Error ? error.stack : undefined };
}

let runner: LoadRunner | null = null;
const early: WorkerRequest[] = [];

function handle(request: WorkerRequest): void {
  if (runner === null) {
    early.push(request);
    return;
  }
  switch (request.type) {
    case 'run':
      runner.run(request.schedule).then(
        (partial) => {
          post({ type: 'done', partial });
          port.close();
        },
        (error) => post(failure(error)),
      );
      break;
    case 'stop':
      runner.stop(request.at);
      break;
    case 'progress': {
      const sample = runner.progress(request.second);
      post({ type: 'progress', id: request.id, frames: sample.frames, histogram: sample.histogram === null ? null : encodeHistogram(sample.histogram) });
      break;
    }
  }
}

port.on('message', handle);

try {
  const factory = await loadFactory(setup.source);
  runner = new LoadRunner(factory, { options: setup.options, worker: setup.worker, workers: setup.workers, senderBase: setup.senderBase });
  const senders = await runner.open();
  post({ type: 'opened', senders });
  for (const request of early.splice(0)) handle(request);
} catch (error) {
  post(failure(error));
  port.close();
}
