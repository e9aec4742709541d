// The page's script is TypeScript (src/playground/web/*.ts), type-checked like the rest; here it is turned into
// JavaScript on request with the TypeScript compiler the project already has, so there is no build step.
import { readFile } from 'node:fs/promises';

const compiled = new Map<string, { source: string; output: string }>();

export async function compileBrowserModule(path: string): Promise<string> {
  const source = await readFile(path, 'utf8');
  const hit = compiled.get(path);
  if (hit?.source === source) return hit.output;
  // Loaded only when the page asks for its script: Sesame itself never needs the compiler.
  const { default: ts } = await import('typescript');
  const output = ts.transpileModule(source, {
    fileName: path,
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, rewriteRelativeImportExtensions: true, verbatimModuleSyntax: true },
  }).outputText;
  compiled.set(path, { source, output });
  return output;
}
