// The README and docs/ stand alone: every relative link resolves inside the repository, and none leaves it for the web.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const pages = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join('docs', f))];

const linksOf = (page: string): string[] =>
  [...readFileSync(join(ROOT, page), 'utf8').matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] as string).filter((href) => !/^(https?:|mailto:|#)/.test(href));

describe('documentation links', () => {
  it.each(pages)('%s links only to files that exist in the repository', (page) => {
    const broken = linksOf(page).filter((href) => {
      const target = resolve(ROOT, dirname(page), href.split('#')[0] as string);
      return relative(ROOT, target).startsWith('..') || !existsSync(target);
    });
    expect(broken).toEqual([]);
  });

  it('links to no web address but the local playground, in a link or as a bare URL (code and examples aside)', () => {
    const outside = pages.flatMap((page) => {
      const prose = readFileSync(join(ROOT, page), 'utf8')
        .replace(/^(```|~~~)[^]*?^\1/gm, '')
        .replace(/`[^`\n]*`/g, '');
      return [...prose.matchAll(/(?:https?:\/\/|www\.)[^\s)>\]"']+/gi)].map((m) => `${page}: ${m[0]}`).filter((hit) => !/:\s*https?:\/\/(127\.0\.0\.1|localhost)[:/]/.test(hit));
    });
    expect(outside).toEqual([]);
  });

  it('never points at material outside the project', () => {
    for (const page of pages) expect(readFileSync(join(ROOT, page), 'utf8')).not.toMatch(/\.\.\/shared|SPEC\.md|ARCHITECTURE\.md|STYLE\.md/);
  });
});
