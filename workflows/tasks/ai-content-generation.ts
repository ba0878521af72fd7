import { z } from 'zod';
import { defineTaskWorkflow } from '../task-lifecycle';
import { contentLanguage } from './meta-tags-generation';

export const CONTENT_TONES = ['neutral', 'professional', 'friendly', 'casual', 'formal', 'persuasive', 'informative', 'enthusiastic', 'humorous'] as const;

/** Fields of the brief, refused next to a free-text `prompt`. */
const BRIEF_ONLY = ['tone', 'language', 'length_words', 'format', 'audience'] as const;

/**
 * `ai_content_generation`: one call to the OpenAI-compatible chat completion endpoint of the server's settings
 * (AI_API_BASE_URL, AI_API_KEY, AI_MODEL, AI_TIMEOUT_SECONDS), with either a free-text `prompt` or a brief
 * (`topic` and its options) turned into system + user messages. 429/5xx/network errors retry (honouring Retry-After).
 */
export const aiContentGenerationContextSchema = z
  .object({
    prompt: z.string().trim().min(1).max(20_000).optional(),
    topic: z.string().trim().min(1).max(500).optional(),
    /** With a topic: asked for; with a prompt or a topic: checked in the answer (keywords_included/missing). */
    keywords: z.array(z.string().trim().min(1).max(100)).max(30).optional(),
    tone: z.enum(CONTENT_TONES).optional(),
    language: contentLanguage.optional(),
    length_words: z.number().int().min(50).max(5000).optional(),
    format: z.enum(['markdown', 'html', 'text']).optional(),
    audience: z.string().trim().min(1).max(300).optional(),
    temperature: z.number().min(0).max(2).optional(),
    max_tokens: z.number().int().min(1).max(32_000).optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.prompt === undefined && c.topic === undefined) {
      ctx.addIssue({ code: 'custom', path: ['topic'], message: 'Give either prompt (free text) or topic (a brief)' });
    }
    if (c.prompt !== undefined && c.topic !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['prompt'], message: 'Give either prompt or topic, not both' });
    }
    if (c.prompt !== undefined) {
      for (const key of BRIEF_ONLY) {
        if (c[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `${key} belongs to a brief (topic); write it into the prompt instead` });
      }
    }
  });
export type AiContentGenerationContext = z.infer<typeof aiContentGenerationContextSchema>;

export const ai_content_generation = defineTaskWorkflow<AiContentGenerationContext>({
  type: 'ai_content_generation',
  contextSchema: aiContentGenerationContextSchema,
  async run({ context, activities }) {
    const { generateAiContent } = activities({
      startToCloseTimeout: '15 minutes',
      retry: {
        initialInterval: '2 seconds',
        backoffCoefficient: 2,
        maximumInterval: '1 minute',
        maximumAttempts: 5,
        nonRetryableErrorTypes: ['AI_REQUEST_REJECTED', 'AI_BAD_RESPONSE', 'TASK_TYPE_NOT_CONFIGURED'],
      },
    });
    return generateAiContent(context) as unknown as Promise<Record<string, unknown>>;
  },
});
