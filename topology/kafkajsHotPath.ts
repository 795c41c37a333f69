/**
 * Faster drop-in functions for kafkajs 2.2.4's producer hot path, put in place through Node's
 * CommonJS module cache (imported for its effect, before kafkajs: see below).
 *
 * - `groupMessagesPerPartition` (kafkajs/src/producer/groupMessagesPerPartition.js) groups a
 *   send's messages by partition with `[...current, message]` for every message: quadratic in
 *   the messages of a partition (upstream fix tulios/kafkajs#1576, unreleased). It was ~9% of the
 *   feedback slice's main thread (BENCHMARKS.md, "Where the slice's time goes"). The linear
 *   version here calls the partitioner once per message in the same order and returns the same
 *   object: the same partition keys, first seen first, and the messages of a partition in their
 *   order.
 * - the CRC32C of every record batch it produces (kafkajs/src/protocol/recordBatch/crc32C, a
 *   byte-at-a-time table loop in JavaScript, 4–5% of the slice's main thread) is computed by
 *   @node-rs/crc32 (native, SSE4.2/SIMD): the same unsigned 32-bit value. Where the package
 *   cannot be loaded (no prebuilt binary for the platform), kafkajs' own stays.
 * - kafkajs' protocol Encoder (kafkajs/src/protocol/encoder.js; one per record, per batch, per
 *   request) starts every instance with `Buffer.alloc(512)` and grows with `Buffer.alloc`: a
 *   fresh ArrayBuffer each time (`FastBuffer` 8–15% of the slice's main thread). Here, below
 *   4 KiB, a zero-filled slice of Node's buffer pool (`Buffer.allocUnsafe(n).fill(0)`: the same
 *   zeroed bytes, no ArrayBuffer of its own); from 4 KiB on, `Buffer.alloc` as before. And
 *   `writeUVarInt` (several per record) writes its bytes in place instead of through an array
 *   and `Buffer.from`. The bytes encoded are the same.
 *
 * Why the module cache: kafkajs' sendMessages.js takes the function with
 * `const groupMessagesPerPartition = require('./groupMessagesPerPartition')` when it is first
 * loaded, and `import 'kafkajs'` loads it at once (index -> producer -> messageProducer ->
 * sendMessages), so no patch after that reaches it. This module loads the original file first
 * and replaces its `require.cache` entry's exports, so that sendMessages.js' later require gets
 * the replacement. Hence this module must be evaluated before anything imports kafkajs: it is
 * the first import of the service's entry point (cli/main.ts), of topology/kafka.ts and of the
 * other modules that import kafkajs' values (ESM evaluates a module's imports in order). Where
 * kafkajs was loaded first all the same ("too late"), nothing is replaced and `kafkajsHotPath()`
 * says so; createKafka logs it once.
 */
import { createRequire } from 'node:module';

const nodeRequire = createRequire(import.meta.url);

/** What `groupMessagesPerPartition` gets from sendMessages.js (kafkajs' types do not name it). */
export interface GroupArgs<M> {
  topic: string;
  partitionMetadata: readonly unknown[];
  messages: readonly M[];
  partitioner: (args: { topic: string; partitionMetadata: readonly unknown[]; message: M }) => number;
}

export type Grouping<M> = Record<string, M[]>;

/** kafkajs' groupMessagesPerPartition, in one pass: one array per partition, pushed to. */
export function groupMessagesPerPartition<M>({ topic, partitionMetadata, messages, partitioner }: GroupArgs<M>): Grouping<M> {
  const result: Grouping<M> = {};
  if (partitionMetadata.length === 0) return result;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    const list = result[partition];
    if (list === undefined) result[partition] = [message];
    else list.push(message);
  }
  return result;
}

/**
 * - patched: the replacement is what kafkajs uses;
 * - too-late: kafkajs' user of the module was loaded before this module ran: left as it is;
 * - changed: the original no longer looks like the one replaced (fixed upstream?): left as it is;
 * - unavailable: the module (or the replacement) could not be loaded: left as it is.
 */
export type PatchOutcome = 'patched' | 'too-late' | 'changed' | 'unavailable';

type Require = NodeJS.Require;

/** The exports this module put in place (to tell them from kafkajs' own). */
const installed = new WeakSet<object>();

/**
 * Replaces the exports of kafkajs module `target` in the module cache with
 * `replacementFor(original)`, before `user` (the module that takes it at load time) is loaded.
 * `looksLikeOriginal` guards against a kafkajs that changed the module. Idempotent.
 */
export function replaceKafkajsModule(
  target: string,
  user: string,
  replacementFor: (original: unknown) => object,
  looksLikeOriginal: (original: unknown) => boolean,
  req: Require = nodeRequire,
): PatchOutcome {
  let targetPath: string;
  let userPath: string;
  try {
    targetPath = req.resolve(target);
    userPath = req.resolve(user);
  } catch {
    return 'unavailable';
  }
  const cached = req.cache[targetPath];
  if (cached !== undefined && installed.has(cached.exports as object)) return 'patched';
  if (req.cache[userPath] !== undefined) return 'too-late';
  const original: unknown = req(target);
  if (!looksLikeOriginal(original)) return 'changed';
  const entry = req.cache[targetPath];
  if (entry === undefined) return 'unavailable';
  const replacement = replacementFor(original);
  installed.add(replacement);
  entry.exports = replacement;
  return 'patched';
}

const GROUPING = 'kafkajs/src/producer/groupMessagesPerPartition.js';
const SEND_MESSAGES = 'kafkajs/src/producer/sendMessages.js';

/** Puts the linear grouping in place of kafkajs' (see the module's comment). */
export function useLinearGrouping(req: Require = nodeRequire): PatchOutcome {
  return replaceKafkajsModule(
    GROUPING,
    SEND_MESSAGES,
    () => groupMessagesPerPartition,
    (original) => typeof original === 'function' && /\.\.\.current\b/.test(String(original)),
    req,
  );
}

const CRC32C = 'kafkajs/src/protocol/recordBatch/crc32C/index.js';
const RECORD_BATCH = 'kafkajs/src/protocol/recordBatch/v0/index.js';
/** CRC-32C of the ASCII digits 1..9, the check value of the Castagnoli polynomial. */
const CHECK_INPUT = '123456789';
const CHECK_VALUE = 0xe3069283;

type Crc = (buffer: Uint8Array) => number;

/** @node-rs/crc32's crc32c, or null where the package (its native binary) cannot be loaded. */
export function nativeCrc32c(req: Require = nodeRequire): Crc | null {
  try {
    const { crc32c } = req('@node-rs/crc32') as { crc32c: (input: Uint8Array, initial?: number) => number };
    const crc: Crc = (buffer) => crc32c(buffer);
    return crc(Buffer.from(CHECK_INPUT)) === CHECK_VALUE ? crc : null;
  } catch {
    return null;
  }
}

const nativeCrc = nativeCrc32c();

/** Puts @node-rs/crc32's CRC32C in place of kafkajs' JavaScript one for the record batches it encodes. */
export function useNativeCrc32c(req: Require = nodeRequire, crc: Crc | null = nativeCrc): PatchOutcome {
  if (crc === null) return 'unavailable';
  return replaceKafkajsModule(
    CRC32C,
    RECORD_BATCH,
    () => crc,
    (original) => typeof original === 'function' && (original as Crc)(Buffer.from(CHECK_INPUT)) === CHECK_VALUE,
    req,
  );
}

/** The part of kafkajs' Encoder that the pooled one relies on. */
export interface EncoderLike {
  buf: Buffer;
  offset: number;
  ensureAvailable(length: number): void;
  writeUVarInt(value: number): EncoderLike;
  readonly buffer: Buffer;
}
export interface EncoderClass {
  new (initialSize?: number): EncoderLike;
  prototype: EncoderLike;
  nextPowerOfTwo(value: number): number;
}

/** Below half of Node's pool size, Buffer.allocUnsafe takes a slice of the shared pool. */
const POOLED_BELOW = Buffer.poolSize >>> 1;

/** `size` zero bytes, as Buffer.alloc gives them; small ones from Node's buffer pool. */
function zeroed(size: number): Buffer {
  return size < POOLED_BELOW ? Buffer.allocUnsafe(size).fill(0) : Buffer.alloc(size);
}

/**
 * kafkajs' Encoder with pooled small buffers and an in-place writeUVarInt (see the module's
 * comment). A subclass in the prototype chain (instanceof Encoder, the static methods
 * inherited); its constructor is a plain function that sets the two fields itself, not
 * through Encoder's constructor, whose Buffer.alloc is what it avoids.
 */
export function pooledEncoderClass(Encoder: EncoderClass): EncoderClass {
  function PooledEncoder(initialSize = 511): EncoderLike {
    const self = Object.create(PooledEncoder.prototype as object) as EncoderLike;
    self.buf = zeroed(Encoder.nextPowerOfTwo(initialSize));
    self.offset = 0;
    return self;
  }
  const proto = Object.create(Encoder.prototype as object) as EncoderLike;
  Object.defineProperty(proto, 'constructor', { value: PooledEncoder, writable: true, configurable: true });
  proto.ensureAvailable = function ensureAvailable(this: EncoderLike, length: number): void {
    if (this.offset + length > this.buf.length) {
      const next = zeroed(Encoder.nextPowerOfTwo(this.offset + length));
      this.buf.copy(next, 0, 0, this.offset);
      this.buf = next;
    }
  };
  // kafkajs' loop (LEB128 of the value as an unsigned 32-bit integer), operation for operation,
  // with the bytes written in place.
  proto.writeUVarInt = function writeUVarInt(this: EncoderLike, value: number): EncoderLike {
    let size = 1;
    for (let v = value; (v & 0xffffff80) !== 0; v >>>= 7) size++;
    this.ensureAvailable(size);
    const buf = this.buf;
    let offset = this.offset;
    while ((value & 0xffffff80) !== 0) {
      buf[offset++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    buf[offset++] = value & 0x7f;
    this.offset = offset;
    return this;
  };
  PooledEncoder.prototype = proto;
  Object.setPrototypeOf(PooledEncoder, Encoder);
  return PooledEncoder as unknown as EncoderClass;
}

const ENCODER = 'kafkajs/src/protocol/encoder.js';
/** Loaded with kafkajs' network layer; the first of kafkajs' modules to take the Encoder. */
const REQUEST = 'kafkajs/src/protocol/request.js';

/** Puts the pooled Encoder in place of kafkajs' for every module that requires it later. */
export function usePooledEncoder(req: Require = nodeRequire): PatchOutcome {
  return replaceKafkajsModule(
    ENCODER,
    REQUEST,
    (original) => pooledEncoderClass(original as EncoderClass),
    (original) => {
      const proto = (original as { prototype?: Partial<EncoderLike> } | undefined)?.prototype;
      return (
        typeof original === 'function' &&
        typeof (original as Partial<EncoderClass>).nextPowerOfTwo === 'function' &&
        /Buffer\.alloc\(newLength\)/.test(String(proto?.ensureAvailable)) &&
        /Buffer\.from\(byteArray\)/.test(String(proto?.writeUVarInt))
      );
    },
    req,
  );
}

export interface HotPathState {
  grouping: PatchOutcome;
  crc32c: PatchOutcome;
  encoder: PatchOutcome;
}

const state: HotPathState = { encoder: usePooledEncoder(), grouping: useLinearGrouping(), crc32c: useNativeCrc32c() };

/** What was put in place when this module was evaluated. */
export function kafkajsHotPath(): Readonly<HotPathState> {
  return state;
}

interface WarnLogger {
  warn(obj: object, msg: string): void;
}

let reported = false;

/** Logs once a process, at warn, what of the hot path is not in place (nothing when all is). */
export function reportKafkajsHotPath(logger: WarnLogger): void {
  if (reported) return;
  reported = true;
  const missed = Object.entries(state).filter(([, outcome]) => outcome !== 'patched');
  if (missed.length > 0) {
    logger.warn(
      Object.fromEntries(missed),
      'kafkajs hot-path replacements not in place (too-late: kafkajs was imported before topology/kafkajsHotPath.ts); the producer runs kafkajs’ own, slower code',
    );
  }
}
