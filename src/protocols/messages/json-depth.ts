/**
 * How deep JSON text nests, read without parsing it. A peer's frame nested some thousands deep
 * parses, and then overflows the stack of whatever walks it (canonical JSON, the schemas), with a
 * RangeError that no caller expects; no message of ours nests more than a few levels. So a frame
 * is measured before it is parsed, in one pass over its characters.
 */

/** The deepest any wire value of ours may nest: an envelope's message's lists, in a frame's attachments. */
export const MAX_WIRE_DEPTH = 16

/** Whether the JSON text nests arrays and objects deeper than `limit` (strings are skipped whole). */
export function nestsDeeperThan (text: string, limit: number): boolean {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c) i++ // a backslash: the next character is escaped
      else if (c === 0x22) inString = false
    } else if (c === 0x22) {
      inString = true
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true
    } else if (c === 0x7d || c === 0x5d) {
      depth--
    }
  }
  return false
}
