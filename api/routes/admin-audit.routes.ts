import type Router from '@koa/router';
import type { AppState } from '../middleware/state';
import type { ApiDocs } from '../openapi/api-docs';
import { adminAuditQuery, adminAuditVerifyQuery, auditPageSchema, auditVerifySchema } from '../schemas/admin-audit.schemas';
import { parseOrThrow } from '../schemas/zod-errors';
import { serializeAuditRow, type AuditService } from '../services/audit.service';
import type { AdminRouteRegistration } from './admin.routes';
import { both, type Ctx } from './route-context';

const READ = ['admin', 'admin_viewer'];

/** DRF CursorPagination links: the same path and query with another cursor. */
function cursorLink(ctx: Ctx, cursor: string | null): string | null {
  if (!cursor) return null;
  const params = new URLSearchParams(ctx.querystring);
  params.set('cursor', cursor);
  return `${ctx.path}?${params.toString()}`;
}

/** `/admin/audit` (issue 8): the audit trail, filtered and cursor-paged, and the verification of its hash chain. */
export function adminAuditRoutes(service: AuditService): AdminRouteRegistration {
  return (router: Router<AppState>, docs: ApiDocs) => {
    router.get(both('/admin/audit/verify'), async (ctx) => {
      ctx.body = await service.verify(parseOrThrow(adminAuditVerifyQuery, ctx.query));
    });
    docs.add({
      method: 'get',
      path: '/admin/audit/verify',
      summary: 'Recomputes the hash chain of the audit trail and reports the first broken link',
      description:
        'Walks the rows in id order, recomputes each hash from its fields and checks that it names the hash of the row before. ' +
        '`first_broken` is the first row whose own hash (hash_mismatch: the row was changed) or link (prev_hash_mismatch: a row ' +
        'before it was changed, removed or inserted) does not verify.',
      tags: ['admin audit'],
      query: adminAuditVerifyQuery,
      roles: READ,
      responses: { 200: { description: '`{ok, checked, first_broken}`', schema: auditVerifySchema }, 403: 'Not an administrator' },
    });

    router.get(both('/admin/audit'), async (ctx) => {
      const page = await service.list(parseOrThrow(adminAuditQuery, ctx.query));
      ctx.body = { next: cursorLink(ctx, page.next), previous: cursorLink(ctx, page.previous), results: page.rows.map(serializeAuditRow) };
    });
    docs.add({
      method: 'get',
      path: '/admin/audit',
      summary: 'The audit trail, newest first: filter by actor, action (or `prefix.*`), target, brand and time; cursor pagination',
      tags: ['admin audit'],
      query: adminAuditQuery,
      roles: READ,
      responses: { 200: { description: 'A page `{next, previous, results}`', schema: auditPageSchema }, 400: 'Invalid filter or cursor', 403: 'Not an administrator' },
    });
  };
}
