/**
 * Canonical JSON as RFC 8785 (JCS) defines it for the values a log holds: object keys sorted by
 * UTF-16 code units, no whitespace, numbers and strings as ECMAScript serialises them.
 * (The `canonicalize` package does the same but its current line needs Node 22.)
 */
export function canonicalJson (value: unknown): string {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value)
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`cannot encode ${value} as JSON`)
      return JSON.stringify(value)
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
        text += (first ? '' : ',') + JSON.stringify(key) + ':' + canonicalJson(item)
        first = false
      }
      return text + '}'
    }
    default:
      throw new TypeError(`cannot encode a ${typeof value} as JSON`)
  }
}
