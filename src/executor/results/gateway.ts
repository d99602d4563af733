/**
 * Results over HTTP, in the trustless-gateway style: a results block by CID (`GET /ipfs/<cid>?format=raw`),
 * which any client verifies by hashing it, and for people and tools a file of a results folder by
 * path (`GET /ipfs/<cid>/stdout`), streamed, with byte ranges. Only blocks this node holds are
 * served; nothing is fetched on a request's behalf.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { exporter } from 'ipfs-unixfs-exporter'
import type { Blockstore } from 'interface-blockstore'
import { CID } from 'multiformats/cid'

export const RAW_BLOCK = 'application/vnd.ipld.raw'

/** Answers `/ipfs/...` requests from `blockstore`; returns false for any other path. */
export function resultsGateway (blockstore: Pick<Blockstore, 'get' | 'has'>): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://gateway')
    if (!url.pathname.startsWith('/ipfs/')) return false
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, 'only GET and HEAD')
    const [first, ...rest] = url.pathname.slice('/ipfs/'.length).split('/').filter(p => p !== '').map(decodeURIComponent)
    let cid: CID
    try {
      cid = CID.parse(first ?? '')
    } catch {
      return reply(res, 400, `not a CID: ${JSON.stringify(first ?? '')}`)
    }
    const raw = url.searchParams.get('format') === 'raw' || (req.headers.accept ?? '').includes(RAW_BLOCK)
    if (raw && rest.length === 0) return await serveBlock(blockstore, cid, req, res)
    return await serveFile(blockstore, cid, rest, req, res)
  }
}

async function serveBlock (blockstore: Pick<Blockstore, 'get' | 'has'>, cid: CID, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  if (!await blockstore.has(cid)) return reply(res, 404, `block ${cid} is not held here`)
  const chunks: Uint8Array[] = []
  for await (const chunk of blockstore.get(cid)) chunks.push(chunk)
  const block = Buffer.concat(chunks)
  res.writeHead(200, { 'content-type': RAW_BLOCK, 'content-length': block.length, 'cache-control': 'public, max-age=29030400, immutable', etag: `"${cid}.raw"` })
  res.end(req.method === 'HEAD' ? undefined : block)
  return true
}

async function serveFile (blockstore: Pick<Blockstore, 'get' | 'has'>, root: CID, path: string[], req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  // offline: a block this node does not hold ends the lookup instead of waiting for the network
  const local: Pick<Blockstore, 'get'> = {
    get: async function * (cid, options) {
      if (!await blockstore.has(cid)) throw Object.assign(new Error(`block ${cid} is not held here`), { name: 'NotFoundError' })
      yield * blockstore.get(cid, options)
    }
  }
  let entry
  try {
    entry = await exporter([root.toString(), ...path].join('/'), local as Blockstore)
  } catch (err) {
    return reply(res, 404, `${['/ipfs', root.toString(), ...path].join('/')}: ${(err as Error).message}`)
  }
  if (entry.type === 'directory') {
    const names: string[] = []
    for await (const child of entry.entries()) names.push(child.name)
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(req.method === 'HEAD' ? undefined : JSON.stringify({ cid: entry.cid.toString(), entries: names }) + '\n')
    return true
  }
  if (entry.type !== 'file' && entry.type !== 'raw' && entry.type !== 'identity') return reply(res, 400, `a ${entry.type} entry is not a file`)
  const size = Number(entry.size)
  const range = byteRange(req.headers.range, size)
  if (range === 'unsatisfiable') {
    res.writeHead(416, { 'content-range': `bytes */${size}` })
    res.end()
    return true
  }
  const { start, end } = range ?? { start: 0, end: size - 1 }
  const headers: Record<string, string | number> = {
    'content-type': 'application/octet-stream', 'accept-ranges': 'bytes', 'content-length': Math.max(0, end - start + 1),
    etag: `"${entry.cid}"`, 'x-ipfs-path': ['/ipfs', root.toString(), ...path].join('/')
  }
  if (range !== null) headers['content-range'] = `bytes ${start}-${end}/${size}`
  res.writeHead(range === null ? 200 : 206, headers)
  if (req.method === 'HEAD' || size === 0) { res.end(); return true }
  await pipeline(Readable.from(entry.content({ offset: start, length: end - start + 1 })), res)
  return true
}

/** One `bytes=a-b`, `bytes=a-` or `bytes=-n` range; null for none (or several: the whole file is sent). */
export function byteRange (header: string | undefined, size: number): { start: number, end: number } | null | 'unsatisfiable' {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header?.trim() ?? '')
  if (m === null || (m[1] === '' && m[2] === '')) return null
  if (m[1] === '') {
    const suffix = Number(m[2])
    if (suffix === 0) return 'unsatisfiable'
    return { start: Math.max(0, size - suffix), end: size - 1 }
  }
  const start = Number(m[1])
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1)
  if (start >= size || end < start) return 'unsatisfiable'
  return { start, end }
}

function reply (res: ServerResponse, status: number, error: string): true {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ error }) + '\n')
  return true
}
