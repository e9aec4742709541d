// "Did you mean": the known names nearest to what someone typed.
export function closestNames(input: string, names: Iterable<string>, limit = 3): string[] {
  const needle = input.toLowerCase();
  const scored: { name: string; score: number }[] = [];
  for (const name of names) {
    const hay = name.toLowerCase();
    const distance = editDistance(needle, hay);
    const related = hay.includes(needle) || needle.includes(hay);
    if (related || distance <= Math.max(2, Math.floor(hay.length / 3))) {
      scored.push({ name, score: related ? Math.min(distance, 1) : distance });
    }
  }
  return scored
    .sort((a, b) => a.score - b.score || a.name.localeCompare(b.name))
    .slice(0, limit)
    .map((s) => s.name);
}

export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
