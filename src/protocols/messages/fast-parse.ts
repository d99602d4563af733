/**
 * Fast paths for accepting valid messages, declared beside their zod schemas.
 *
 * Every new message is parsed once, by the node that builds it or the first that receives it, and
 * zod's general machinery (a result object and an issue list per field) costs more than the checks
 * themselves. So each field kind of fields.ts declares a fast path that makes its schema's checks
 * (and transforms) directly, and the message schemas compose them: a strict object of fields, a
 * list, a rule over the whole. The composition reads only our own declarations, never zod's
 * internals. A fast path only ever accepts: a value it is unsure of, or one that fails any check,
 * gets `undefined`, and the caller asks zod, so errors and their messages are zod's. A test holds
 * every fast path to zod: whatever it accepts, zod accepts with the same output.
 */
import type { z } from 'zod'
import { generatedOr } from './generated.ts'

/** The parsed (normalised) value, or undefined when zod must decide. */
export type FastParse = (value: unknown) => unknown

/** A value that failed: `undefined` would be a valid output of no schema of ours, so it marks failure. */
const FAIL = undefined

const fastPaths = new WeakMap<object, FastParse>()

/** Declares `fast` as the fast path of `schema` (which it returns): `fast` must accept only what the schema accepts, with its output. */
export function withFastPath<S extends z.core.$ZodType> (schema: S, fast: FastParse | null): S {
  if (fast !== null) fastPaths.set(schema, fast)
  return schema
}

/** The fast path declared for a schema, or null (zod alone parses it). */
export function fastParseOf (schema: z.core.$ZodType): FastParse | null {
  return fastPaths.get(schema) ?? null
}

/**
 * The fast path of a strict object of these fields, in their order, or null when a field has no
 * fast path (or is named `__proto__`, which an object literal would take as its prototype).
 */
export function strictObjectPath (shape: Readonly<Record<string, z.core.$ZodType>>): FastParse | null {
  const keys = Object.keys(shape)
  if (keys.includes('__proto__')) return null
  const parsers = keys.map(key => fastParseOf(shape[key] as z.core.$ZodType))
  if (parsers.some(p => p === null)) return null
  const fields = objectFields(keys, parsers as FastParse[])
  return v => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return FAIL
    // a plain object's keys are all its own; with as many keys as fields, each of which must
    // parse (an absent one reads undefined, which parses as nothing), it has no other key
    const proto = Object.getPrototypeOf(v) as unknown
    if (proto !== Object.prototype && proto !== null) return FAIL
    let count = 0
    for (const _ in v) count++
    if (count !== keys.length) return FAIL
    return fields(v)
  }
}

/** The fast path of a list of `item`s, of `min` to `max` of them, or null when `item` has none. */
export function listPath (item: z.core.$ZodType, min: number, max: number): FastParse | null {
  const parse = fastParseOf(item)
  if (parse === null) return null
  return v => {
    if (!Array.isArray(v) || v.length < min || v.length > max) return FAIL
    const out = new Array<unknown>(v.length)
    for (let i = 0; i < v.length; i++) {
      const parsed = parse(v[i])
      if (parsed === FAIL) return FAIL
      out[i] = parsed
    }
    return out
  }
}

/** A fast path that also keeps a rule over the parsed value (a schema's refinement, as our own predicate). */
export function refinedPath<T> (inner: FastParse | null, ok: (value: T) => boolean): FastParse | null {
  if (inner === null) return null
  return v => {
    const parsed = inner(v)
    return parsed !== FAIL && ok(parsed as T) ? parsed : FAIL
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
