/**
 * What both halves agree a join token looks like. It becomes a path segment of the agent ID
 * (`.../sigil/agent/join_token/<token>`), so it must be one: SPIFFE's segment characters, not a
 * dot segment, and short enough to leave room in a 2,048-byte ID.
 */

export const MAX_TOKEN_LENGTH = 255;

const SEGMENT = /^[A-Za-z0-9._-]+$/;

/** Why `token` cannot be a join token, or undefined when it can; never repeats the token. */
export function tokenProblem(token: string): string | undefined {
  if (token.length === 0) return 'the join token is empty';
  if (token.length > MAX_TOKEN_LENGTH) return `the join token is longer than ${MAX_TOKEN_LENGTH} characters`;
  if (!SEGMENT.test(token)) return 'the join token has characters other than letters, digits, ".", "_" and "-"';
  if (token === '.' || token === '..') return 'the join token cannot be "." or ".."';
  return undefined;
}
