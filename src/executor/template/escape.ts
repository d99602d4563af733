// The escapers behind text/template's js, html and urlquery functions.
import { isGoPrint } from './fmt.ts'

/** template.JSEscapeString (Go 1.23): \ ' " < > & = escaped; other controls and non-printing runes as \uXXXX. */
export function jsEscape (s: string): string {
  let out = ''
  for (const ch of s) {
    let cp = ch.codePointAt(0)!
    switch (ch) {
      case '\\': out += '\\\\'; continue
      case '\'': out += '\\\''; continue
      case '"': out += '\\"'; continue
      case '<': out += '\\u003C'; continue
      case '>': out += '\\u003E'; continue
      case '&': out += '\\u0026'; continue
      case '=': out += '\\u003D'; continue
    }
    if (cp < 0x20) {
      out += '\\u00' + cp.toString(16).toUpperCase().padStart(2, '0')
      continue
    }
    if (cp < 0x80) {
      out += ch
      continue
    }
    // A lone surrogate stands for bytes that are not UTF-8: Go decodes them as U+FFFD, which prints.
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd
    out += isGoPrint(cp) ? String.fromCodePoint(cp) : '\\u' + cp.toString(16).toUpperCase().padStart(4, '0')
  }
  return out
}

/** template.HTMLEscapeString. */
export function htmlEscape (s: string): string {
  let out = ''
  for (const ch of s) {
    switch (ch) {
      case '"': out += '&#34;'; break
      case '\'': out += '&#39;'; break
      case '&': out += '&amp;'; break
      case '<': out += '&lt;'; break
      case '>': out += '&gt;'; break
      case '\0': out += '\uFFFD'; break
      default: out += ch
    }
  }
  return out
}

/** url.QueryEscape: unreserved bytes kept, space as '+', everything else %XX per UTF-8 byte. */
export function urlQueryEscape (s: string): string {
  let out = ''
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b)
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c
    else if (c === ' ') out += '+'
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0')
  }
  return out
}
