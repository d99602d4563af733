/**
 * A fast path for accepting valid messages, compiled from their zod schemas.
 *
 * Every new message is parsed once, by the node that builds it or the first that receives it, and
 * zod's general machinery (a result object and an issue list per field, a check runner that must
 * allow for promises) cost more than the checks themselves. A compiled parser walks the same schema
 * tree with the same checks: regex, length, safe-integer and bound checks are read from the schema
 * and applied as zod applies them, and any other check (refinements, cross-field rules) and every
 * transform is zod's own function, run on the value. It only ever accepts: a value it is unsure of,
 * or one that fails any check, gets `undefined`, and the caller asks zod, so errors and their
 * messages are zod's. A schema using a construct it does not know compiles to no fast path at all.
 */
import type { z } from 'zod'
import { generatedOr } from './generated.ts'

/** The parsed (normalised) value, or undefined when zod must decide. */
export type FastParse = (value: unknown) => unknown

class Unsupported extends Error {}

/** Stands in for zod's parse payload where a check or transform of zod's own is run. */
interface Payload { value: unknown, issues: unknown[], addIssue?: (issue: unknown) => void }

interface ZodInternals {
  def: {
    type: string
    checks?: Array<{ _zod: { def: CheckDef, check: (payload: Payload) => unknown } }>
    shape?: Record<string, { _zod: ZodInternals }>
    catchall?: { _zod: ZodInternals }
    element?: { _zod: ZodInternals }
    in?: { _zod: ZodInternals }
    out?: { _zod: ZodInternals }
    transform?: (value: unknown, payload: Payload) => unknown
    entries?: Record<string, unknown>
    coerce?: boolean
  }
}

interface CheckDef {
  check: string
  format?: string
  pattern?: RegExp
  maximum?: number
  minimum?: number
  value?: number
  inclusive?: boolean
  when?: (payload: Payload) => boolean
}

/** A value that failed: `undefined` would be a valid output of no schema of ours, so it marks failure. */
const FAIL = undefined

/** One check as a predicate on the value, with zod's semantics. */
function checkOf (check: { _zod: { def: CheckDef, check: (payload: Payload) => unknown } }): (value: unknown) => boolean {
  const def = check._zod.def
  switch (def.check) {
    case 'max_length': {
      const max = def.maximum as number
      return v => (v as { length: number }).length <= max
    }
    case 'min_length': {
      const min = def.minimum as number
      return v => (v as { length: number }).length >= min
    }
    case 'string_format': {
      if (def.format !== 'regex' || !(def.pattern instanceof RegExp) || def.pattern.global || def.pattern.sticky) throw new Unsupported()
      const pattern = def.pattern
      return v => pattern.test(v as string)
    }
    case 'number_format':
      if (def.format !== 'safeint') throw new Unsupported()
      return v => Number.isSafeInteger(v)
    case 'greater_than': {
      const bound = def.value as number
      return def.inclusive === true ? v => (v as number) >= bound : v => (v as number) > bound
    }
    case 'less_than': {
      const bound = def.value as number
      return def.inclusive === true ? v => (v as number) <= bound : v => (v as number) < bound
    }
    case 'custom': {
      // a refinement: zod's own check, on a payload of this value (a scratch one unless the check is re-entered)
      const scratch: Payload = { value: undefined, issues: [] }
      let busy = false
      return v => {
        const payload: Payload = busy ? { value: v, issues: [] } : scratch
        const own = payload === scratch
        payload.value = v
        busy = true
        try {
          if (def.when !== undefined && !def.when(payload)) return true
          const result = check._zod.check(payload)
          // an asynchronous check is zod's to reject (a synchronous parse cannot run it)
          return !(result instanceof Promise) && payload.issues.length === 0
        } finally {
          if (own) {
            busy = false
            scratch.value = undefined
            scratch.issues.length = 0
          }
        }
      }
    }
    default:
      throw new Unsupported()
  }
}

/** All of a schema node's checks, each as zod runs it: length checks only on values that have a length. */
function checksOf (internals: ZodInternals): (value: unknown) => boolean {
  const checks = (internals.def.checks ?? []).map(check => {
    const test = checkOf(check)
    const when = check._zod.def.when
    const kind = check._zod.def.check
    if (when === undefined || kind === 'custom') return test
    // the condition reads the payload only (no check keeps it): one scratch payload serves every call
    const scratch: Payload = { value: undefined, issues: [] }
    return (v: unknown) => {
      scratch.value = v
      const applies = when(scratch)
      scratch.value = undefined
      return !applies || test(v)
    }
  })
  if (checks.length === 0) return () => true
  if (checks.length === 1) return checks[0] as (value: unknown) => boolean
  return v => {
    for (let i = 0; i < checks.length; i++) if (!(checks[i] as (value: unknown) => boolean)(v)) return false
    return true
  }
}

/** Fast paths written by hand, per schema node: see `setFastPath`. */
const handWritten = new WeakMap<object, FastParse>()

/**
 * Gives a schema a fast path of its own, used wherever the schema appears (in messages, in lists):
 * for the few field kinds in every message, whose generic path costs more than their checks. Like
 * every fast path it only accepts: it returns the value zod would, or undefined for zod to decide.
 */
export function setFastPath (schema: z.ZodType, parse: FastParse): void {
  handWritten.set((schema as unknown as { _zod: ZodInternals })._zod, parse)
}

function compileNode (internals: ZodInternals): (value: unknown) => unknown {
  const own = handWritten.get(internals)
  if (own !== undefined) return own
  const def = internals.def
  if (def.coerce === true) throw new Unsupported()
  switch (def.type) {
    case 'string':
    case 'number':
    case 'boolean': {
      const checks = checksOf(internals)
      const type = def.type
      const finite = type === 'number'
      return v => (typeof v === type && (!finite || Number.isFinite(v)) && checks(v)) ? v : FAIL
    }
    case 'unknown':
      return v => v
    case 'enum': {
      const entries = Object.entries(def.entries ?? {})
      // a plain string enum only (zod reads other kinds of entries in ways of its own)
      if (!entries.every(([key, value]) => key === value)) throw new Unsupported()
      const values = new Set<unknown>(entries.map(([, value]) => value))
      return v => values.has(v) ? v : FAIL
    }
    case 'array': {
      const element = compileNode((def.element as { _zod: ZodInternals })._zod)
      const checks = checksOf(internals)
      return v => {
        if (!Array.isArray(v)) return FAIL
        const out: unknown[] = new Array(v.length)
        for (let i = 0; i < v.length; i++) {
          const item = element(v[i])
          if (item === FAIL) return FAIL
          out[i] = item
        }
        return checks(out) ? out : FAIL
      }
    }
    case 'pipe': {
      const into = compileNode((def.in as { _zod: ZodInternals })._zod)
      const out = compileNode((def.out as { _zod: ZodInternals })._zod)
      return v => {
        const mid = into(v)
        return mid === FAIL ? FAIL : out(mid)
      }
    }
    case 'transform': {
      const transform = def.transform
      if (transform === undefined) throw new Unsupported()
      // transforms are synchronous and keep nothing of their context: one scratch payload serves every call
      const scratch: Payload = { value: undefined, issues: [] }
      scratch.addIssue = issue => { scratch.issues.push(issue) }
      return v => {
        scratch.value = v
        const result = transform(v, scratch)
        const failed = scratch.issues.length > 0
        scratch.value = undefined
        scratch.issues.length = 0
        if (failed || result instanceof Promise || isAborted(result)) return FAIL
        return result
      }
    }
    case 'object': {
      if (def.catchall?._zod.def.type !== 'never') throw new Unsupported()
      const keys = Object.keys(def.shape ?? {})
      // in an object literal, a `__proto__` key would set the prototype instead
      if (keys.includes('__proto__')) throw new Unsupported()
      const parsers = keys.map(key => compileNode((def.shape as Record<string, { _zod: ZodInternals }>)[key]!._zod))
      const fields = objectFields(keys, parsers)
      const checks = checksOf(internals)
      return v => {
        if (typeof v !== 'object' || v === null || Array.isArray(v)) return FAIL
        // a plain object's keys are all its own; with as many keys as fields, each of which must
        // parse (an absent one reads undefined, which parses as nothing), it has no other key
        const proto = Object.getPrototypeOf(v) as unknown
        if (proto !== Object.prototype && proto !== null) return FAIL
        let count = 0
        for (const _ in v) count++
        if (count !== keys.length) return FAIL
        const out = fields(v)
        return out !== FAIL && checks(out) ? out : FAIL
      }
    }
    default:
      throw new Unsupported()
  }
}

/**
 * Parses an object's fields into a new object with the schema's keys in order. It is generated per
 * schema, with the keys written into its code: every object of a type is then read and built with
 * one hidden class, where a loop shared by all types reading and writing keys that change from
 * field to field made each access a lookup. The keys are JSON string literals, and come from our
 * own schemas.
 */
function objectFields (keys: readonly string[], parsers: readonly FastParse[]): (v: object) => Record<string, unknown> | undefined {
  const reads = keys.map((key, i) => `const f${i} = p[${i}](v[${JSON.stringify(key)}]); if (f${i} === undefined) return undefined`)
  const build = keys.map((key, i) => `${JSON.stringify(key)}: f${i}`)
  return generatedOr('p', `return function fields (v) {\n${reads.join('\n')}\nreturn { ${build.join(', ')} }\n}`, parsers, () => (v: object) => {
    const out: Record<string, unknown> = {}
    for (let i = 0; i < keys.length; i++) {
      const value = (parsers[i] as FastParse)((v as Record<string, unknown>)[keys[i] as string])
      if (value === FAIL) return FAIL
      out[keys[i] as string] = value
    }
    return out
  })
}

/** zod's `NEVER`, which a transform returns when it failed */
function isAborted (value: unknown): boolean {
  return typeof value === 'object' && value !== null && Object.isFrozen(value) && (value as { status?: unknown }).status === 'aborted'
}

const compiled = new WeakMap<object, FastParse | null>()

/** The fast path for a schema, compiled on first use (schemas are module constants, compiled once each). */
export function fastParseOf (schema: z.ZodType): FastParse | null {
  let parser = compiled.get(schema)
  if (parser === undefined) compiled.set(schema, parser = compileFastParse(schema))
  return parser
}

/** The fast path for a message schema, or null when it uses a construct this compiler does not know. */
export function compileFastParse (schema: z.ZodType): FastParse | null {
  try {
    return compileNode((schema as unknown as { _zod: ZodInternals })._zod)
  } catch (err) {
    if (err instanceof Unsupported) return null
    throw err
  }
}
