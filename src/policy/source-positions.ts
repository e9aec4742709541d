// Maps a path in the parsed policy back to the line and column of the YAML text it came from.
import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

export interface SourcePosition {
  line: number;
  col: number;
}

/**
 * Finds the deepest YAML node along `path`. With `key` set, points at the key of the last
 * step (for "unknown key" errors) rather than at its value.
 */
export function positionOf(doc: Document, lines: LineCounter, path: readonly PropertyKey[], key?: string): SourcePosition {
  let node: unknown = doc.contents;
  let best: Node | null = isNodeWithRange(node) ? node : null;
  for (const step of path) {
    const next = childOf(node, step);
    if (next === undefined) break;
    node = next.value;
    const candidate = isNodeWithRange(next.value) ? next.value : next.key;
    if (candidate) best = candidate;
  }
  if (key !== undefined && isMap(node)) {
    const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
    if (pair && isNodeWithRange(pair.key)) best = pair.key;
  }
  const offset = best?.range?.[0] ?? 0;
  const pos = lines.linePos(offset);
  return { line: pos.line, col: pos.col };
}

function childOf(node: unknown, step: PropertyKey): { key: Node | null; value: unknown } | undefined {
  if (isMap(node)) {
    const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(step));
    if (!pair) return undefined;
    return { key: isNodeWithRange(pair.key) ? pair.key : null, value: pair.value };
  }
  if (isSeq(node) && typeof step === 'number') {
    const item = node.items[step];
    return item === undefined ? undefined : { key: null, value: item };
  }
  return undefined;
}

function isNodeWithRange(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && 'range' in value && Array.isArray((value as { range: unknown }).range);
}
