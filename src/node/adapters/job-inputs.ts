import { createHash } from 'node:crypto'
import { mkdir, rm } from 'node:fs/promises'
import { join, posix } from 'node:path'
import type { Blockstore } from 'interface-blockstore'
import { exporter } from 'ipfs-unixfs-exporter'
import type { ResultsFetcher } from '../../actors/roles/effects/results.ts'
import type { DockerInput } from '../../executor/docker/job.ts'
import type { JobSpec } from '../../executor/modules/model.ts'
import { parseCid } from '../../executor/results/cid.ts'
import { RunFailure } from '../../executor/results/failed-run.ts'
import type { JobOffer } from '../../protocols/messages/schemas.ts'
import { downloadUrl, fileNameOf, UrlDownloadError } from './url-download.ts'

/** Where the data a job offer names itself (`lilypad run --inputs-path`) is mounted. */
export const OFFERED_INPUTS_PATH = '/inputs'

/** Paths an input may not take: the job's outputs and scratch space, and what the engine mounts itself. */
const RESERVED = ['/outputs', '/tmp', '/proc', '/sys', '/dev']

export interface JobInput {
  cid: string
  /** absolute path in the container */
  target: string
  /** the URL a pinned input was downloaded from: fetched again from there when no peer has its CID */
  url?: string
}

/** How a node brings input data: fetched by CID into a folder it names, verified, its blocks kept. */
export interface InputsSource {
  fetcher: ResultsFetcher
  /** the folder a fetch under `name` exports into */
  dirOf: (name: string) => string
  blockstore: Pick<Blockstore, 'get'>
  /** keeps a folder in the blockstore and names its CID (for a URL input downloaded here) */
  add?: (dir: string) => Promise<{ toString: () => string }>
}

/**
 * The input data a job mounts: each `Spec.Inputs` entry at its path (one named by URL as the CID the
 * job offer pins for it: a folder holding the download), and the job offer's own `inputsCid` at
 * /inputs. Every party mounts the same bytes; an input with no CID, or at a path it cannot have,
 * makes the job invalid (the same on every machine).
 */
export function jobInputs (job: Pick<JobOffer, 'inputsCid' | 'urlPins'>, spec: Pick<JobSpec, 'inputs'>): JobInput[] {
  const pins = urlPinsOf(job.urlPins)
  const inputs: JobInput[] = spec.inputs.map(s => {
    if (s.cid !== '') return { cid: s.cid, target: s.path }
    if (s.url === '') throw new RunFailure('ERR_INPUTS_INVALID', `the input at ${s.path || '(no path)'} names neither a CID nor a URL`)
    const pinned = pins[s.url]
    if (pinned === undefined) {
      throw new RunFailure('ERR_INPUTS_INVALID', `the input at ${s.path || '(no path)'} is named by URL (${s.url}), and the job offer pins no content for it: every party must mount the same bytes`)
    }
    return { cid: pinned, target: s.path, url: s.url }
  })
  if (job.inputsCid !== '') inputs.push({ cid: job.inputsCid, target: OFFERED_INPUTS_PATH })
  for (const input of inputs) {
    try {
      parseCid(input.cid)
    } catch {
      throw new RunFailure('ERR_INPUTS_INVALID', `input ${JSON.stringify(input.cid)} is not a CID`)
    }
    const why = targetProblem(input.target, inputs.filter(i => i !== input).map(i => i.target))
    if (why !== null) throw new RunFailure('ERR_INPUTS_INVALID', `input ${input.cid} cannot be mounted at ${JSON.stringify(input.target)}: ${why}`)
  }
  return inputs
}

/** The job offer's URL pins: a JSON object of URL → CID ('' for none). */
export function urlPinsOf (urlPins: string): Record<string, string> {
  if (urlPins === '') return {}
  let parsed: unknown
  try {
    parsed = JSON.parse(urlPins)
  } catch {
    parsed = undefined
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || !Object.values(parsed).every(v => typeof v === 'string')) {
    throw new RunFailure('ERR_INPUTS_INVALID', 'the job offer\'s URL pins are not a JSON object of URLs to CIDs')
  }
  return parsed as Record<string, string>
}

function targetProblem (target: string, others: string[]): string | null {
  if (!target.startsWith('/') || posix.normalize(target) !== target || target.endsWith('/')) return 'not an absolute, normal path'
  if (target === '/' || RESERVED.some(r => target === r || target.startsWith(`${r}/`))) return 'a path the job\'s engine keeps for itself'
  if (others.some(o => o === target || target.startsWith(`${o}/`) || o.startsWith(`${target}/`))) return 'it overlaps another input'
  return null
}

/**
 * Brings each input to this node from the job creator's node (or any peer that has it), verified
 * by its CID, each into a folder of its own for this run: a folder CID is mounted as a folder, a
 * file CID as a file. An input pinned from a URL that no peer has (its creator is gone) is
 * downloaded from the URL again, and taken only if it hashes to the pinned CID: every party still
 * mounts the same bytes. `release` removes the folders once the run is over.
 */
export async function bringInputs (inputs: JobInput[], source: InputsSource | undefined, o: { from: string, runId: string, signal: AbortSignal }): Promise<{ mounts: DockerInput[], release: () => Promise<void> }> {
  const dirs: string[] = []
  const release = async (): Promise<void> => { await Promise.all(dirs.map(async dir => await rm(dir, { recursive: true, force: true }))) }
  if (inputs.length === 0) return { mounts: [], release }
  if (source === undefined) throw new RunFailure('ERR_INPUTS_UNAVAILABLE', 'this node cannot fetch input data')
  const mounts: DockerInput[] = []
  try {
    for (const input of inputs) {
      const name = `inputs-${createHash('sha256').update(`${o.runId}\n${input.cid}\n${input.target}`).digest('hex').slice(0, 40)}`
      dirs.push(source.dirOf(name))
      if (!await source.fetcher.fetch(input.cid, o.from, name, o.signal)) {
        if (input.url !== undefined && source.add !== undefined) {
          await fromUrl(input as JobInput & { url: string }, source.dirOf(name), source.add, o.signal)
          mounts.push({ source: source.dirOf(name), target: input.target })
          continue
        }
        throw new RunFailure('ERR_INPUTS_UNAVAILABLE', `input ${input.cid} for ${input.target} could not be fetched from the job creator or a peer, or is too large`)
      }
      const root = await exporter(parseCid(input.cid), source.blockstore, { signal: o.signal })
      // the export writes a folder's contents into the folder, a single file as `result`
      mounts.push({ source: root.type === 'directory' ? source.dirOf(name) : join(source.dirOf(name), 'result'), target: input.target })
    }
    return { mounts, release }
  } catch (err) {
    await release()
    throw err
  }
}

/** A pinned URL input downloaded here, as its creator pinned it (a folder holding the file), taken only if it hashes to the pin. */
async function fromUrl (input: JobInput & { url: string }, dir: string, add: NonNullable<InputsSource['add']>, signal: AbortSignal): Promise<void> {
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true })
  try {
    await downloadUrl(input.url, join(dir, fileNameOf(input.url)), undefined, signal)
  } catch (err) {
    if (!(err instanceof UrlDownloadError)) throw err
    throw new RunFailure('ERR_INPUTS_UNAVAILABLE', `input ${input.cid} for ${input.target}: no peer has it, and ${input.url} could not be downloaded: ${err.message}`)
  }
  const cid = (await add(dir)).toString()
  if (cid !== input.cid) {
    throw new RunFailure('ERR_INPUTS_UNAVAILABLE', `input ${input.cid} for ${input.target}: no peer has it, and ${input.url} now serves other bytes (${cid})`)
  }
}
