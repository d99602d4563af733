import type { SlotTerms } from '../state-machines/resource-provider.machine.ts'
import { detectCapacity } from './capacity.ts'
import { SettingsError, type NodeSettings } from './settings.ts'

/**
 * The resource provider's slots: the configured machine (OFFER_CPU, …) or, where a figure is not
 * configured, the detected one divided evenly among the slots. GPUs only where Docker can hand
 * them to containers (`gpuRuntime`: the NVIDIA runtime is installed).
 */
export async function slotsFromSettings (settings: NodeSettings, engine: { gpuRuntime: boolean } = { gpuRuntime: false }): Promise<SlotTerms[]> {
  if (settings.solvers.length === 0) throw new SettingsError('a resource provider must name the solvers it trusts (SERVICE_SOLVER)')
  if (settings.mediators.length === 0) throw new SettingsError('a resource provider must name the mediators it trusts (SERVICE_MEDIATORS)')
  const found = await detectCapacity(settings.dataDir)
  const detected = engine.gpuRuntime ? found : { ...found, gpu: 0, gpuVramMb: 0 }
  if (!engine.gpuRuntime && (settings.offer.gpu ?? 0) > 0) {
    throw new SettingsError(`OFFER_GPU is ${settings.offer.gpu}, and Docker has no NVIDIA runtime to give jobs GPUs (install the NVIDIA Container Toolkit)`)
  }
  const n = Math.max(1, settings.offer.slots)
  const share = (configured: number | undefined, total: number): number => configured ?? Math.floor(total / n)
  const slot: SlotTerms = {
    cpu: share(settings.offer.cpu, detected.cpu),
    gpu: settings.offer.gpu ?? Math.floor(detected.gpu / n),
    gpuVramMb: settings.offer.gpuVramMb ?? (detected.gpu >= n ? detected.gpuVramMb : 0),
    ramMb: share(settings.offer.ramMb, detected.ramMb),
    diskMb: share(settings.offer.diskMb, detected.diskMb),
    maxSubmitWithin: settings.offer.maxSubmitWithinMs,
    modules: settings.offer.modules,
    price: settings.offer.price,
    resultsCollateral: settings.offer.resultsCollateral,
    timeoutCollateral: settings.offer.timeoutCollateral,
    trustedMediators: settings.mediators,
    trustedSolvers: settings.solvers,
    multiaddrs: []
  }
  if (slot.gpu > detected.gpu) throw new SettingsError(`OFFER_GPU is ${slot.gpu}, and this machine has ${detected.gpu} GPU(s)`)
  return Array.from({ length: n }, () => ({ ...slot }))
}
