/**
 * @module logcheck/place-pool
 * Classifies chunks of log for logcheck/run: in the calling thread while the run is small, and in
 * worker threads (logcheck/place-worker) once it has read `inlineBytes`, so that the rules run on
 * every core while the main thread reads, keeps and writes. Answers come back in the order asked.
 *
 * Why a worker: the rules are most of a long run's CPU (about 1 us a line, Part 4 of `npm run
 * bench`), and the main thread has its own share (reading, keeping, sorting, writing), so the two
 * run side by side. Why not always: a worker compiles the rules again (0.3 s), which a run of a few
 * thousand lines would only lose.
 */
import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import type { LinePartition } from './classify.ts';
import { placeChunk, type ChunkPlaces } from './line-places.ts';
import type { PlaceReply, PlaceRequest, PlaceWorkerData } from './place-worker.ts';
import type { LoadOptions } from './rules.ts';

export interface PlacePoolOptions {
  readonly tree: LoadOptions;
  readonly sortUniq: boolean;
  /** The run's own partition, for the chunks classified in this thread. */
  readonly partition: LinePartition;
  /** Bytes classified here before workers start (default 8 MiB). */
  readonly inlineBytes?: number;
  /** Worker threads (default one where there are two cores or more; 0: never). */
  readonly workers?: number;
}

/** A worker costs 0.3 s to start and compile the rules: a run of a few thousand lines is done first. */
const INLINE_BYTES = 8 << 20;

/**
 * One worker beside the main thread, which reads, keeps, sorts and writes: on 2 cores, two workers
 * were slower than one, and each costs 60 MB (its own rules and heap) of the 256 MB the run may use.
 */
function defaultWorkers(): number {
  return availableParallelism() >= 2 ? 1 : 0;
}

interface Waiting {
  resolve(placed: ChunkPlaces & { chunk: Uint8Array }): void;
  reject(err: Error): void;
}

const EXTENSION = extname(fileURLToPath(import.meta.url));
const WORKER_URL = new URL(`./place-worker${EXTENSION}`, import.meta.url);

/** A worker of place-worker: the built module, or from the sources (tests) through tsx's loader. */
function startWorker(options: WorkerOptions): Worker {
  if (EXTENSION === '.js') return new Worker(WORKER_URL, options);
  // Node 20 does not apply `--import tsx` to a worker's entry module: tsx imports it there.
  const boot = `import { tsImport } from 'tsx/esm/api'; await tsImport(${JSON.stringify(WORKER_URL.href)}, ${JSON.stringify(import.meta.url)});`;
  return new Worker(boot, { ...options, eval: true });
}

export class PlacePool {
  readonly #options: PlacePoolOptions;
  readonly #workers: Worker[] = [];
  readonly #waiting = new Map<number, Waiting>();
  #bytes = 0;
  #next = 0;
  #failure: Error | null = null;
  #started = 0;

  constructor(options: PlacePoolOptions) {
    this.#options = options;
  }

  /** The places of `chunk`'s lines, and the chunk (a worker hands back the bytes it was lent). */
  place(chunk: Uint8Array): Promise<ChunkPlaces & { chunk: Uint8Array }> {
    const o = this.#options;
    const wanted = o.workers ?? defaultWorkers();
    if (this.#workers.length === 0 && (wanted === 0 || this.#bytes < (o.inlineBytes ?? INLINE_BYTES))) {
      this.#bytes += chunk.length;
      return Promise.resolve({ ...placeChunk(chunk, o.partition, o.sortUniq), chunk });
    }
    if (this.#failure !== null) return Promise.reject(this.#failure);
    if (this.#workers.length === 0) this.#start(wanted);
    // Lent to the worker (moved, not copied): a chunk that shares its memory is copied first.
    const own =
      chunk.byteOffset === 0 &&
      chunk.byteLength === chunk.buffer.byteLength &&
      !(chunk.buffer instanceof SharedArrayBuffer)
        ? chunk
        : new Uint8Array(chunk);
    const id = this.#next++;
    const worker = this.#workers[id % this.#workers.length]!;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      const request: PlaceRequest = { id, chunk: own };
      worker.postMessage(request, [own.buffer as ArrayBuffer]);
    });
  }

  /** Workers started (they stay counted after close()). */
  get started(): number {
    return this.#started;
  }

  #start(count: number): void {
    this.#started = count;
    const data: PlaceWorkerData = { tree: this.#options.tree, sortUniq: this.#options.sortUniq };
    for (let i = 0; i < count; i++) {
      const worker = startWorker({ workerData: data });
      worker.on('message', (reply: PlaceReply) => {
        const waiting = this.#waiting.get(reply.id);
        this.#waiting.delete(reply.id);
        waiting?.resolve({ count: reply.count, places: reply.places, ends: reply.ends, chunk: reply.chunk });
      });
      worker.on('error', (err) => this.#fail(err));
      worker.on('exit', (code) => {
        if (code !== 0) this.#fail(new Error(`a logcheck classification worker exited with status ${code}`));
      });
      this.#workers.push(worker);
    }
  }

  #fail(err: Error): void {
    this.#failure ??= err;
    for (const w of this.#waiting.values()) w.reject(this.#failure);
    this.#waiting.clear();
  }

  /** Ends the workers. */
  async close(): Promise<void> {
    const workers = this.#workers.splice(0);
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
