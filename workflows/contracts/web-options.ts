import { z } from 'zod';

/**
 * `context_data` fields shared by the task types that fetch web pages. Every fetch is bounded; crawls stay on the
 * site they are given unless `same_site_only` is false (then only redirects may leave it; links are never followed off-site).
 */
export const httpUrl = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//i.test(u), 'Only http and https URLs are allowed');

export const fetchOptionsShape = {
  timeout_seconds: z.number().positive().max(120).default(15),
  max_bytes: z.number().int().min(1024).max(20_000_000).default(5_000_000),
  max_redirects: z.number().int().min(0).max(10).default(5),
  same_site_only: z.boolean().default(true),
};

export const crawlOptionsShape = {
  ...fetchOptionsShape,
  max_pages: z.number().int().min(1).max(10_000).default(50),
  max_depth: z.number().int().min(0).max(20).default(3),
  concurrency: z.number().int().min(1).max(16).default(4),
  respect_robots_txt: z.boolean().default(true),
};

export interface FetchOptions {
  timeout_seconds: number;
  max_bytes: number;
  max_redirects: number;
  same_site_only: boolean;
}
