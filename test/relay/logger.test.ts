import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/relay/logger.js';

describe('createLogger', () => {
  it('writes one JSON object per line with level, message, base and fields, filtered by level', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', write: (l) => lines.push(l), base: { component: 'relay' } });
    log.debug('hidden');
    log.info('hello', { conn: 3 });
    log.error('bad', { reason: 'x' });
    expect(lines).toHaveLength(2);
    expect(lines.every((l) => l.endsWith('\n'))).toBe(true);
    const first = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(first).toMatchObject({ level: 'info', msg: 'hello', component: 'relay', conn: 3 });
    expect(typeof first.t).toBe('string');
    expect(JSON.parse(lines[1]!)).toMatchObject({ level: 'error', msg: 'bad', reason: 'x' });
  });

  it('is silent at level silent and refuses an unknown level', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'silent', write: (l) => lines.push(l) });
    log.error('nothing');
    expect(lines).toEqual([]);
    expect(() => createLogger({ level: 'loud' as 'info' })).toThrow(RangeError);
  });
});
