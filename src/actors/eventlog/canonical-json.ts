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
      if (Array.isArray(value)) return `[${value.map(item => item === undefined ? 'null' : canonicalJson(item)).join(',')}]`
      const record = value as Record<string, unknown>
      const members: string[] = []
      for (const key of Object.keys(record).sort()) {
        const item = record[key]
        if (item === undefined || typeof item === 'function') continue
        members.push(`${JSON.stringify(key)}:${canonicalJson(item)}`)
      }
      return `{${members.join(',')}}`
    }
    default:
      throw new TypeError(`cannot encode a ${typeof value} as JSON`)
  }
}
