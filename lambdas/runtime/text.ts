/** Text helpers every function shares. */

/**
 * `value` cut to at most `maxLength` UTF-16 units, the cut marked with `ellipsis`: on a code point
 * boundary (never half a surrogate pair), trailing blanks before the mark dropped.
 */
export function truncate(value: string, maxLength: number, ellipsis = "…"): string {
  if (value.length <= maxLength) return value;
  let cut = Math.max(0, maxLength - ellipsis.length);
  const code = value.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut -= 1;
  return `${value.slice(0, cut).trimEnd()}${ellipsis}`;
}
