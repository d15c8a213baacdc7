// The field paths of an index config (`text`, `metadata.title`, `chapters[*].content`,
// `authors[0].name`, `tags[-1]`, `$` for the whole value) and the texts they select from a value,
// each named by its concrete path (`chapters[1].content`), which keys the item's vector rows.
import type { JsonValue } from '@cairn/core';

type Step = { kind: 'key'; key: string } | { kind: 'index'; index: number } | { kind: 'each' };

/** A parsed field path. */
export interface FieldPath {
  /** As written. */
  readonly source: string;
  /** Empty for `$`. */
  readonly steps: readonly Step[];
}

const KEY = /^[^.[\]]+/;
const BRACKET = /^\[(\*|-?\d{1,6})\]/;

/** Parses a field path; undefined when it is not one. */
export function parseFieldPath(source: string): FieldPath | undefined {
  if (source === '$') return { source, steps: [] };
  const steps: Step[] = [];
  let rest = source;
  let expectKey = true;
  while (rest.length > 0) {
    const bracket = BRACKET.exec(rest);
    if (bracket) {
      steps.push(bracket[1] === '*' ? { kind: 'each' } : { kind: 'index', index: Number(bracket[1]) });
      rest = rest.slice(bracket[0].length);
      expectKey = false;
      continue;
    }
    if (!expectKey) {
      if (!rest.startsWith('.')) return undefined;
      rest = rest.slice(1);
    }
    const key = KEY.exec(rest);
    if (!key) return undefined;
    steps.push({ kind: 'key', key: key[0] });
    rest = rest.slice(key[0].length);
    expectKey = false;
  }
  return steps.length > 0 ? { source, steps } : undefined;
}

/** One text to embed: the concrete path it came from and the text. */
export interface FieldText {
  readonly field: string;
  readonly text: string;
}

function textOf(value: JsonValue): string | undefined {
  if (value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

function own(node: JsonValue, key: string): JsonValue | undefined {
  if (node === null || typeof node !== 'object' || Array.isArray(node) || !Object.hasOwn(node, key)) return undefined;
  return node[key];
}

/**
 * The texts `path` selects in `value`, blank ones left out (there is nothing to embed). Arrays
 * reached by `[*]` contribute one text per element.
 */
export function textsAt(value: JsonValue, path: FieldPath): FieldText[] {
  if (path.steps.length === 0) return [{ field: '$', text: JSON.stringify(value) }];
  const out: FieldText[] = [];
  const walk = (node: JsonValue | undefined, at: number, name: string) => {
    if (node === undefined) return;
    if (at === path.steps.length) {
      const text = textOf(node);
      if (text !== undefined && text.trim() !== '') out.push({ field: name, text });
      return;
    }
    const step = path.steps[at]!;
    if (step.kind === 'key') {
      walk(own(node, step.key), at + 1, name === '' ? step.key : `${name}.${step.key}`);
    } else if (Array.isArray(node)) {
      if (step.kind === 'each') node.forEach((element, i) => walk(element, at + 1, `${name}[${i}]`));
      else {
        const i = step.index < 0 ? node.length + step.index : step.index;
        if (i >= 0 && i < node.length) walk(node[i], at + 1, `${name}[${i}]`);
      }
    }
  };
  walk(value, 0, '');
  return out;
}

/** The texts of every path, each concrete field once (the first path that reaches it names it). */
export function textsToEmbed(value: JsonValue, paths: readonly FieldPath[]): FieldText[] {
  const seen = new Set<string>();
  const out: FieldText[] = [];
  for (const path of paths) {
    for (const text of textsAt(value, path)) {
      if (seen.has(text.field)) continue;
      seen.add(text.field);
      out.push(text);
    }
  }
  return out;
}
