import { z } from 'zod';
import { MAX_PASSWORD_LENGTH } from '../services/auth.service';

/** `POST /auth/login`: strict, so a client cannot smuggle fields (a role, a user id) into the login. */
export const loginBody = z
  .object({
    username: z.string().min(1).max(150),
    password: z.string().min(1).max(MAX_PASSWORD_LENGTH),
  })
  .strict();

export const loginResponse = z.object({
  token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int().describe('Seconds until the token expires'),
  user: z.object({ id: z.number().int(), username: z.string(), role: z.enum(['user', 'admin', 'admin_viewer']) }),
});
