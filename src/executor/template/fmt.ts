// Go's fmt.Sprint, Sprintln and Sprintf for the values a template can hold, with Go's verbs, flags,
// widths and precisions, and Go's error markers (%!d(string=x), %!s(MISSING), %!(EXTRA ...)).
import { GoStringMap, GoUint8, type GoValue, goTypeName } from './values.ts'

interface Flags {
  plus: boolean
  minus: boolean
  sharp: boolean
  space: boolean
  zero: boolean
  width: number | null
  prec: number | null
}

/** Go's fmt refuses widths and precisions beyond a million, which no output needs. */
function tooLarge (x: bigint | number): boolean {
  return x > 1e6 || x < -1e6
}

/**
 * Go's parsenum: the digits at `start`; a number that grows past a million before its last digit
 * is "crazy long", and Go then skips to the end of the format.
 */
function parseNum (format: string, start: number): { value: number, digits: number, tooLarge: boolean } {
  let value = 0
  let i = start
  for (; i < format.length && format[i]! >= '0' && format[i]! <= '9'; i++) {
    if (tooLarge(value)) return { value: 0, digits: 0, tooLarge: true }
    value = value * 10 + (format.charCodeAt(i) - 48)
  }
  return { value, digits: i - start, tooLarge: false }
}

const noFlags = (): Flags => ({ plus: false, minus: false, sharp: false, space: false, zero: false, width: null, prec: null })

const isPrintRe = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u

/** unicode.IsPrint / strconv.IsPrint: letters, marks, numbers, punctuation, symbols and ASCII space. */
export function isGoPrint (cp: number): boolean {
  if (cp === 0x20) return true
  return isPrintRe.test(String.fromCodePoint(cp))
}

function isString (v: GoValue): v is string { return typeof v === 'string' }

export function sprint (args: GoValue[]): string {
  let out = ''
  args.forEach((arg, i) => {
    const str = isString(arg)
    if (i > 0 && !str && !isString(args[i - 1])) out += ' '
    out += formatValue(arg, 'v', noFlags())
  })
  return out
}

export function sprintln (args: GoValue[]): string {
  return args.map(a => formatValue(a, 'v', noFlags())).join(' ') + '\n'
}

export function sprintf (format: string, args: GoValue[]): string {
  let out = ''
  let argNum = 0
  let i = 0
  const n = format.length
  while (i < n) {
    const pct = format.indexOf('%', i)
    if (pct < 0) {
      out += format.slice(i)
      break
    }
    out += format.slice(i, pct)
    i = pct + 1
    const f = noFlags()
    // flags
    for (; i < n; i++) {
      const c = format[i]
      if (c === '#') f.sharp = true
      else if (c === '0') f.zero = !f.minus
      else if (c === '+') f.plus = true
      else if (c === '-') { f.minus = true; f.zero = false } else if (c === ' ') f.space = true
      else break
    }
    // width
    if (format[i] === '*') {
      i++
      const w = args[argNum++]
      if (typeof w === 'bigint' && !tooLarge(w)) {
        f.width = Number(w)
        if (f.width < 0) { f.minus = true; f.zero = false; f.width = -f.width }
      } else {
        out += '%!(BADWIDTH)'
      }
    } else {
      const num = parseNum(format, i)
      if (num.tooLarge) i = n
      else if (num.digits > 0) { f.width = num.value; i += num.digits }
    }
    // precision
    if (format[i] === '.') {
      i++
      if (format[i] === '*') {
        i++
        const p = args[argNum++]
        if (typeof p === 'bigint' && p >= 0n && !tooLarge(p)) f.prec = Number(p)
        else { f.prec = null; out += '%!(BADPREC)' }
      } else {
        const num = parseNum(format, i)
        f.prec = num.tooLarge ? 0 : num.value
        i = num.tooLarge ? n : i + num.digits
      }
    }
    if (i >= n) {
      out += '%!(NOVERB)'
      break
    }
    const verb = String.fromCodePoint(format.codePointAt(i)!)
    i += verb.length
    if (verb === '%') {
      out += '%'
      continue
    }
    if (argNum >= args.length) {
      out += `%!${verb}(MISSING)`
      continue
    }
    out += formatValue(args[argNum++], verb, f)
  }
  if (argNum < args.length) {
    out += '%!(EXTRA ' + args.slice(argNum).map(a => a === undefined || a === null ? '<nil>' : `${goTypeName(a)}=${formatValue(a, 'v', noFlags())}`).join(', ') + ')'
  }
  return out
}

function badVerb (v: GoValue, verb: string): string {
  if (v === undefined || v === null) return `%!${verb}(<nil>)`
  return `%!${verb}(${goTypeName(v)}=${formatValue(v, 'v', noFlags())})`
}

function pad (s: string, f: Flags, zeroOk = true): string {
  if (f.width === null) return s
  const len = [...s].length
  if (len >= f.width) return s
  const fill = f.width - len
  if (f.minus) return s + ' '.repeat(fill)
  if (f.zero && zeroOk) return '0'.repeat(fill) + s
  return ' '.repeat(fill) + s
}

export function formatValue (v: GoValue, verb: string, f: Flags): string {
  if (verb === 'T') return pad(goTypeName(v), f)
  if (v === undefined || v === null) return verb === 'v' ? pad('<nil>', f) : badVerb(v, verb)
  if (typeof v === 'boolean') return verb === 't' || verb === 'v' ? pad(v ? 'true' : 'false', f) : badVerb(v, verb)
  if (typeof v === 'bigint') return formatInteger(v, verb, f, false) ?? badVerb(v, verb)
  if (v instanceof GoUint8) return formatInteger(BigInt(v.v), verb, f, true) ?? badVerb(v, verb)
  if (typeof v === 'number') return formatFloat(v, verb, f) ?? badVerb(v, verb)
  if (typeof v === 'string') return formatString(v, verb, f) ?? badVerb(v, verb)
  if (v instanceof GoStringMap) {
    const parts = v.sortedKeys().map(k => `${formatValue(k, verb, f)}:${formatValue(v.entries.get(k)!, verb, f)}`)
    return `map[${parts.join(' ')}]`
  }
  return badVerb(v, verb)
}

function formatInteger (n: bigint, verb: string, f: Flags, unsigned: boolean): string | null {
  switch (verb) {
    case 'v': case 'd': return fmtInt(n, 10, f, '', false)
    case 'b': return fmtInt(n, 2, f, f.sharp ? '0b' : '', false)
    case 'o': return fmtInt(n, 8, f, f.sharp ? '0' : '', false)
    case 'O': return fmtInt(n, 8, f, '0o', false)
    case 'x': return fmtInt(n, 16, f, f.sharp ? '0x' : '', false)
    case 'X': return fmtInt(n, 16, f, f.sharp ? '0X' : '', true)
    case 'c': return pad(runeString(n), f)
    case 'q': return pad(quoteRune(n, f.plus), f)
    case 'U': {
      let s = 'U+' + (n < 0n ? (-n).toString(16) : n.toString(16)).toUpperCase().padStart(4, '0')
      if (f.sharp && n >= 0n && n <= 0x10ffffn && isGoPrint(Number(n))) s += ` '${String.fromCodePoint(Number(n))}'`
      return pad(s, f)
    }
  }
  void unsigned
  return null
}

function fmtInt (n: bigint, base: number, f: Flags, prefix: string, upper: boolean): string {
  const neg = n < 0n
  let digits = (neg ? -n : n).toString(base)
  if (upper) digits = digits.toUpperCase()
  let prec = f.prec
  if (prec === null && f.zero && !f.minus && f.width !== null) {
    prec = f.width
    if (neg || f.plus || f.space) prec-- // leave room for the sign
    prec -= prefix.length
  }
  if (prec !== null) {
    if (prec === 0 && n === 0n) digits = ''
    else if (digits.length < prec) digits = '0'.repeat(prec - digits.length) + digits
  }
  const sign = neg ? '-' : f.plus ? '+' : f.space ? ' ' : ''
  return pad(sign + prefix + digits, { ...f, zero: false })
}

function runeString (n: bigint): string {
  const cp = Number(n)
  if (n < 0n || n > 0x10ffffn || (cp >= 0xd800 && cp <= 0xdfff)) return '\ufffd'
  return String.fromCodePoint(cp)
}

function quoteRune (n: bigint, ascii: boolean): string {
  const cp = n < 0n || n > 0x10ffffn || (Number(n) >= 0xd800 && Number(n) <= 0xdfff) ? 0xfffd : Number(n)
  if (cp === 0x27) return '\'\\\'\''
  if (cp === 0x22) return '\'"\''
  return `'${quoteRuneBody(cp, '\'', ascii)}'`
}

function formatString (s: string, verb: string, f: Flags): string | null {
  switch (verb) {
    case 'v': case 's': {
      const t = f.prec !== null ? [...s].slice(0, f.prec).join('') : s
      return pad(t, f)
    }
    case 'q': {
      const t = f.prec !== null ? [...s].slice(0, f.prec).join('') : s
      if (f.sharp && canBackquote(t)) return pad('`' + t + '`', f)
      return pad(goQuote(t, f.plus), f)
    }
    case 'x': case 'X': {
      let bytes = [...Buffer.from(s, 'utf8')]
      if (f.prec !== null) bytes = bytes.slice(0, f.prec)
      const hexes = bytes.map(b => {
        const h = b.toString(16).padStart(2, '0')
        return verb === 'X' ? h.toUpperCase() : h
      })
      const prefix = f.sharp ? (verb === 'X' ? '0X' : '0x') : ''
      const out = f.space ? hexes.map(h => prefix + h).join(' ') : prefix + hexes.join('')
      return pad(out, f)
    }
  }
  return null
}

function canBackquote (s: string): boolean {
  for (const ch of s) {
    const cp = ch.codePointAt(0)!
    if (ch === '`' || cp === 0xfeff) return false
    if ((cp < 0x20 && ch !== '\t') || cp === 0x7f) return false
  }
  return true
}

function quoteRuneBody (cp: number, quote: string, ascii: boolean): string {
  const ch = String.fromCodePoint(cp)
  if (ch === quote || ch === '\\') return '\\' + ch
  if (ascii ? cp < 0x80 && isGoPrint(cp) : isGoPrint(cp)) return ch
  switch (cp) {
    case 7: return '\\a'
    case 8: return '\\b'
    case 12: return '\\f'
    case 10: return '\\n'
    case 13: return '\\r'
    case 9: return '\\t'
    case 11: return '\\v'
  }
  if (cp < 0x20 || cp === 0x7f) return '\\x' + cp.toString(16).padStart(2, '0')
  if (cp < 0x10000) return '\\u' + cp.toString(16).padStart(4, '0')
  return '\\U' + cp.toString(16).padStart(8, '0')
}

/** strconv.Quote (or QuoteToASCII with ascii set). Lone surrogates count as invalid bytes (\ufffd). */
export function goQuote (s: string, ascii = false): string {
  let out = '"'
  for (const ch of s) {
    let cp = ch.codePointAt(0)!
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd
    out += quoteRuneBody(cp, '"', ascii)
  }
  return out + '"'
}

// Floats only arise from constants in a template; %v, %g, %e, %f and their upper-case forms follow
// strconv's rules (shortest digits for %v, exponent with at least two digits).
function formatFloat (x: number, verb: string, f: Flags): string | null {
  let body: string
  const neg = x < 0 || Object.is(x, -0)
  const a = Math.abs(x)
  if (!Number.isFinite(x)) {
    body = Number.isNaN(x) ? 'NaN' : 'Inf'
  } else {
    switch (verb) {
      case 'v': case 'g': case 'G': body = fmtG(a, f.prec, verb === 'G'); break
      case 'e': case 'E': body = fmtE(a, f.prec ?? 6, verb === 'E'); break
      case 'f': case 'F': body = a.toFixed(f.prec ?? 6); break
      default: return null
    }
  }
  const sign = neg && !Number.isNaN(x) ? '-' : f.plus ? '+' : f.space ? ' ' : ''
  if (f.zero && !f.minus && f.width !== null && Number.isFinite(x)) {
    const fill = f.width - sign.length - body.length
    return sign + (fill > 0 ? '0'.repeat(fill) : '') + body
  }
  return pad(sign + body, { ...f, zero: false })
}

function expString (e: number): string {
  const s = String(Math.abs(e)).padStart(2, '0')
  return (e < 0 ? '-' : '+') + s
}

function fmtE (a: number, prec: number, upper: boolean): string {
  const [m, e] = a.toExponential(prec).split('e') as [string, string]
  return m + (upper ? 'E' : 'e') + expString(Number(e))
}

function fmtG (a: number, prec: number | null, upper: boolean): string {
  // Decimal digits and the position of the decimal point, as strconv's decimal type holds them.
  const shortest = prec === null
  const p = prec === null ? undefined : Math.max(prec, 1)
  const [mant, expStr] = (p === undefined ? a.toExponential() : a.toExponential(p - 1)).split('e') as [string, string]
  let digits = mant.replace('.', '')
  if (a === 0) digits = '0'
  digits = digits.replace(/0+$/, '') || '0'
  const nd = a === 0 ? 0 : digits.length
  const dp = a === 0 ? 0 : Number(expStr) + 1
  let eprec = shortest ? nd : p!
  if (!shortest && eprec > nd && nd >= dp) eprec = nd
  if (shortest) eprec = 6
  const exp = dp - 1
  let pr = shortest ? nd : p!
  if (a !== 0 && (exp < -4 || exp >= eprec)) {
    if (pr > nd) pr = nd
    const d = digits.padEnd(Math.max(pr, 1), '0')
    const m = pr - 1 > 0 ? `${d[0]}.${d.slice(1, pr)}` : d[0]!
    return m + (upper ? 'E' : 'e') + expString(exp)
  }
  if (pr > dp) pr = nd
  const decimals = Math.max(pr - dp, 0)
  return a.toFixed(Math.min(decimals, 100))
}
