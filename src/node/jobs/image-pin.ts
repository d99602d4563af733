import Docker from 'dockerode'
import { isPinnedImage } from '../../executor/docker/image.ts'
import { pinImageTag } from '../../executor/docker/pin-tag.ts'
import type { LoadedModule } from '../../executor/modules/load.ts'
import { JobError } from './job-errors.ts'

/**
 * What a job offer pins of its module's image: '' when the spec pins the image itself (or runs
 * WASM), else the digest its tag names now, as a module's git ref is resolved to a commit.
 */
export async function imagePinFor (module: LoadedModule, docker: Docker = new Docker()): Promise<string> {
  const engine = module.spec.job.engine
  if (engine.type !== 'docker' || isPinnedImage(engine.image)) return ''
  try {
    return await pinImageTag(docker, engine.image)
  } catch (err) {
    throw new JobError('BAD_INPUT', `${(err as Error).message}; a job creator pins a tag through its Docker engine, or the module names its image by digest`)
  }
}
