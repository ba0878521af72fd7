/** The success envelopes of the public API v1 (seed 003); errors are rendered by the error middleware. */

export interface V1Pagination {
  skip: number;
  limit: number;
  total: number;
  pages: number;
}

export function v1Success<T>(data: T): { status: 'success'; data: T; timestamp: string } {
  return { status: 'success', data, timestamp: new Date().toISOString() };
}

/** A page of a list: `pages` is the number of pages of `limit` items (0 for an empty list). */
export function v1List<T>(data: T[], page: { skip: number; limit: number; total: number }): { status: 'success'; data: T[]; pagination: V1Pagination; timestamp: string } {
  return {
    status: 'success',
    data,
    pagination: { skip: page.skip, limit: page.limit, total: page.total, pages: Math.ceil(page.total / page.limit) },
    timestamp: new Date().toISOString(),
  };
}
