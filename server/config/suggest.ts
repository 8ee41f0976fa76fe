/** "Did you mean …" for unknown keys: the closest known key, if it is close enough to be a typo. */

/** Levenshtein distance, with the case of letters ignored (keyttl vs keyTtl is one mistake, not two). */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const cur = [i];
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      cur.push(Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost));
    }
    prev = cur;
  }
  return prev[t.length]!;
}

/**
 * The known key nearest to `key`, when at most a third of its letters (and at least one) are
 * wrong; beyond that a suggestion is more confusing than none. Snake_case (SPIRE's spelling) is
 * compared as camelCase, so `trust_domain` suggests `trustDomain`.
 */
export function suggestKey(key: string, known: readonly string[]): string | undefined {
  const camel = key.replace(/[_-]([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  const limit = Math.max(1, Math.floor(camel.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(camel, k);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return bestDistance <= limit ? best : undefined;
}
