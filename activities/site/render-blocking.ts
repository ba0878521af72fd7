import type { PageFacts } from '../web/html-page';

/**
 * External resources in <head> that block the first render: scripts without async/defer/type=module, and
 * stylesheets unless their media is only for non-screen output (print, speech). Pure.
 */
export function renderBlockingResources(facts: Pick<PageFacts, 'scripts' | 'stylesheets'>): { url: string; type: 'script' | 'stylesheet' }[] {
  const out: { url: string; type: 'script' | 'stylesheet' }[] = [];
  for (const s of facts.scripts) {
    if (s.src && s.inHead && !s.async && !s.defer && !s.module) out.push({ url: s.src, type: 'script' });
  }
  for (const l of facts.stylesheets) {
    if (l.href && l.inHead && blocksScreen(l.media)) out.push({ url: l.href, type: 'stylesheet' });
  }
  return out;
}

function blocksScreen(media: string | null): boolean {
  const m = (media ?? '').trim().toLowerCase();
  if (!m) return true;
  // A media query list blocks when one of its queries can apply to a screen.
  return m.split(',').some((q) => {
    const query = q.trim();
    if (/^not\s/.test(query)) return true;
    const type = /^(?:only\s+)?([a-z-]+)/.exec(query)?.[1];
    return !type || !['print', 'speech'].includes(type);
  });
}
