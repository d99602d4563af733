// The Go values a Lilypad template can meet, and their Go type names.
//
// The data is a map[string]string, so a template only ever sees: that map, strings, Go ints (bigint),
// float64 constants (number), bools, bytes from `index` on a string (GoUint8), and two kinds of
// nothing: `undefined` is Go's invalid reflect.Value (what a missing map key gives) and `null` is a
// nil interface{} handed to a function.

export class GoUint8 {
  constructor (readonly v: number) {}
}

export class GoStringMap {
  readonly entries: Map<string, string>
  constructor (entries: Iterable<[string, string]>) {
    this.entries = new Map(entries)
  }

  /** Keys in Go's sort order for strings (bytewise), as fmt and range use. */
  sortedKeys (): string[] {
    return [...this.entries.keys()].sort(compareGoStrings)
  }
}

export type GoValue = string | bigint | number | boolean | GoUint8 | GoStringMap | null | undefined

export function compareGoStrings (a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}

export function goTypeName (v: GoValue): string {
  if (v === undefined || v === null) return '<nil>'
  switch (typeof v) {
    case 'string': return 'string'
    case 'bigint': return 'int'
    case 'number': return 'float64'
    case 'boolean': return 'bool'
  }
  if (v instanceof GoUint8) return 'uint8'
  return 'map[string]string'
}

/** Go's isTrue: the truth of a value in if, with, and, or, not. */
export function isTrue (v: GoValue): boolean {
  if (v === undefined || v === null) return false
  switch (typeof v) {
    case 'string': return v.length > 0
    case 'bigint': return v !== 0n
    case 'number': return v !== 0
    case 'boolean': return v
  }
  if (v instanceof GoUint8) return v.v !== 0
  return v.entries.size > 0
}

/** Length in bytes, as Go's len of a string. */
export function goStringLen (s: string): number {
  return Buffer.byteLength(s, 'utf8')
}
