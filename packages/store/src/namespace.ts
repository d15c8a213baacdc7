// Namespaces: LangGraph's label tuples, checked with its own rule (no `.`, `:` or NUL in a label,
// none empty) plus core's text rule, and stored as one text, the labels joined with `.`. A label
// cannot hold `.`, so the text is exact: a prefix is the path itself or the path followed by `.`,
// which SQL tests as equality or a range in code-point order, never a LIKE pattern.
import { InvalidNamespaceError, validateNamespace } from '@langchain/langgraph-checkpoint';
import { textIssue } from '@cairn/core';

/** The wildcard label of listNamespaces' prefix and suffix. */
export const WILDCARD = '*';

/** Checks a namespace (LangGraph's rule, then core's text rule on each label). */
export function checkNamespace(namespace: unknown, options: { allowEmpty?: boolean; allowReservedRoot?: boolean } = {}): string[] {
  if (!Array.isArray(namespace)) throw new InvalidNamespaceError(`A namespace is an array of labels; got ${typeof namespace}.`);
  validateNamespace(namespace as string[], options);
  for (const label of namespace as string[]) {
    const issue = textIssue(label);
    if (issue !== undefined) throw new InvalidNamespaceError(`Invalid namespace label ${JSON.stringify(label)}: ${issue}.`);
  }
  return [...(namespace as string[])];
}

/** The stored text of a namespace. */
export function namespacePath(namespace: readonly string[]): string {
  return namespace.join('.');
}

/** The labels of a stored namespace text. */
export function namespaceLabels(path: string): string[] {
  return path.split('.');
}

/** Whether `path` (stored text) lies under `prefix` (labels; empty: everything). */
export function underPrefix(path: string, prefix: readonly string[]): boolean {
  if (prefix.length === 0) return true;
  const p = namespacePath(prefix);
  return path === p || path.startsWith(`${p}.`);
}

/** Whether labels match a listNamespaces condition (`*` matches any one label). */
export function matchesCondition(labels: readonly string[], condition: { matchType: 'prefix' | 'suffix'; path: readonly string[] }): boolean {
  const { path } = condition;
  if (path.length > labels.length) return false;
  const offset = condition.matchType === 'prefix' ? 0 : labels.length - path.length;
  return path.every((label, i) => label === WILDCARD || labels[offset + i] === label);
}
