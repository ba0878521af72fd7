import type { z } from 'zod';
import { AppError, type FieldErrors } from '../errors';

/** Maps zod issues to DRF-style `field_errors` (`{"field": ["message"]}`, nested paths joined with dots). */
export function toFieldErrors(error: z.ZodError, prefix?: string): FieldErrors {
  const out: FieldErrors = {};
  const add = (key: string, message: string) => {
    (out[key] ??= []).push(message);
  };
  for (const issue of error.issues) {
    const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) add([path, key].filter(Boolean).join('.'), 'Unknown field');
    } else {
      add(path || 'non_field_errors', issue.message);
    }
  }
  return out;
}

export function parseOrThrow<S extends z.ZodType>(schema: S, data: unknown, prefix?: string): z.infer<S> {
  const result = schema.safeParse(data);
  if (!result.success) throw AppError.validation(toFieldErrors(result.error, prefix));
  return result.data;
}
