/**
 * Random and mutated WebSocket frames for fuzzing a server's socket routes, from a seeded PRNG so
 * that a failing run can be replayed (`FUZZ_SEED=<seed>`).
 *
 * Each frame says how the server is expected to end the socket: `closeCode` for frames a
 * conforming server must close on (binary 1003, invalid UTF-8 1007, oversized 1009), undefined for
 * frames it must answer or ignore while staying open.
 */
export interface FuzzFrame {
  data: string | Buffer;
  binary: boolean;
  kind: string;
  closeCode: number | undefined;
}

export interface FuzzerOptions {
  seed: number;
  /** The server's largest accepted frame; oversized frames are made just above it. */
  maxFrameBytes: number;
  /** Example valid frames for the target routes, mutated into near-misses. */
  seeds?: string[];
}

/** Valid-looking frames for the seed routes and the /connect protocol, mutated by the fuzzer. */
export const SEED_FRAMES = [
  'hello',
  '{"message":"hi"}',
  '{"type":"private_message","recipient":"fz1","msg":"hi"}',
  '{"id":1,"op":"connect"}',
  '{"id":2,"op":"subscribe","channel":"news"}',
  '{"id":3,"op":"publish","channel":"news","data":{"a":1}}',
  '{"id":4,"op":"unsubscribe","channel":"news"}',
  '{"id":5,"op":"history","channel":"news","since":{"offset":0,"epoch":"x"}}',
  '{"id":6,"op":"presence","channel":"news"}',
  '{"id":7,"op":"refresh","token":"abc"}',
  '{"id":8,"op":"rpc","method":"x","data":null}',
  '{"task_id":"t1"}',
];

const WRONG_VALUES = ['null', 'true', '0', '-1', '1e308', '1e999', '-0', '123456789012345678901234567890', '""', '"x"', '[]', '{}', '[1,"a",null]', '{"":{}}', '"\\u0000"', '"\\ud800"'];
const KEYS = ['id', 'op', 'type', 'channel', 'data', 'message', 'msg', 'recipient', 'token', 'since', 'offset', 'epoch', 'task_id', '__proto__', 'constructor'];

export class FrameFuzzer {
  readonly #random: () => number;
  readonly #maxFrameBytes: number;
  readonly #seeds: string[];

  constructor(options: FuzzerOptions) {
    this.#random = mulberry32(options.seed);
    this.#maxFrameBytes = options.maxFrameBytes;
    this.#seeds = options.seeds ?? SEED_FRAMES;
  }

  next(): FuzzFrame {
    const roll = this.#random();
    // Closing frames are rare: each costs the fuzzer a new connection.
    if (roll < 0.004) return { data: this.#bytes(1 + this.#int(64)), binary: true, kind: 'binary', closeCode: 1003 };
    if (roll < 0.008) return { data: this.#invalidUtf8(), binary: false, kind: 'invalid-utf8', closeCode: 1007 };
    if (roll < 0.01) return { data: 'x'.repeat(this.#maxFrameBytes + 1 + this.#int(100)), binary: false, kind: 'oversized', closeCode: 1009 };
    if (roll < 0.2) return this.#text('broken-json', this.#brokenJson());
    if (roll < 0.3) return this.#text('huge-number', this.#hugeNumber());
    if (roll < 0.33) return this.#text('deep-nesting', this.#deepNesting());
    if (roll < 0.55) return this.#text('wrong-types', this.#wrongTypes());
    if (roll < 0.7) return this.#text('random-utf8', this.#randomUtf8(this.#int(200)));
    if (roll < 0.9) return this.#text('mutated', this.#mutate(this.#pick(this.#seeds)));
    if (roll < 0.93) return this.#text('empty', '');
    return this.#text('valid', this.#pick(this.#seeds));
  }

  #text(kind: string, data: string): FuzzFrame {
    // Keep every "open" frame under the limit, whatever the generator made.
    const limit = this.#maxFrameBytes;
    if (Buffer.byteLength(data) > limit) data = Buffer.from(data).subarray(0, limit).toString().replace(/\uFFFD+$/, '');
    return { data, binary: false, kind, closeCode: undefined };
  }

  #brokenJson(): string {
    const seed = this.#pick(this.#seeds);
    switch (this.#int(5)) {
      case 0:
        return seed.slice(0, this.#int(seed.length));
      case 1:
        return seed + this.#pick(['}', ']', ',', '"', '{', ':']);
      case 2:
        return seed.replace(/"/g, "'");
      case 3:
        return `{"a":${'{"a":'.repeat(this.#int(20))}`;
      default:
        return seed.replace(/[:,]/, '');
    }
  }

  #hugeNumber(): string {
    const digits = Array.from({ length: 1 + this.#int(400) }, () => this.#int(10)).join('');
    const number = this.#pick([digits, `-${digits}`, `${digits}e${this.#int(99999)}`, `0.${digits}`, '1e-400', `1${'0'.repeat(500)}`]);
    return this.#pick([number, `{"message":${number}}`, `{"id":${number},"op":"subscribe","channel":"n"}`, `[${number}]`]);
  }

  #deepNesting(): string {
    const depth = 100 + this.#int(Math.min(20_000, this.#maxFrameBytes / 4));
    const [open, close] = this.#pick([
      ['[', ']'],
      ['{"a":', '}'],
      ['{"message":[', ']}'],
    ]);
    const inner = `${open!.repeat(depth)}1${close!.repeat(depth)}`;
    return this.#pick([inner, `{"message":${inner}}`, `{"id":1,"op":"publish","channel":"n","data":${inner}}`]);
  }

  #wrongTypes(): string {
    const object: Record<string, unknown> = {};
    const fields = 1 + this.#int(5);
    for (let i = 0; i < fields; i++) object[this.#pick(KEYS)] = '\u0000';
    return JSON.stringify(object).replace(/"\\u0000"/g, () => this.#pick(WRONG_VALUES));
  }

  #randomUtf8(length: number): string {
    let text = '';
    for (let i = 0; i < length; i++) {
      const roll = this.#random();
      if (roll < 0.5) text += String.fromCharCode(32 + this.#int(95));
      else if (roll < 0.6) text += String.fromCharCode(this.#int(32));
      else if (roll < 0.8) text += String.fromCodePoint(0x80 + this.#int(0xd7ff - 0x80));
      else text += String.fromCodePoint(0x10000 + this.#int(0x10ffff - 0x10000));
    }
    return text;
  }

  #mutate(seed: string): string {
    const chars = [...seed];
    const edits = 1 + this.#int(4);
    for (let i = 0; i < edits; i++) {
      const at = this.#int(chars.length + 1);
      switch (this.#int(3)) {
        case 0:
          chars.splice(at, 1);
          break;
        case 1:
          chars.splice(at, 0, this.#randomUtf8(1 + this.#int(3)));
          break;
        default:
          chars[at] = this.#pick(['"', '{', '}', '[', ']', ':', ',', '\\', '0', 'e', '-', ' ']);
      }
    }
    return chars.join('');
  }

  #invalidUtf8(): Buffer {
    const valid = Buffer.from(this.#randomUtf8(this.#int(20)));
    const bad = this.#pick([[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]]);
    return Buffer.concat([valid, Buffer.from(bad)]);
  }

  #bytes(length: number): Buffer {
    const bytes = Buffer.allocUnsafe(length);
    for (let i = 0; i < length; i++) bytes[i] = this.#int(256);
    return bytes;
  }

  #int(below: number): number {
    return Math.floor(this.#random() * below);
  }

  #pick<T>(items: readonly T[]): T {
    return items[this.#int(items.length)]!;
  }
}

/** A small, fast, seedable PRNG (public domain). */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
