import type { AiContentGenerationContext } from '../../workflows/tasks/ai-content-generation';

/** Pure helpers of `ai_content_generation`: the messages sent, and reading the answer. */

export interface ChatMessage {
  role: 'system' | 'user';
  content: string;
}

const LANGUAGE_NAMES = { en: 'English', fr: 'French' } as const;
const FORMAT_RULES = {
  markdown: 'Format the answer as Markdown: a single # title, ## section headings, short paragraphs.',
  html: 'Format the answer as an HTML fragment (no <html>, <head> or <body>): one <h1>, <h2> section headings, <p> paragraphs.',
  text: 'Format the answer as plain text: no Markdown, no HTML; a title line, then paragraphs separated by blank lines.',
} as const;

export function buildMessages(context: AiContentGenerationContext): ChatMessage[] {
  if (context.prompt !== undefined) return [{ role: 'user', content: context.prompt }];
  const language = context.language ?? 'en';
  const format = context.format ?? 'markdown';
  const system = [
    'You are an experienced web content writer who writes accurate, original, well-structured articles optimised for search engines without keyword stuffing.',
    `Write in ${LANGUAGE_NAMES[language]}.`,
    FORMAT_RULES[format],
    `Tone: ${context.tone ?? 'professional'}.`,
    context.audience ? `Audience: ${context.audience}.` : null,
    'Answer with the content only, without any comment before or after it.',
  ]
    .filter(Boolean)
    .join('\n');
  const user = [
    `Write an article about: ${context.topic}.`,
    context.length_words ? `Length: about ${context.length_words} words.` : null,
    context.keywords?.length ? `Use each of these keywords naturally at least once: ${context.keywords.map((k) => `"${k}"`).join(', ')}.` : null,
  ]
    .filter(Boolean)
    .join('\n');
  return [
    { role: 'system', content: system },
    { role: 'user', content: user },
  ];
}

/** The words a reader sees: Markdown marks and HTML tags removed. */
export function visibleText(content: string, format: 'markdown' | 'html' | 'text'): string {
  let s = content;
  // Character classes exclude the opening delimiter too, so unclosed runs (`<a<a<a…`, `[a[a…`) stay linear.
  if (format === 'html' || /<\/?[a-z][^<>]*>/i.test(s)) s = stripScriptsAndStyles(s).replace(/<[^<>]+>/g, ' ');
  if (format === 'markdown') s = s.replace(/!?\[([^[\]]*)\]\([^()]*\)/g, '$1').replace(/[#*_`>|~]+/g, ' ');
  return s
    .replace(/&nbsp;/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/&[a-z]+;|&#\d+;/gi, ' ');
}

/** `<script>…</script>` and `<style>…</style>` blocks removed, in linear time (a lazy regex rescans to the end per unclosed opener). */
function stripScriptsAndStyles(s: string): string {
  const opener = /<(script|style)\b[^<>]*>/gi;
  const closers: Record<string, RegExp> = { script: /<\/script\s*>/gi, style: /<\/style\s*>/gi };
  const unclosed = new Set<string>();
  let out = '';
  let last = 0;
  for (let m = opener.exec(s); m; m = opener.exec(s)) {
    const tag = m[1]!.toLowerCase();
    if (unclosed.has(tag)) continue;
    const closer = closers[tag]!;
    closer.lastIndex = opener.lastIndex;
    const close = closer.exec(s);
    if (!close) {
      unclosed.add(tag); // no closing tag after this opener, so none after any later one either
      continue;
    }
    out += `${s.slice(last, m.index)} `;
    last = closer.lastIndex;
    opener.lastIndex = last;
  }
  return out + s.slice(last);
}

/** Seconds or an HTTP date, as milliseconds from now; null if absent or unreadable. Capped at 10 minutes. */
export function retryAfterMs(header: string | null, now = Date.now()): number | null {
  if (!header) return null;
  const trimmed = header.trim();
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(trimmed)) ms = Number(trimmed) * 1000;
  else {
    const at = Date.parse(trimmed);
    if (Number.isNaN(at)) return null;
    ms = at - now;
  }
  return Math.min(600_000, Math.max(0, Math.round(ms)));
}
