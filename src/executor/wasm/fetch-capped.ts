import { ExecutionError } from '../results/execution.ts'

export interface FetchCappedOptions {
  maxBytes: number
  /** URL schemes allowed, without the colon */
  schemes: readonly string[]
  timeoutMs: number
}

/** The body at `url`, read no further than `maxBytes`; redirects are not followed. */
export async function fetchCapped (url: string, options: FetchCappedOptions): Promise<Uint8Array> {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new ExecutionError('BAD_JOB_SPEC', `the entry module URL ${JSON.stringify(url)} is not a URL`)
  }
  const scheme = parsed.protocol.replace(/:$/, '')
  if (!options.schemes.includes(scheme)) {
    throw new ExecutionError('BAD_JOB_SPEC', `the entry module URL ${url} is ${scheme}; entry modules are fetched only by ${options.schemes.join(', ')}`)
  }
  let response: Response
  try {
    response = await fetch(parsed, { redirect: 'error', signal: AbortSignal.timeout(options.timeoutMs) })
  } catch (err) {
    throw new ExecutionError('WASM_MODULE_NOT_FOUND', `cannot fetch the entry module at ${url}: ${(err as Error).message}`)
  }
  if (!response.ok || response.body === null) {
    await response.body?.cancel()
    throw new ExecutionError('WASM_MODULE_NOT_FOUND', `cannot fetch the entry module at ${url}: HTTP ${response.status}`)
  }
  const chunks: Uint8Array[] = []
  let total = 0
  const reader = response.body.getReader()
  for (;;) {
    let chunk: Awaited<ReturnType<typeof reader.read>>
    try {
      chunk = await reader.read()
    } catch (err) {
      throw new ExecutionError('WASM_MODULE_NOT_FOUND', `cannot fetch the entry module at ${url}: ${(err as Error).message}`)
    }
    if (chunk.done) break
    total += chunk.value.length
    if (total > options.maxBytes) {
      await reader.cancel()
      throw new ExecutionError('WASM_MODULE_NOT_FOUND', `the entry module at ${url} is larger than the ${options.maxBytes}-byte limit`)
    }
    chunks.push(chunk.value)
  }
  return new Uint8Array(Buffer.concat(chunks))
}
