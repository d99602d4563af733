// Go's encoding/json where Lilypad's renderer uses it: json.Marshal of one string (each input), and
// the syntax check of json.Unmarshal (its scanner), with Go's error wording and byte offsets.
import { goQuote } from './fmt.ts'

const hex = '0123456789abcdef'

/**
 * json.Marshal(s) for a Go string: quotes, backslash and \b \f \n \r \t short escapes, other control
 * bytes as \u00XX, and (HTML-safe by default) <, >, & as \u003c, \u003e, \u0026; U+2028 and U+2029 as
 * \u2028 and \u2029; text that is not valid Unicode (a lone surrogate here) as \ufffd.
 */
export function marshalGoString (s: string): string {
  let out = '"'
  for (const ch of s) {
    const cp = ch.codePointAt(0)!
    switch (ch) {
      case '"': out += '\\"'; continue
      case '\\': out += '\\\\'; continue
      case '\b': out += '\\b'; continue
      case '\f': out += '\\f'; continue
      case '\n': out += '\\n'; continue
      case '\r': out += '\\r'; continue
      case '\t': out += '\\t'; continue
      case '<': case '>': case '&':
        out += '\\u00' + hex[cp >> 4] + hex[cp & 0xf]
        continue
      case '\u2028': out += '\\u2028'; continue
      case '\u2029': out += '\\u2029'; continue
    }
    if (cp < 0x20) {
      out += '\\u00' + hex[cp >> 4] + hex[cp & 0xf]
      continue
    }
    if (cp >= 0xd800 && cp <= 0xdfff) {
      out += '\\ufffd'
      continue
    }
    out += ch
  }
  return out + '"'
}

export interface GoJsonSyntaxError {
  message: string
  /** Go's SyntaxError.Offset: the number of bytes read when the error was found. */
  offset: number
}

function quoteChar (c: number): string {
  if (c === 0x27) return '\'\\\'\''
  if (c === 0x22) return '\'"\''
  const q = goQuote(String.fromCharCode(c))
  return `'${q.slice(1, -1)}'`
}

type Step = (c: number) => 'ok' | 'error'

const isSpaceByte = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d

/** Go's json scanner (checkValid): null when `data` is one valid JSON value. */
export function checkGoJson (data: Uint8Array): GoJsonSyntaxError | null {
  const stack: Array<'object-key' | 'object-value' | 'array-value'> = []
  let err: GoJsonSyntaxError | null = null
  let bytes = 0
  let endTop = false
  let step: Step

  const fail = (c: number, context: string): 'error' => {
    err = { message: `invalid character ${quoteChar(c)} ${context}`, offset: bytes }
    step = () => 'error'
    return 'error'
  }

  const beginValueOrEmpty: Step = c => {
    if (isSpaceByte(c)) return 'ok'
    if (c === 0x5d) return endValue(c)
    return beginValue(c)
  }

  const beginValue: Step = c => {
    if (isSpaceByte(c)) return 'ok'
    switch (c) {
      case 0x7b: step = beginStringOrEmpty; stack.push('object-key'); return 'ok'
      case 0x5b: step = beginValueOrEmpty; stack.push('array-value'); return 'ok'
      case 0x22: step = inString; return 'ok'
      case 0x2d: step = neg; return 'ok'
      case 0x30: step = zero; return 'ok'
      case 0x74: step = literal('true', 1); return 'ok'
      case 0x66: step = literal('false', 1); return 'ok'
      case 0x6e: step = literal('null', 1); return 'ok'
    }
    if (c >= 0x31 && c <= 0x39) { step = digits; return 'ok' }
    return fail(c, 'looking for beginning of value')
  }

  const beginStringOrEmpty: Step = c => {
    if (isSpaceByte(c)) return 'ok'
    if (c === 0x7d) {
      stack[stack.length - 1] = 'object-value'
      return endValue(c)
    }
    return beginString(c)
  }

  const beginString: Step = c => {
    if (isSpaceByte(c)) return 'ok'
    if (c === 0x22) { step = inString; return 'ok' }
    return fail(c, 'looking for beginning of object key string')
  }

  const endValue: Step = c => {
    const n = stack.length
    if (n === 0) {
      step = endTopStep
      endTop = true
      return endTopStep(c)
    }
    if (isSpaceByte(c)) { step = endValue; return 'ok' }
    const ps = stack[n - 1]
    if (ps === 'object-key') {
      if (c === 0x3a) { stack[n - 1] = 'object-value'; step = beginValue; return 'ok' }
      return fail(c, 'after object key')
    }
    if (ps === 'object-value') {
      if (c === 0x2c) { stack[n - 1] = 'object-key'; step = beginString; return 'ok' }
      if (c === 0x7d) { stack.pop(); return popped() }
      return fail(c, 'after object key:value pair')
    }
    if (c === 0x2c) { step = beginValue; return 'ok' }
    if (c === 0x5d) { stack.pop(); return popped() }
    return fail(c, 'after array element')
  }

  const popped = (): 'ok' => {
    if (stack.length === 0) { step = endTopStep; endTop = true } else step = endValue
    return 'ok'
  }

  const endTopStep: Step = c => {
    if (!isSpaceByte(c)) return fail(c, 'after top-level value')
    return 'ok'
  }

  const inString: Step = c => {
    if (c === 0x22) { step = endValue; return 'ok' }
    if (c === 0x5c) { step = inStringEsc; return 'ok' }
    if (c < 0x20) return fail(c, 'in string literal')
    return 'ok'
  }

  const inStringEsc: Step = c => {
    if ([0x62, 0x66, 0x6e, 0x72, 0x74, 0x5c, 0x2f, 0x22].includes(c)) { step = inString; return 'ok' }
    if (c === 0x75) { step = hexDigit(4); return 'ok' }
    return fail(c, 'in string escape code')
  }

  const hexDigit = (left: number): Step => c => {
    const isHex = (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46)
    if (!isHex) return fail(c, 'in \\u hexadecimal character escape')
    step = left === 1 ? inString : hexDigit(left - 1)
    return 'ok'
  }

  const neg: Step = c => {
    if (c === 0x30) { step = zero; return 'ok' }
    if (c >= 0x31 && c <= 0x39) { step = digits; return 'ok' }
    return fail(c, 'in numeric literal')
  }

  const digits: Step = c => {
    if (c >= 0x30 && c <= 0x39) return 'ok'
    return zero(c)
  }

  const zero: Step = c => {
    if (c === 0x2e) { step = dot; return 'ok' }
    if (c === 0x65 || c === 0x45) { step = expSign; return 'ok' }
    return endValue(c)
  }

  const dot: Step = c => {
    if (c >= 0x30 && c <= 0x39) { step = dot0; return 'ok' }
    return fail(c, 'after decimal point in numeric literal')
  }

  const dot0: Step = c => {
    if (c >= 0x30 && c <= 0x39) return 'ok'
    if (c === 0x65 || c === 0x45) { step = expSign; return 'ok' }
    return endValue(c)
  }

  const expSign: Step = c => {
    if (c === 0x2b || c === 0x2d) { step = exp; return 'ok' }
    return exp(c)
  }

  const exp: Step = c => {
    if (c >= 0x30 && c <= 0x39) { step = exp0; return 'ok' }
    return fail(c, 'in exponent of numeric literal')
  }

  const exp0: Step = c => {
    if (c >= 0x30 && c <= 0x39) return 'ok'
    return endValue(c)
  }

  const literal = (word: string, at: number): Step => c => {
    if (c !== word.charCodeAt(at)) return fail(c, `in literal ${word} (expecting '${word[at]}')`)
    step = at === word.length - 1 ? endValue : literal(word, at + 1)
    return 'ok'
  }

  step = beginValue
  for (const c of data) {
    bytes++
    if (step(c) === 'error') return err
  }
  // eof, as Go's scanner: a value still open (a number, say) may be completed by a final space.
  if (endTop) return null
  step(0x20)
  if (endTop) return null
  return err ?? { message: 'unexpected end of JSON input', offset: bytes }
}
