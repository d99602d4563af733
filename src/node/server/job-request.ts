/**
 * What `POST /jobs` takes: the options of `lilypad run` as JSON, checked by a zod schema (which
 * also writes the request's part of `/openapi.json`). `parseJobRequest` throws a BadRequest with a
 * one-line reason for the first field that is wrong.
 */
import { z } from 'zod'
import { DEFAULT_MEDIATION_CHANCE } from '../jobs/check-rate.ts'
import { LIMITS } from '../../protocols/messages/fields.ts'

export interface JobRequest {
  /** `cowsay:v0.0.1`, `github.com/owner/repo:ref`, or a local repository path:ref */
  module: string
  inputs: Record<string, string>
  /** the chance, in percent (0 to 100), that the results are re-run to check them (default DEFAULT_MEDIATION_CHANCE) */
  mediationChance: number
  /** the most this job may cost, in wei (a decimal string) */
  maxPrice?: string
  /** how long to look for a provider before giving up */
  matchWithinMs?: number
  /** how long the parties have to sign once matched: the provider's module fetch and image pull */
  agreeWithinMs?: number
  /** how long the provider has to submit results (default: the module's timeout and margins) */
  submitWithinMs?: number
  /** an absolute path on the node's machine: a folder of input data the job mounts at /inputs */
  inputsPath?: string
  /** how many of the deal's mediators must agree to settle a challenge (default 1) */
  quorum?: number
}

export class BadRequest extends Error {
  override readonly name = 'BadRequest'
}

const DAY_MS = 86_400_000

const window = (name: string, most?: number): z.ZodOptional<z.ZodNumber> => {
  const error = `${name} must be a whole number of milliseconds${most === undefined ? '' : ', at most a day'}`
  const ms = z.number({ error }).int({ error }).positive({ error })
  return (most === undefined ? ms : ms.max(most, { error })).optional()
}

/** The body of `POST /jobs`. */
export const jobRequestSchema = z.strictObject({
  module: z.string({ error: 'module must be a module reference such as cowsay:v0.0.1' })
    .refine(m => m.trim() !== '', { error: 'module must be a module reference such as cowsay:v0.0.1' })
    .describe('cowsay:v0.0.1, github.com/owner/repo:ref, or a local repository path:ref'),
  inputs: z.record(
    z.string().min(1, { error: 'an input must have a non-empty name' }),
    z.string({ error: 'an input must be a non-empty name with a string value' }),
    { error: 'inputs must be an object of strings' }
  ).default({}).describe('the module template\'s inputs, by name'),
  mediationChance: z.number({ error: 'mediationChance must be a percentage, from 0 to 100' })
    .min(0, { error: 'mediationChance must be a percentage, from 0 to 100' })
    .max(100, { error: 'mediationChance must be a percentage, from 0 to 100' })
    .default(DEFAULT_MEDIATION_CHANCE).describe('the chance, in percent, that the results are re-run to check them'),
  maxPrice: z.string({ error: 'maxPrice must be a whole number of wei, as a decimal string' })
    .regex(/^[0-9]{1,78}$/, { error: 'maxPrice must be a whole number of wei, as a decimal string' }).optional()
    .describe('the most this job may cost, in wei'),
  matchWithinMs: window('matchWithinMs', DAY_MS).describe('how long to look for a provider before giving up'),
  agreeWithinMs: window('agreeWithinMs', DAY_MS).describe('how long the parties have to sign once matched'),
  submitWithinMs: window('submitWithinMs').describe('how long the provider has to submit results (default: the module\'s timeout and margins)'),
  inputsPath: z.string({ error: 'inputsPath must be an absolute path on the node\'s machine' })
    .max(4096, { error: 'inputsPath must be an absolute path on the node\'s machine' })
    .refine(p => p.startsWith('/'), { error: 'inputsPath must be an absolute path on the node\'s machine' }).optional()
    .describe('a folder of input data on the node\'s machine, mounted read-only at /inputs'),
  quorum: z.number({ error: `quorum must be a whole number of mediators, from 1 to ${LIMITS.mediators}` })
    .int({ error: `quorum must be a whole number of mediators, from 1 to ${LIMITS.mediators}` })
    .min(1, { error: `quorum must be a whole number of mediators, from 1 to ${LIMITS.mediators}` })
    .max(LIMITS.mediators, { error: `quorum must be a whole number of mediators, from 1 to ${LIMITS.mediators}` }).optional()
    .describe('how many of the deal\'s mediators must agree to settle a challenge')
}, { error: 'the body must be a JSON object' })

export function parseJobRequest (body: unknown): JobRequest {
  const parsed = jobRequestSchema.safeParse(body)
  if (parsed.success) return parsed.data
  throw new BadRequest(oneLine(parsed.error.issues[0]))
}

/** The first issue, as one line a person reads: an unknown field is named, any other carries its own message. */
function oneLine (issue: z.core.$ZodIssue | undefined): string {
  if (issue === undefined) return 'the body is not a job request'
  if (issue.code === 'unrecognized_keys') return `unknown field ${JSON.stringify(issue.keys[0])}`
  return issue.message.split('\n')[0]!
}
