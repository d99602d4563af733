// text/template's builtin functions and Lilypad's `subst`, with Go's parameter types (which decide how
// arguments are checked) and Go's error texts.
import { GoStringMap, GoUint8, type GoValue, goTypeName, isTrue, goStringLen, compareGoStrings } from './values.ts'
import { sprint, sprintf, sprintln, formatValue } from './fmt.ts'
import { htmlEscape, jsEscape, urlQueryEscape } from './escape.ts'
import { checkGoJson } from './go-json.ts'

/**
 * How an argument is passed: 'value' is a reflect.Value parameter (a missing value stays missing),
 * 'any' an interface{} (missing becomes nil), 'string' a Go string (missing is an error).
 */
export type ParamType = 'value' | 'any' | 'string'

/** A Go function's error result, or a panic recovered by text/template's safeCall. */
export class FuncError extends Error {}

export interface GoFunc {
  params: ParamType[]
  variadic: ParamType | null
  call: (args: GoValue[], calleeName?: string) => GoValue
}

// evalArgs in text/template/funcs.go: one string argument as is, otherwise fmt.Sprint with a missing
// value printed as "<no value>".
function evalArgs (args: GoValue[]): string {
  if (args.length === 1 && typeof args[0] === 'string') return args[0]
  return sprint(args.map(a => (a === undefined || a === null ? '<no value>' : a)))
}

type Kind = 'bool' | 'int' | 'uint' | 'float' | 'string' | 'invalid'

function basicKind (v: GoValue): Kind {
  if (typeof v === 'boolean') return 'bool'
  if (typeof v === 'bigint') return 'int'
  if (v instanceof GoUint8) return 'uint'
  if (typeof v === 'number') return 'float'
  if (typeof v === 'string') return 'string'
  return 'invalid'
}

const errBadComparisonType = 'invalid type for comparison'
const errBadComparison = 'incompatible types for comparison'
const errNoComparison = 'missing argument for comparison'

function intOf (v: GoValue): bigint {
  if (typeof v === 'bigint') return v
  if (v instanceof GoUint8) return BigInt(v.v)
  throw new Error('not an integer')
}

function eq (arg1: GoValue, ...arg2: GoValue[]): boolean {
  if (arg2.length === 0) throw new FuncError(errNoComparison)
  const k1 = basicKind(arg1)
  for (const arg of arg2) {
    const k2 = basicKind(arg)
    let truth = false
    if (k1 !== k2) {
      if ((k1 === 'int' && k2 === 'uint') || (k1 === 'uint' && k2 === 'int')) {
        truth = intOf(arg1) === intOf(arg)
      } else if (arg1 !== undefined && arg1 !== null && arg !== undefined && arg !== null) {
        throw new FuncError(errBadComparison)
      }
    } else if (k1 === 'invalid') {
      // Maps and missing values: only "both missing" compares equal; maps are not comparable.
      const nil1 = arg1 === undefined || arg1 === null
      const nil2 = arg === undefined || arg === null
      if (nil1 || nil2) truth = nil1 === nil2
      else throw new FuncError(`non-comparable type ${formatValue(arg, 'v', { plus: false, minus: false, sharp: false, space: false, zero: false, width: null, prec: null })}: ${goTypeName(arg)}`)
    } else if (k1 === 'int' || k1 === 'uint') {
      truth = intOf(arg1) === intOf(arg)
    } else {
      truth = arg1 === arg
    }
    if (truth) return true
  }
  return false
}

function lt (arg1: GoValue, arg2: GoValue): boolean {
  const k1 = basicKind(arg1)
  if (k1 === 'invalid') throw new FuncError(errBadComparisonType)
  const k2 = basicKind(arg2)
  if (k2 === 'invalid') throw new FuncError(errBadComparisonType)
  if (k1 !== k2) {
    if ((k1 === 'int' && k2 === 'uint') || (k1 === 'uint' && k2 === 'int')) return intOf(arg1) < intOf(arg2)
    throw new FuncError(errBadComparison)
  }
  switch (k1) {
    case 'bool': throw new FuncError(errBadComparisonType)
    case 'string': return compareGoStrings(arg1 as string, arg2 as string) < 0
    case 'float': return (arg1 as number) < (arg2 as number)
    default: return intOf(arg1) < intOf(arg2)
  }
}

function indexArg (index: GoValue, cap: number): number {
  let x: bigint
  if (typeof index === 'bigint') x = index
  else if (index instanceof GoUint8) x = BigInt(index.v)
  else if (index === undefined || index === null) throw new FuncError('cannot index slice/array with nil')
  else throw new FuncError(`cannot index slice/array with type ${goTypeName(index)}`)
  if (x < 0n || x > BigInt(cap)) throw new FuncError(`index out of range: ${x}`)
  return Number(x)
}

function index (item: GoValue, ...indexes: GoValue[]): GoValue {
  if (item === undefined || item === null) throw new FuncError('index of untyped nil')
  let cur: GoValue = item
  for (const ix of indexes) {
    if (typeof cur === 'string') {
      const bytes: Buffer = Buffer.from(cur, 'utf8')
      const x = indexArg(ix, bytes.length)
      if (x >= bytes.length) throw new FuncError('reflect: string index out of range')
      cur = new GoUint8(bytes[x]!)
    } else if (cur instanceof GoStringMap) {
      if (ix === undefined || ix === null) throw new FuncError('value is nil; should be of type string')
      if (typeof ix !== 'string') throw new FuncError(`value has type ${goTypeName(ix)}; should be string`)
      cur = cur.entries.get(ix) ?? ''
    } else {
      throw new FuncError(`can't index item of type ${goTypeName(cur)}`)
    }
  }
  return cur
}

function slice (item: GoValue, ...indexes: GoValue[]): GoValue {
  if (item === undefined || item === null) throw new FuncError('slice of untyped nil')
  if (indexes.length > 3) throw new FuncError(`too many slice indexes: ${indexes.length}`)
  if (typeof item !== 'string') throw new FuncError(`can't slice item of type ${goTypeName(item)}`)
  if (indexes.length === 3) throw new FuncError('cannot 3-index slice a string')
  const bytes = Buffer.from(item, 'utf8')
  const idx = [0, bytes.length]
  indexes.forEach((ix, i) => { idx[i] = indexArg(ix, bytes.length) })
  if (idx[0]! > idx[1]!) throw new FuncError(`invalid slice index: ${idx[0]} > ${idx[1]}`)
  return bytes.subarray(idx[0], idx[1]).toString('utf8')
}

function length (item: GoValue): GoValue {
  if (item === undefined || item === null) throw new FuncError('reflect: call of reflect.Value.Type on zero Value')
  if (typeof item === 'string') return BigInt(goStringLen(item))
  if (item instanceof GoStringMap) return BigInt(item.entries.size)
  throw new FuncError(`len of type ${goTypeName(item)}`)
}

/** Lilypad's subst: each argument is JSON-decoded to a string, then fmt.Sprintf(format, ...). */
function subst (format: string, ...jsonEncodedInputs: string[]): string {
  const decoded = jsonEncodedInputs.map(input => {
    const bytes = Buffer.from(input, 'utf8')
    if (checkGoJson(bytes) !== null) throw new FuncError('subst: invalid input')
    const v: unknown = JSON.parse(input)
    if (v === null) return ''
    if (typeof v !== 'string') throw new FuncError('subst: invalid input')
    return v
  })
  return sprintf(format, decoded)
}

export const builtins: Record<string, GoFunc> = {
  // and/or are evaluated lazily by the executor; these entries only describe their parameters.
  and: { params: ['value'], variadic: 'value', call: () => { throw new Error('unreachable') } },
  or: { params: ['value'], variadic: 'value', call: () => { throw new Error('unreachable') } },
  call: {
    params: ['value'],
    variadic: 'value',
    call: ([fn], calleeName) => {
      if (fn === undefined || fn === null) throw new FuncError('call of nil')
      throw new FuncError(`non-function ${calleeName ?? ''} of type ${goTypeName(fn)}`)
    }
  },
  html: { params: [], variadic: 'any', call: args => htmlEscape(evalArgs(args)) },
  index: { params: ['value'], variadic: 'value', call: ([item, ...ix]) => index(item, ...ix) },
  slice: { params: ['value'], variadic: 'value', call: ([item, ...ix]) => slice(item, ...ix) },
  js: { params: [], variadic: 'any', call: args => jsEscape(evalArgs(args)) },
  len: { params: ['value'], variadic: null, call: ([item]) => length(item) },
  not: { params: ['value'], variadic: null, call: ([a]) => !isTrue(a) },
  print: { params: [], variadic: 'any', call: args => sprint(args) },
  printf: { params: ['string'], variadic: 'any', call: ([format, ...rest]) => sprintf(format as string, rest) },
  println: { params: [], variadic: 'any', call: args => sprintln(args) },
  urlquery: { params: [], variadic: 'any', call: args => urlQueryEscape(evalArgs(args)) },
  eq: { params: ['value'], variadic: 'value', call: ([a, ...b]) => eq(a, ...b) },
  ge: { params: ['value', 'value'], variadic: null, call: ([a, b]) => !lt(a, b) },
  gt: { params: ['value', 'value'], variadic: null, call: ([a, b]) => !(lt(a, b) || eq(a, b)) },
  le: { params: ['value', 'value'], variadic: null, call: ([a, b]) => lt(a, b) || eq(a, b) },
  lt: { params: ['value', 'value'], variadic: null, call: ([a, b]) => lt(a, b) },
  ne: { params: ['value', 'value'], variadic: null, call: ([a, b]) => !eq(a, b) }
}

/** The function map Lilypad adds to the builtins. */
export const lilypadFuncs: Record<string, GoFunc> = {
  subst: { params: ['string'], variadic: 'string', call: ([format, ...inputs]) => subst(format as string, ...(inputs as string[])) }
}
