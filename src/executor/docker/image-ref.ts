/**
 * Docker image references as a job names them: `name[:tag]`, `name@sha256:<digest>` or a local
 * `sha256:<image id>`. A tag can move; a digest cannot, so a tag is pinned once, when the job is
 * offered, and every party runs the digest.
 */
const DIGEST = /^sha256:[0-9a-f]{64}$/

export interface ImageRef {
  /** the repository, with its registry if named: `127.0.0.1:5000/cowsay`, `richbrem/cowsay` */
  name: string
  /** the tag (`latest` when none is named), or null for a digest or an image id */
  tag: string | null
  digest: string | null
}

export function parseImageRef (ref: string): ImageRef {
  if (DIGEST.test(ref)) return { name: '', tag: null, digest: ref }
  const at = ref.indexOf('@')
  if (at >= 0) return { name: ref.slice(0, at), tag: null, digest: ref.slice(at + 1) }
  const colon = ref.lastIndexOf(':')
  // a colon before the last slash is a registry's port, not a tag
  if (colon > ref.lastIndexOf('/')) return { name: ref.slice(0, colon), tag: ref.slice(colon + 1), digest: null }
  return { name: ref, tag: 'latest', digest: null }
}

/** The registry a repository lives in: its first part when that names a host, else Docker Hub. */
export function registryOf (name: string): string {
  const first = name.split('/')[0] ?? ''
  return name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost') ? first : 'docker.io'
}

/**
 * The image a job runs: the spec's own when it is pinned; otherwise the offer's pin of the spec's
 * tag, which must name the same repository. Returns a reason instead when neither holds.
 */
export function pinnedImage (specImage: string, offered: string): { image: string } | { refused: string } {
  const spec = parseImageRef(specImage)
  if (spec.digest !== null) {
    return offered === '' || offered === specImage ? { image: specImage } : { refused: `the offer pins ${offered}, and the spec names ${specImage}` }
  }
  if (offered === '') return { refused: `image ${JSON.stringify(specImage)} is named by a tag, and the offer pins no digest for it` }
  const pin = parseImageRef(offered)
  if (pin.digest === null || !DIGEST.test(pin.digest) || pin.name !== spec.name) {
    return { refused: `the offer pins ${offered}, which is not ${spec.name} by digest` }
  }
  return { image: offered }
}
