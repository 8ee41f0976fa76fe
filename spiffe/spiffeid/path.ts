import { isPathChar } from './chars.js';
import { Rule, SpiffeIdError } from './errors.js';

/**
 * Validates the path part of a SPIFFE ID ("" or "/seg/seg"), scanning left to right and failing
 * on the first broken rule, in go-spiffe's order.
 */
export function validatePath(path: string): void {
  const err = pathError(path);
  if (err !== undefined) throw new SpiffeIdError(err);
}

/** Like validatePath but returns the broken rule instead of throwing (for the hot parse path). */
export function pathError(path: string): string | undefined {
  if (path.length === 0) return undefined;
  if (path.charCodeAt(0) !== 0x2f) return Rule.noLeadingSlash;
  let segStart = 0;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 0x2f) {
      if (i > 0) {
        const segErr = segmentShapeError(path, segStart + 1, i);
        if (segErr !== undefined) return segErr;
      }
      segStart = i;
      continue;
    }
    if (!isPathChar(c)) return Rule.badPathSegmentChar;
  }
  const lastStart = segStart + 1;
  if (lastStart === path.length) return Rule.trailingSlash;
  return segmentShapeError(path, lastStart, path.length);
}

function segmentShapeError(s: string, start: number, end: number): string | undefined {
  const len = end - start;
  if (len === 0) return Rule.emptySegment;
  if (len <= 2 && s.charCodeAt(start) === 0x2e && (len === 1 || s.charCodeAt(start + 1) === 0x2e)) {
    return Rule.dotSegment;
  }
  return undefined;
}

/** Validates one path segment (no slashes inside). */
export function validatePathSegment(segment: string): void {
  if (segment.length === 0) throw new SpiffeIdError(Rule.emptySegment);
  if (segment === '.' || segment === '..') throw new SpiffeIdError(Rule.dotSegment);
  for (let i = 0; i < segment.length; i++) {
    if (!isPathChar(segment.charCodeAt(i))) throw new SpiffeIdError(Rule.badPathSegmentChar);
  }
}

/** Joins segments into a path ("/a/b"); no segments gives the empty path. */
export function joinPathSegments(...segments: string[]): string {
  let path = '';
  for (const segment of segments) {
    validatePathSegment(segment);
    path += '/' + segment;
  }
  return path;
}
