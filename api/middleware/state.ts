import type { ApiKeyRole } from '../../db/entities/api-key.entity';
import type { Principal } from '../../db/repositories/identity.repository';

/** What middleware puts on `ctx.state` for the routes. */
export interface AppState {
  requestId: string;
  principal: Principal;
  brand: { id: number; name: string };
  /**
   * Set when the caller authenticated with `X-API-Key`: the key acts for this brand only (brand middlewares force it)
   * and with this role.
   */
  apiKey?: { id: number; brandId: number; role: ApiKeyRole };
}
