/**
 * A small leveled, structured logger: one JSON object per line (`{"t":…,"level":…,"msg":…,…}`).
 * The relay logs per connection event at most, never per message (joint.md §16 D10).
 */

/** Log levels, most severe first; `silent` logs nothing. */
export const LOG_LEVELS = ['silent', 'error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Extra fields of a log line. */
export type LogFields = Record<string, string | number | boolean | undefined>;

/** What the relay logs through. Any object with these methods will do. */
export interface Logger {
  error(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
}

/** Options of `createLogger`. */
export interface LoggerOptions {
  /** Least severe level written (default `info`). */
  level?: LogLevel;
  /** Where lines go (default stderr). Each call gets one line with its newline. */
  write?: (line: string) => void;
  /** Fields added to every line (e.g. `{ component: 'relay' }`). */
  base?: LogFields;
}

/**
 * A JSON-lines logger.
 * @throws RangeError for an unknown level.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  const rank = LOG_LEVELS.indexOf(level);
  if (rank < 0) throw new RangeError(`log level must be one of ${LOG_LEVELS.join(', ')}, got ${String(level)}`);
  const write = options.write ?? ((line: string) => void process.stderr.write(line));
  const base = options.base ?? {};
  const make = (name: LogLevel) => {
    if (LOG_LEVELS.indexOf(name) > rank) return () => {};
    return (msg: string, fields?: LogFields) => {
      write(JSON.stringify({ t: new Date().toISOString(), level: name, msg, ...base, ...fields }) + '\n');
    };
  };
  return { error: make('error'), warn: make('warn'), info: make('info'), debug: make('debug') };
}

/** A logger that drops everything. */
export const silentLogger: Logger = createLogger({ level: 'silent' });
