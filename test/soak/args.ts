/** The options of `npm run soak` (run.ts), parsed apart from running so a test can check them. */

/** What `npm run soak -- ...` asked for. */
export interface SoakArgs {
  /** Time under load (ms); default 2 minutes. */
  ms: number;
  scale: number;
  seed: number;
  components: string[];
  /** RSS growth limit (%); NaN: the default rule (10% in runs of 5 minutes or more). */
  rssLimit: number;
  /** Where the report goes; undefined: run.ts's default (bench/results/soak.json, a temporary file under --asan). */
  out: string | undefined;
  /** The relay component's engine; undefined: the relay's default. */
  engine: 'native' | 'node' | undefined;
  /** Run on the AddressSanitizer + UBSan build of the addon. */
  asan: boolean;
}

/** A bad argument (the message says which), or `--help` (empty message). */
export class SoakArgsError extends Error {}

/**
 * Parse `argv` (without node and the script).
 * @param known the component names
 * @throws SoakArgsError on an unknown or bad argument, or --help
 */
export function parseSoakArgs(argv: readonly string[], known: readonly string[]): SoakArgs {
  const args: SoakArgs = { ms: 2 * 60_000, scale: 1, seed: 1, components: [...known], rssLimit: NaN, out: undefined, engine: undefined, asan: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new SoakArgsError(`${a} needs a value`);
      return v;
    };
    const positive = (v: string): number => {
      const n = Number(v);
      if (!(n > 0)) throw new SoakArgsError(`${a} must be a positive number`);
      return n;
    };
    if (a === '--minutes') args.ms = positive(value()) * 60_000;
    else if (a === '--seconds') args.ms = positive(value()) * 1000;
    else if (a === '--scale') args.scale = positive(value());
    else if (a === '--seed') args.seed = Number(value()) >>> 0;
    else if (a === '--rss-limit') args.rssLimit = positive(value());
    else if (a === '--out') args.out = value();
    else if (a === '--asan') args.asan = true;
    else if (a === '--engine') {
      const e = value();
      if (e !== 'native' && e !== 'node') throw new SoakArgsError(`--engine must be native or node, not ${e}`);
      args.engine = e;
    } else if (a === '--components') {
      args.components = value().split(',');
      for (const c of args.components) if (!known.includes(c)) throw new SoakArgsError(`unknown component ${c}`);
    } else if (a === '--help' || a === '-h') throw new SoakArgsError('');
    else throw new SoakArgsError(`unknown argument ${a}`);
  }
  return args;
}
