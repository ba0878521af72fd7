import type { Principal } from '../../db/repositories/identity.repository';

/** What middleware puts on `ctx.state` for the routes. */
export interface AppState {
  requestId: string;
  principal: Principal;
  brand: { id: number; name: string };
}
