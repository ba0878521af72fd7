import { z } from 'zod';
import { crawlOptionsShape, httpUrl } from '../contracts/web-options';
import { defineTaskWorkflow } from '../task-lifecycle';

/**
 * `website_structure_analysis`: crawls a site within depth/page bounds (honouring robots.txt) and reports its link
 * graph, depth distribution, orphan pages (listed in its sitemap but linked from no crawled page), pages blocked
 * by robots.txt, broken internal links with the pages linking to them, redirects, and pages left beyond the bounds.
 */
export const websiteStructureAnalysisContextSchema = z
  .object({
    start_url: httpUrl,
    ...crawlOptionsShape,
    /** Include the link graph's edges (capped) in the result; node and edge counts are always there. */
    include_edges: z.boolean().default(true),
    /** Sitemap to compare the crawl with; default: the robots.txt `Sitemap:` lines, else `/sitemap.xml`. */
    sitemap_url: httpUrl.optional(),
  })
  .strict();
export type WebsiteStructureAnalysisContext = z.infer<typeof websiteStructureAnalysisContextSchema>;

export interface StructureNode {
  url: string;
  depth: number;
  status: number | null;
  in_degree: number;
  out_degree: number;
}

export interface WebsiteStructureAnalysisResult {
  start_url: string;
  pages_crawled: number;
  link_graph: {
    node_count: number;
    edge_count: number;
    nodes: StructureNode[];
    nodes_truncated: boolean;
    /** Present when `include_edges`; internal links between crawled or discovered pages, self-links left out; `truncated` when capped. */
    edges?: { from: string; to: string }[];
    truncated: boolean;
  };
  depth_distribution: Record<string, number>;
  orphan_pages: { url: string }[];
  orphan_count: number;
  orphans_truncated: boolean;
  sitemap: { sources: string[]; found: boolean; url_count: number; truncated: boolean; errors: string[] };
  robots_txt: { found: boolean; sitemaps: string[] };
  blocked_by_robots: { url: string; linked_from: string[] }[];
  broken_links: { url: string; status: number | null; error: string | null; linked_from: string[] }[];
  redirects: { url: string; final_url: string; status: number | null; chain: string[] }[];
  beyond_bounds: { url: string; reason: 'depth' | 'max_pages'; linked_from: string[] }[];
  summary: {
    pages_ok: number;
    broken_count: number;
    blocked_count: number;
    redirect_count: number;
    beyond_bounds_count: number;
    max_depth_reached: number;
  };
  /** Lists (other than nodes/edges) capped at this many entries each; the counts in `summary` are exact. */
  list_cap: number;
  [key: string]: unknown;
}

export const website_structure_analysis = defineTaskWorkflow<WebsiteStructureAnalysisContext>({
  type: 'website_structure_analysis',
  contextSchema: websiteStructureAnalysisContextSchema,
  async run({ context, activities }) {
    const { analyzeWebsiteStructure } = activities({ startToCloseTimeout: '4 hours', retry: { maximumAttempts: 3 } });
    return analyzeWebsiteStructure({ context });
  },
});
