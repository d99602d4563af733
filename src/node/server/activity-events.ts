import type { Server, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { dealRow, dealRows } from './deal-rows.ts'
import type { ApiContext } from './routes.ts'

const TICK_MS = 1000
/** A comment line every this many ticks keeps proxies and idle timers from closing a quiet stream. */
const KEEPALIVE_TICKS = 15

/**
 * `GET /activity`: server-sent events, first `snapshot` (the deals now), then `activity` for each
 * deal state change (with the deal's row as it is now) and each effect's start and end, as they
 * happen, until the reader goes.
 */
export function streamActivity (res: ServerResponse, api: ApiContext): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' })
  const send = (event: string, data: unknown): void => { res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`) }
  send('snapshot', { at: Date.now(), deals: dealRows(api) })
  const stop = api.activity.subscribe((activity) => {
    // a listener runs inside the node's machines' change: a failure here ends this stream, never them
    try {
      if (activity.kind !== 'deal') return send('activity', activity)
      const { role, jobOfferId, dealId, to: state, resultsCid } = activity
      send('activity', { ...activity, row: dealRow(api.node.host.runtime, { role, jobOfferId, dealId, state, resultsCid }, activity.stream) })
    } catch {
      res.destroy()
    }
  })
  const server = serverOf(res)
  let ticks = 0
  const timer = setInterval(() => {
    // a server's close() waits for every connection to go, and this one never would: it is cut
    // once the server stops listening (ended, it would idle on for the keep-alive timeout)
    if (server?.listening === false) {
      res.destroy()
      return
    }
    if (++ticks % KEEPALIVE_TICKS === 0) res.write(': keepalive\n\n')
  }, TICK_MS)
  timer.unref()
  res.once('close', () => {
    stop()
    clearInterval(timer)
  })
}

function serverOf (res: ServerResponse): Server | undefined {
  return (res.socket as (Socket & { server?: Server }) | null)?.server
}
