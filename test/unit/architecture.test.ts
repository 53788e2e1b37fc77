/**
 * The layering of src/ (see ../shared/STYLE.md): the parent side and the child side never import
 * each other, the protocol and transport are shared vocabulary, and there is no import cycle.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? files(full) : full.endsWith('.ts') ? [full] : [];
  });
}

/** Relative imports of each file (type-only ones included: they couple the layers too). */
const graph = new Map<string, string[]>();
for (const file of files(src)) {
  const text = readFileSync(file, 'utf8');
  const targets = [...text.matchAll(/(?:import|export)[^'"]*?from\s+'(\.[^']+)'|import\('(\.[^']+)'\)/g)].map((m) =>
    path.resolve(path.dirname(file), (m[1] ?? m[2]) as string),
  );
  graph.set(file, targets);
}

const layer = (file: string): string => path.relative(src, file).split(path.sep)[0] as string;

/** Which layers each layer may import (its own always). */
const ALLOWED: Record<string, string[]> = {
  'protocol': ['errors.ts'],
  'transport': ['protocol', 'internal', 'errors.ts'],
  'internal': [],
  'parent': ['protocol', 'transport', 'internal', 'metrics', 'sentry', 'control', 'options.ts', 'errors.ts'],
  'child': ['protocol', 'transport', 'internal', 'metrics', 'sentry', 'errors.ts', 'cooperative.ts'],
  'sentry': ['protocol', 'internal'],
  // bullmq: an adapter over the public Pool API; bullmq itself is loaded lazily (optional peer).
  'bullmq': ['errors.ts', 'options.ts'],
  'control': ['errors.ts', 'internal'],
  // cli: dogfoods the public API (the barrels) plus the control channel's client.
  'cli': ['index.ts', 'control', 'bullmq'],
  // metrics: node:* and libraries only, plus the pool's public types (type-only, erased at run time).
  'metrics': ['internal', 'parent/events.ts'],
  'errors.ts': [],
  'cooperative.ts': ['internal'],
  'options.ts': ['protocol', 'transport', 'metrics', 'sentry', 'internal', 'errors.ts'],
};

describe('architecture', () => {
  it('reads the import graph', () => {
    expect(graph.get(path.join(src, 'parent/pool-core.ts'))).toContain(path.join(src, 'parent/dispatcher.ts'));
  });

  it('respects the layering: parent and child never import each other', () => {
    const violations: string[] = [];
    for (const [file, targets] of graph) {
      const from = layer(file);
      const allowed = ALLOWED[from];
      if (!allowed) continue; // layers not listed here (cli, metrics, …) are checked by their own rules
      for (const target of targets) {
        const to = layer(target);
        const targetFile = path.relative(src, target);
        if (to !== from && !allowed.includes(to) && !allowed.includes(targetFile)) violations.push(`${path.relative(src, file)} imports ${targetFile}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('has no import cycle', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (file: string, trail: string[]): void => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'visiting') {
        cycles.push([...trail.slice(trail.indexOf(file)), file].map((f) => path.relative(src, f)).join(' -> '));
        return;
      }
      state.set(file, 'visiting');
      for (const target of graph.get(file) ?? []) visit(target, [...trail, file]);
      state.set(file, 'done');
    };
    for (const file of graph.keys()) visit(file, []);
    expect(cycles).toEqual([]);
  });
});
