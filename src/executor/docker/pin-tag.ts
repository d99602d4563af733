import type Docker from 'dockerode'
import { ExecutionError } from '../results/execution.ts'
import { parseImageRef } from './image-ref.ts'

const DIGEST = /^sha256:[0-9a-f]{64}$/

/**
 * Pins an image named by a tag to the digest its registry serves for that tag now, without pulling
 * it (the engine asks the registry, with the engine's own credentials). A pinned reference comes
 * back as it is.
 */
export async function pinImageTag (docker: Docker, ref: string): Promise<string> {
  const { name, tag, digest } = parseImageRef(ref)
  if (digest !== null) return ref
  let found: string | undefined
  try {
    const info = await docker.getImage(`${name}:${tag}`).distribution() as { Descriptor?: { digest?: string } }
    found = info.Descriptor?.digest
  } catch (err) {
    const why = String((err as Error)?.message ?? err).split('\n')[0]
    throw new ExecutionError('IMAGE_NOT_FOUND', `cannot pin image ${ref} to a digest: its registry did not answer for tag ${tag} (${why})`, { cause: err })
  }
  if (found === undefined || !DIGEST.test(found)) throw new ExecutionError('IMAGE_NOT_FOUND', `cannot pin image ${ref} to a digest: its registry gave none`)
  return `${name}@${found}`
}
