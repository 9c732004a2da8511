/**
 * @module logcheck/place-worker
 * A classification worker of logcheck/place-pool: loads the same rule tree as the run, then answers
 * each chunk of log it is sent with the lines' places (logcheck/line-places).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { LinePartition } from './classify.ts';
import { placeChunk } from './line-places.ts';
import { loadRuleTree, type LoadOptions } from './rules.ts';

export interface PlaceWorkerData {
  readonly tree: LoadOptions;
  readonly sortUniq: boolean;
}

export interface PlaceRequest {
  readonly id: number;
  readonly chunk: Uint8Array;
}

export interface PlaceReply {
  readonly id: number;
  /** The chunk, handed back. */
  readonly chunk: Uint8Array;
  readonly count: number;
  readonly places: Uint8Array;
  readonly ends: Uint32Array;
}

const data = workerData as PlaceWorkerData;
const partition = new LinePartition(loadRuleTree(data.tree));
parentPort!.on('message', (request: PlaceRequest) => {
  const placed = placeChunk(request.chunk, partition, data.sortUniq);
  const reply: PlaceReply = { id: request.id, chunk: request.chunk, ...placed };
  parentPort!.postMessage(reply, [
    request.chunk.buffer as ArrayBuffer,
    placed.places.buffer as ArrayBuffer,
    placed.ends.buffer as ArrayBuffer,
  ]);
});
