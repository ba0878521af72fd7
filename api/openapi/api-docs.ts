import type { z } from 'zod';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** One documented route: the zod schemas here are the ones the route validates with, so the document cannot drift. */
export interface RouteDoc {
  method: HttpMethod;
  /** Koa-style path (`/admin/jobs/:id`); rendered as `/admin/jobs/{id}` in the document. */
  path: string;
  summary: string;
  description?: string;
  tags: string[];
  query?: z.ZodType;
  body?: z.ZodType;
  /** Status → description (and optionally the response body's schema). */
  responses: Record<number, string | { description: string; schema?: z.ZodType; contentType?: string }>;
  /** Roles allowed (documented as an extension). */
  roles?: string[];
  /** Served without a token (login, /openapi.json): documented with no security requirement. */
  public?: boolean;
}

/**
 * The registry of documented routes, built with the app (no module singleton) and passed to the route
 * builders; `/openapi.json` renders it.
 */
export class ApiDocs {
  readonly routes: RouteDoc[] = [];

  add(doc: RouteDoc): void {
    this.routes.push(doc);
  }
}
