/**
 * docs/bench-result.schema.json and docs/bench-compare.schema.json: they compile under ajv's
 * strict mode, accept what gamewire bench writes and refuse what it cannot write, and they say
 * exactly what src/bench/types.ts says: the property names of every interface are read from
 * types.ts with the TypeScript parser and compared with the schema's, so a field added on either
 * side alone fails here. A real run against our Relay is validated too, once the engine and the
 * relay driver are in the tree.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { toJson } from '../../src/bench/cli.js';
import { summarize } from '../../src/bench/compare.js';
import type { BenchComparison, BenchResult } from '../../src/bench/types.js';
import { ROOT } from '../helpers/exits-by-itself.js';
import { fixtureResult } from './helpers/result-fixture.js';

type Schema = { $defs: Record<string, { properties?: Record<string, unknown>; required?: string[]; enum?: string[] }> };
const read = (file: string) => JSON.parse(readFileSync(join(ROOT, 'docs', file), 'utf8')) as Schema;
const resultSchema = read('bench-result.schema.json');
const compareSchema = read('bench-compare.schema.json');

const ajv = new Ajv2020({ allErrors: true, strict: true });
// RFC 3339 date-time, as toISOString() writes it; ajv leaves formats to the caller.
ajv.addFormat('date-time', (s: string) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(s) && !Number.isNaN(Date.parse(s)));
ajv.addSchema(resultSchema as object);
ajv.addSchema(compareSchema as object);
const validateResult = ajv.getSchema('bench-result.schema.json') as ValidateFunction;
const validateCompare = ajv.getSchema('bench-compare.schema.json') as ValidateFunction;

/** Validate the JSON the CLI writes (not the object: JSON turns Infinity into null). */
function check(validate: ValidateFunction, value: BenchResult | BenchComparison): string[] {
  const ok = validate(JSON.parse(toJson(value)));
  return ok ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

function comparison(): BenchComparison {
  return summarize({ host: '127.0.0.1', port: 7680 }, { host: '127.0.0.1', port: 7681 }, [
    { target: 'a', result: fixtureResult() },
    { target: 'b', result: fixtureResult({ lost: 5, options: { port: 7681 } }) },
  ]);
}

describe('docs/bench-result.schema.json', () => {
  it('accepts a result (typed as BenchResult), closed and open loop, mm with a key', () => {
    expect(check(validateResult, fixtureResult())).toEqual([]);
    expect(check(validateResult, fixtureResult({ options: { window: null, rate: 100, kind: 'mm', mode: 'c2s', key: 'ab'.repeat(16) } }))).toEqual([]);
    expect(check(validateResult, fixtureResult({ errors: [{ message: 'connection lost', count: 3 }] }))).toEqual([]);
  });

  it('refuses a field it does not know, a missing field, another schema id, a bad enum', () => {
    const r = fixtureResult();
    expect(check(validateResult, { ...r, extra: 1 } as never)).toContain(' must NOT have additional properties');
    const { counts: _counts, ...noCounts } = r;
    expect(check(validateResult, noCounts as never)).toContain(" must have required property 'counts'");
    expect(check(validateResult, { ...r, schema: 'gamewire-bench/2' } as never)).toContain('/schema must be equal to constant');
    expect(check(validateResult, { ...r, options: { ...r.options, mode: 'flood' } } as never)).toContain('/options/mode must be equal to one of the allowed values');
    expect(check(validateResult, { ...r, counts: { ...r.counts, lost: -1 } })).toContain('/counts/lost must be >= 0');
    expect(check(validateResult, { ...r, percentiles: [[50, 1, 2]] } as never)).toContain('/percentiles/0 must NOT have more than 2 items');
    expect(check(validateResult, { ...r, startedAt: 'yesterday' })).toContain('/startedAt must match format "date-time"');
  });
});

describe('docs/bench-compare.schema.json', () => {
  it('accepts a comparison, with a ratio over 0 written as null', () => {
    const c = comparison();
    expect(c.summary.ratio.lost).toBe(Infinity);
    expect(JSON.parse(toJson(c)).summary.ratio.lost).toBeNull();
    expect(check(validateCompare, c)).toEqual([]);
  });

  it('checks each round as a result', () => {
    const c = comparison();
    const bad = { ...c, rounds: [c.rounds[0]!, { target: 'b' as const, result: { ...c.rounds[1]!.result, latency: undefined } }] };
    expect(check(validateCompare, bad as never)).toContain("/rounds/1/result must have required property 'latency'");
  });
});

// ---- the schemas against types.ts ----

const source = ts.createSourceFile('types.ts', readFileSync(join(ROOT, 'src/bench/types.ts'), 'utf8'), ts.ScriptTarget.Latest, true);
const interfaces = new Map<string, ts.InterfaceDeclaration>();
const aliases = new Map<string, ts.TypeAliasDeclaration>();
source.forEachChild((node) => {
  if (ts.isInterfaceDeclaration(node)) interfaces.set(node.name.text, node);
  if (ts.isTypeAliasDeclaration(node)) aliases.set(node.name.text, node);
});

function members(node: ts.InterfaceDeclaration | ts.TypeLiteralNode): ts.PropertySignature[] {
  return node.members.filter(ts.isPropertySignature);
}

const namesOf = (node: ts.InterfaceDeclaration | ts.TypeLiteralNode) => members(node).map((m) => (m.name as ts.Identifier).text).sort();

/** The object type literal inside `readonly {...}[]`, `ReadonlyArray<{...}>` or `{...}`. */
function literalIn(type: ts.TypeNode | undefined): ts.TypeLiteralNode {
  if (type === undefined) throw new Error('no type');
  if (ts.isTypeLiteralNode(type)) return type;
  if (ts.isTypeOperatorNode(type)) return literalIn(type.type);
  if (ts.isArrayTypeNode(type)) return literalIn(type.elementType);
  if (ts.isTypeReferenceNode(type) && type.typeArguments?.length) return literalIn(type.typeArguments[0]);
  throw new Error(`no object literal in ${type.getText(source)}`);
}

function memberType(iface: string, name: string): ts.TypeNode | undefined {
  return members(interfaces.get(iface)!).find((m) => (m.name as ts.Identifier).text === name)?.type;
}

/** The string literals of a union alias (BenchKind, BenchMode). */
function literals(alias: string): string[] {
  const type = aliases.get(alias)!.type;
  const parts = ts.isUnionTypeNode(type) ? type.types : [type];
  return parts.map((t) => ((t as ts.LiteralTypeNode).literal as ts.StringLiteral).text).sort();
}

/** Property names of the schema object, all of them required (BenchResult has no optional field). */
function schemaNames(def: { properties?: Record<string, unknown>; required?: string[] }): string[] {
  expect([...(def.required ?? [])].sort()).toEqual(Object.keys(def.properties ?? {}).sort());
  return Object.keys(def.properties ?? {}).sort();
}

describe('the schemas say what types.ts says', () => {
  const sameName = ['BenchResult', 'ResolvedBenchOptions', 'SizeRange', 'BenchTarget', 'LatencySummary', 'RateSummary', 'DeliveryCounts', 'TimelinePoint', 'GeneratorCost'];

  it.each(sameName)('%s has the same fields in both', (name) => {
    expect(interfaces.has(name)).toBe(true);
    expect(schemaNames(resultSchema.$defs[name]!)).toEqual(namesOf(interfaces.get(name)!));
  });

  it('every field of the result is readonly and required in types.ts, as the schema requires it', () => {
    for (const name of sameName) {
      for (const m of members(interfaces.get(name)!)) expect(m.questionToken, `${name}.${(m.name as ts.Identifier).text}`).toBeUndefined();
    }
  });

  it('an error entry has the same fields', () => {
    expect(schemaNames(resultSchema.$defs.ErrorCount!)).toEqual(namesOf(literalIn(memberType('BenchResult', 'errors'))));
  });

  it('the kinds and modes are the same', () => {
    expect([...resultSchema.$defs.BenchKind!.enum!].sort()).toEqual(literals('BenchKind'));
    expect([...resultSchema.$defs.BenchMode!.enum!].sort()).toEqual(literals('BenchMode'));
  });

  it('the comparison has the same fields, its rounds, summary, figures and ratios too', () => {
    expect(schemaNames(compareSchema.$defs.BenchComparison!)).toEqual(namesOf(interfaces.get('BenchComparison')!));
    expect(schemaNames(compareSchema.$defs.Round!)).toEqual(namesOf(literalIn(memberType('BenchComparison', 'rounds'))));
    const summary = compareSchema.$defs.BenchComparison!.properties!.summary as { properties: Record<string, unknown>; required: string[] };
    expect(schemaNames(summary)).toEqual(namesOf(literalIn(memberType('BenchComparison', 'summary'))));
    expect(schemaNames(compareSchema.$defs.ComparedFigures!)).toEqual(namesOf(interfaces.get('ComparedFigures')!));
    expect(schemaNames(compareSchema.$defs.Ratios!)).toEqual(namesOf(interfaces.get('ComparedFigures')!));
  });
});

describe('docs/bench.md', () => {
  it('names every field of the result and the comparison', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'bench.md'), 'utf8');
    const fields = new Set<string>();
    const walk = (node: unknown): void => {
      if (typeof node !== 'object' || node === null) return;
      const props = (node as { properties?: Record<string, unknown> }).properties;
      if (props) for (const k of Object.keys(props)) fields.add(k);
      for (const v of Object.values(node)) walk(v);
    };
    walk(resultSchema);
    walk(compareSchema);
    expect(fields.size).toBeGreaterThan(50);
    expect([...fields].filter((f) => !doc.includes(`\`${f}\``))).toEqual([]);
  });
});

// ---- a real run, once the engine and the relay driver are in the tree ----

const engineReady = existsSync(join(ROOT, 'src/bench/drivers/relay.ts')) && existsSync(join(ROOT, 'src/bench/run.ts'));

describe('a real result', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  it.skipIf(!engineReady)(`bench() against our Relay validates, and so does compare() against two${engineReady ? '' : ' [skipped: needs the bench engine and src/bench/drivers/relay.ts]'}`, async () => {
    const { Relay, silentLogger } = await import('../../src/relay/index.js');
    const { bench } = (await import('../../src/bench/index.js')) as unknown as { bench: (o: object) => Promise<BenchResult> };
    const { compare } = await import('../../src/bench/compare.js');
    const a = await Relay.listen({ host: '127.0.0.1', port: 0, logger: silentLogger, maxConnectionsPerIp: 0 });
    cleanups.push(() => a.close());
    const b = await Relay.listen({ host: '127.0.0.1', port: 0, logger: silentLogger, maxConnectionsPerIp: 0 });
    cleanups.push(() => b.close());
    const load = { kind: 'relay' as const, host: '127.0.0.1', port: a.port, users: 2, durationSec: 0.5, warmupSec: 0.1, drainMs: 200 };
    const result = await bench(load);
    expect(check(validateResult, result)).toEqual([]);
    expect(result.counts.delivered).toBeGreaterThan(0);
    const c = await compare(load, { host: '127.0.0.1', port: b.port }, 1, { run: bench });
    expect(check(validateCompare, c)).toEqual([]);
  });
});
