// Hand-written YAML (policies, policy tests) to plain data, with every syntax problem at the line of the mistake.
import { isScalar, LineCounter, parseDocument, visit, type Document } from 'yaml';
import { err, ok, type Result } from '../core/result.ts';
import { positionOf, type SourcePosition } from './source-positions.ts';

export interface PolicyProblem extends SourcePosition {
  file: string;
  message: string;
}

export type Locate = (path: readonly PropertyKey[], key?: string) => SourcePosition;

export interface YamlSource {
  raw: unknown;
  /** Where a path into `raw` is written; with `key`, the key of the last step rather than its value. */
  locate: Locate;
}

export function formatProblem(p: PolicyProblem): string {
  return `${p.file}:${p.line}:${p.col} ${p.message}`;
}

export function sortProblems(problems: PolicyProblem[]): PolicyProblem[] {
  return problems.sort((a, b) => a.line - b.line || a.col - b.col);
}

export function readYaml(text: string, file: string): Result<YamlSource, PolicyProblem[]> {
  const at = (pos: SourcePosition, message: string): PolicyProblem => ({ file, ...pos, message });
  const lines = new LineCounter();
  // A tab in indentation makes the yaml parser report one error per token that follows; one line says it better.
  const tabs = tabIndentedLines(text);
  if (tabs.length > 0) {
    return err(tabs.map((line) => at({ line, col: 1 }, 'a tab in the indentation; YAML indents with spaces only, so replace the tab with spaces')));
  }
  // yaml's own uniqueKeys check is quadratic in the size of a map; duplicateKeys() is one pass.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  const syntax = [
    ...doc.errors.map((e) => ({ offset: mistakeOffset(text, e.pos[0], e.message), message: `YAML syntax: ${firstLine(e.message)}` })),
    ...duplicateKeys(doc).map((d) => ({ offset: d.offset, message: `duplicate key "${d.key}"; each key may appear only once in a map` })),
  ];
  if (syntax.length > 0) return err(sortProblems(syntax.map(({ offset, message }) => at(lines.linePos(offset), message))));
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (cause) {
    return err([at({ line: 1, col: 1 }, `YAML: ${firstLine(String((cause as Error).message ?? cause))}`)]);
  }
  return ok({ raw, locate: (path, key) => positionOf(doc, lines, path, key) });
}

function tabIndentedLines(text: string): number[] {
  const found: number[] = [];
  text.split('\n').forEach((line, i) => {
    const content = line.trim();
    if (/^ *\t/.test(line) && content !== '' && !content.startsWith('#')) found.push(i + 1);
  });
  return found;
}

/**
 * The parser notices an unclosed `{`, `[` or quote only where the next line begins; the mistake is the
 * opener, so point there instead.
 */
function mistakeOffset(text: string, offset: number, message: string): number {
  if (/^Flow (map|sequence)|end with an? [}\]]/.test(message)) return unclosedOpener(text, offset) ?? offset;
  const quote = /^Missing closing (["'])quote/.exec(message)?.[1];
  if (quote !== undefined) {
    const opener = text.lastIndexOf(quote, offset - 1);
    return opener >= 0 ? opener : offset;
  }
  return offset;
}

function unclosedOpener(text: string, before: number): number | undefined {
  let depth = 0;
  for (let i = Math.min(before, text.length) - 1; i >= 0; i--) {
    const c = text[i];
    if (c === '}' || c === ']') depth++;
    else if (c === '{' || c === '[') {
      if (depth === 0) return i;
      depth--;
    }
  }
  return undefined;
}

function duplicateKeys(doc: Document): { key: string; offset: number }[] {
  const found: { key: string; offset: number }[] = [];
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        const key = String(pair.key.value);
        if (seen.has(key)) found.push({ key, offset: pair.key.range?.[0] ?? 0 });
        seen.add(key);
      }
    },
  });
  return found;
}

export function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}
