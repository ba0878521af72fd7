/**
 * Text statistics shared by the SEO and content task types. Pure functions, French and English aware
 * (accented letters are word characters; stop words of both languages are ignored in n-grams).
 */

const WORD = /[\p{L}\p{N}][\p{L}\p{N}'’-]*/gu;

export const STOP_WORDS = new Set(
  (
    'a an and are as at be but by for from has have in into is it its of on or that the their there this to was were will with ' +
    'you your we our they them he she his her not no can do does did so if than then these those which who what when where why how ' +
    'au aux avec ce ces cet cette dans de des du elle en est et eux il ils je la le les leur leurs lui ma mais me mes moi mon ne nos ' +
    'notre nous on ou où par pas pour qu que qui sa se ses son sur ta te tes toi ton tu un une vos votre vous y été être avoir ont sont'
  ).split(' '),
);

export function tokenize(text: string): string[] {
  return (text.toLowerCase().match(WORD) ?? []).map((w) => w.replace(/^['’-]+|['’-]+$/g, '')).filter(Boolean);
}

/** Occurrences of a (possibly multi-word) phrase in a token list. */
export function countPhrase(tokens: string[], phrase: string): number {
  const target = tokenize(phrase);
  if (target.length === 0) return 0;
  let n = 0;
  for (let i = 0; i + target.length <= tokens.length; i++) {
    let match = true;
    for (let j = 0; j < target.length; j++) {
      if (tokens[i + j] !== target[j]) {
        match = false;
        break;
      }
    }
    if (match) n += 1;
  }
  return n;
}

/** Keyword density in percent: occurrences × words in the phrase / total words. */
export function density(occurrences: number, phrase: string, totalWords: number): number {
  if (totalWords === 0) return 0;
  return Math.round(((occurrences * tokenize(phrase).length) / totalWords) * 10_000) / 100;
}

/** Every n-gram without stop words at either end (nor numbers), with its count. Mergeable across pages. */
export function ngramCounts(tokens: string[], n: number, into: Map<string, number> = new Map()): Map<string, number> {
  for (let i = 0; i + n <= tokens.length; i++) {
    const gram = tokens.slice(i, i + n);
    if (STOP_WORDS.has(gram[0]!) || STOP_WORDS.has(gram[n - 1]!) || gram.some((w) => /^\d+$/.test(w))) continue;
    const key = gram.join(' ');
    into.set(key, (into.get(key) ?? 0) + 1);
  }
  return into;
}

/** The `limit` most frequent entries of `ngramCounts` (n-grams of two words or more must occur at least twice). */
export function rankNgrams(counts: Map<string, number>, n: number, limit: number): { ngram: string; count: number }[] {
  return [...counts.entries()]
    .filter(([, c]) => n === 1 || c > 1)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, limit)
    .map(([ngram, count]) => ({ ngram, count }));
}

/** The most frequent n-grams without stop words at either end. */
export function topNgrams(tokens: string[], n: number, limit: number): { ngram: string; count: number }[] {
  return rankNgrams(ngramCounts(tokens, n), n, limit);
}

function syllables(word: string): number {
  const w = word.toLowerCase().replace(/[^a-zàâäéèêëîïôöùûüÿœæ]/g, '');
  if (w.length <= 3) return 1;
  const groups = w.replace(/(?:[^laeiouy]es|ed|[^laeiouy]e)$/, '').match(/[aeiouyàâäéèêëîïôöùûüÿœæ]+/g);
  return Math.max(1, groups?.length ?? 1);
}

export function sentences(text: string): string[] {
  return text.split(/(?<=[.!?…])\s+|\n+/).map((s) => s.trim()).filter((s) => tokenize(s).length > 0);
}

/**
 * Flesch reading ease (0 hard … 100 easy): the English formula, or Kandel & Moles' adaptation for French.
 * Syllables are estimated from vowel groups, which is what every offline implementation does.
 */
export function readingEase(text: string, lang: 'en' | 'fr' = 'en'): number {
  const words = tokenize(text);
  const sentenceCount = Math.max(1, sentences(text).length);
  if (words.length === 0) return 0;
  const asl = words.length / sentenceCount;
  const asw = words.reduce((sum, w) => sum + syllables(w), 0) / words.length;
  const score = lang === 'fr' ? 207 - 1.015 * asl - 73.6 * asw : 206.835 - 1.015 * asl - 84.6 * asw;
  return Math.round(Math.max(0, Math.min(100, score)) * 10) / 10;
}
