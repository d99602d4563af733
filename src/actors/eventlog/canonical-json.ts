/**
 * Canonical JSON as RFC 8785 (JCS) defines it for the values a log holds: object keys sorted by
 * UTF-16 code units, no whitespace, numbers and strings as ECMAScript serialises them.
 * (The `canonicalize` package does the same but its current line needs Node 22.)
 */
export function canonicalJson (value: unknown): string {
  switch (typeof value) {
    case 'string':
      return quote(value)
    case 'boolean':
      return value ? 'true' : 'false'
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`cannot encode ${value} as JSON`)
      // what JSON.stringify writes for a finite number, -0 included
      return String(value)
    case 'object': {
      if (value === null) return 'null'
      if (Array.isArray(value)) {
        let text = '['
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i]
          text += (i === 0 ? '' : ',') + (item === undefined ? 'null' : canonicalJson(item))
        }
        return text + ']'
      }
      const record = value as Record<string, unknown>
      const keys = Object.keys(record).sort()
      let text = '{'
      let first = true
      for (const key of keys) {
        const item = record[key]
        if (item === undefined || typeof item === 'function') continue
        text += (first ? '' : ',') + quote(key) + ':' + canonicalJson(item)
        first = false
      }
      return text + '}'
    }
    default:
      throw new TypeError(`cannot encode a ${typeof value} as JSON`)
  }
}

// the characters JSON.stringify escapes: controls, quote, backslash, and surrogates (it escapes
// lone ones; a string with a pair goes the slow way too)
// eslint-disable-next-line no-control-regex
const ESCAPED = /[\u0000-\u001f"\\\ud800-\udfff]/

/** JSON.stringify of a string, without calling it for the many strings that need no escape. */
function quote (text: string): string {
  return ESCAPED.test(text) ? JSON.stringify(text) : `"${text}"`
}
