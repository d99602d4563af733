// Go's strconv.Unquote and the number rules of text/template/parse's newNumber.
import type { NumberValue } from './nodes.ts'

export class SyntaxError extends Error {
  constructor (message = 'invalid syntax') { super(message) }
}

const simpleEscapes: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92 }

/** Decodes one (possibly escaped) character; returns the UTF-8 bytes it stands for and the rest. */
function unquoteChar (s: string, quote: string): { bytes: number[], tail: string } {
  const first = s.codePointAt(0)!
  const firstCh = String.fromCodePoint(first)
  if (firstCh === quote && (quote === '\'' || quote === '"')) throw new SyntaxError()
  if (firstCh !== '\\') return { bytes: [...Buffer.from(firstCh, 'utf8')], tail: s.slice(firstCh.length) }
  if (s.length <= 1) throw new SyntaxError()
  const c = s[1]!
  let rest = s.slice(2)
  if (c in simpleEscapes) return { bytes: [simpleEscapes[c]!], tail: rest }
  if (c === 'x' || c === 'u' || c === 'U') {
    const n = c === 'x' ? 2 : c === 'u' ? 4 : 8
    const hex = rest.slice(0, n)
    if (hex.length < n || !/^[0-9a-fA-F]+$/.test(hex)) throw new SyntaxError()
    rest = rest.slice(n)
    const v = parseInt(hex, 16)
    if (c === 'x') return { bytes: [v], tail: rest }
    if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) throw new SyntaxError()
    return { bytes: [...Buffer.from(String.fromCodePoint(v), 'utf8')], tail: rest }
  }
  if (c >= '0' && c <= '7') {
    const oct = s.slice(1, 4)
    if (!/^[0-7]{3}$/.test(oct)) throw new SyntaxError()
    const v = parseInt(oct, 8)
    if (v > 255) throw new SyntaxError()
    return { bytes: [v], tail: s.slice(4) }
  }
  if (c === '\'' || c === '"') {
    if (c !== quote) throw new SyntaxError()
    return { bytes: [c.charCodeAt(0)], tail: rest }
  }
  throw new SyntaxError()
}

/** strconv.Unquote for "…", `…` and '…' literals. Bytes that are not UTF-8 decode to U+FFFD. */
export function goUnquote (lit: string): string {
  if (lit.length < 2) throw new SyntaxError()
  const quote = lit[0]!
  if (quote !== lit[lit.length - 1]) throw new SyntaxError()
  const body = lit.slice(1, -1)
  if (quote === '`') {
    if (body.includes('`')) throw new SyntaxError()
    return body.replaceAll('\r', '')
  }
  if (quote !== '"' && quote !== '\'') throw new SyntaxError()
  if (body.includes('\n')) throw new SyntaxError()
  const bytes: number[] = []
  let rest = body
  let count = 0
  while (rest.length > 0) {
    const r = unquoteChar(rest, quote)
    bytes.push(...r.bytes)
    rest = r.tail
    count++
    if (quote === '\'' && rest.length > 0) throw new SyntaxError()
  }
  if (quote === '\'' && count !== 1) throw new SyntaxError()
  return Buffer.from(bytes).toString('utf8')
}

/** The code point of a character constant such as 'a' or '\n'. */
export function goCharConstant (lit: string): number {
  const body = lit.slice(1)
  const r = unquoteChar(body, '\'')
  if (r.tail !== '\'') throw new SyntaxError(`malformed character constant: ${lit}`)
  if (r.bytes.length === 1) return r.bytes[0]!
  return Buffer.from(r.bytes).toString('utf8').codePointAt(0)!
}

const INT64_MIN = -(1n << 63n)
const INT64_MAX = (1n << 63n) - 1n
const UINT64_MAX = (1n << 64n) - 1n

/** strconv.ParseInt/ParseUint(text, 0, 64) without the range check: null when the syntax is wrong. */
function parseGoInteger (text: string, allowSign: boolean): bigint | null {
  let s = text
  let neg = false
  if (s[0] === '+' || s[0] === '-') {
    if (!allowSign) return null
    neg = s[0] === '-'
    s = s.slice(1)
  }
  let base = 10
  let digits = s
  let prefixed = false
  if (/^0[xX]/.test(s)) { base = 16; digits = s.slice(2); prefixed = true } else if (/^0[oO]/.test(s)) { base = 8; digits = s.slice(2); prefixed = true } else if (/^0[bB]/.test(s)) { base = 2; digits = s.slice(2); prefixed = true } else if (s.length > 1 && s[0] === '0') { base = 8; digits = s.slice(1); prefixed = true }
  const digitClass = base === 16 ? '[0-9a-fA-F]' : base === 8 ? '[0-7]' : base === 2 ? '[01]' : '[0-9]'
  const re = prefixed
    ? new RegExp(`^_?${digitClass}(_?${digitClass})*$`)
    : new RegExp(`^${digitClass}(_?${digitClass})*$`)
  if (!re.test(digits)) return null
  const clean = digits.replaceAll('_', '')
  let v = 0n
  for (const ch of clean) v = v * BigInt(base) + BigInt(parseInt(ch, 16))
  return neg ? -v : v
}

function parseGoFloat (text: string): number | null {
  const s = text
  const dec = /^[+-]?((\d(_?\d)*)(\.(\d(_?\d)*)?)?|\.\d(_?\d)*)([eE][+-]?\d(_?\d)*)?$/
  if (dec.test(s)) return Number(s.replaceAll('_', ''))
  const hex = /^([+-]?)0[xX](_?[0-9a-fA-F](_?[0-9a-fA-F])*)?(\.([0-9a-fA-F](_?[0-9a-fA-F])*)?)?[pP]([+-]?\d(_?\d)*)$/
  const m = hex.exec(s)
  if (m && (m[2] !== undefined || m[5] !== undefined)) {
    const intPart = (m[2] ?? '').replaceAll('_', '')
    const fracPart = (m[5] ?? '').replaceAll('_', '')
    let v = 0
    for (const ch of intPart + fracPart) v = v * 16 + parseInt(ch, 16)
    const exp = Number(m[7]!.replaceAll('_', '')) - 4 * fracPart.length
    const r = v * Math.pow(2, exp)
    return m[1] === '-' ? -r : r
  }
  return null
}

/** The number node rules of text/template/parse (newNumber) for numbers and character constants. */
export function parseNumber (text: string, isCharConstant: boolean): NumberValue {
  const n: NumberValue = { text, isInt: false, isUint: false, isFloat: false, isComplex: false, int: 0n, uint: 0n, float: 0 }
  if (isCharConstant) {
    const r = goCharConstant(text)
    return { ...n, isInt: true, isUint: true, isFloat: true, int: BigInt(r), uint: BigInt(r), float: r }
  }
  if (text.endsWith('i')) throw new SyntaxError('complex constants are not supported')
  const u = parseGoInteger(text, false)
  if (u !== null && u <= UINT64_MAX) {
    n.isUint = true
    n.uint = u
  }
  const i = parseGoInteger(text, true)
  if (i !== null && i >= INT64_MIN && i <= INT64_MAX) {
    n.isInt = true
    n.int = i
    if (i === 0n) {
      n.isUint = true
      n.uint = 0n
    }
  }
  if (n.isInt) {
    n.isFloat = true
    n.float = Number(n.int)
  } else if (n.isUint) {
    n.isFloat = true
    n.float = Number(n.uint)
  } else {
    const f = parseGoFloat(text)
    if (f !== null) {
      if (!/[.eEpP]/.test(text)) throw new SyntaxError(`integer overflow: ${JSON.stringify(text)}`)
      n.isFloat = true
      n.float = f
      if (Number.isInteger(f) && f >= -(2 ** 63) && f < 2 ** 63) {
        n.isInt = true
        n.int = BigInt(f)
      }
      if (Number.isInteger(f) && f >= 0 && f < 2 ** 64) {
        n.isUint = true
        n.uint = BigInt(f)
      }
    }
  }
  if (!n.isInt && !n.isUint && !n.isFloat) throw new SyntaxError(`illegal number syntax: ${JSON.stringify(text)}`)
  return n
}
