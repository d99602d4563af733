import type { Wallet } from 'ethers'
import type { LilypadDomain, MessageType } from '../../../protocols/messages/eip712-types.ts'
import type { Envelope } from '../../../protocols/messages/envelope.ts'
import { messageId, signMessage } from '../../../protocols/messages/signing.ts'
import { deliverableUntil } from '../../../protocols/messages/delivery.ts'
import type { MachineOutput } from '../../../state-machines/contract.ts'
import type { EffectHandlers } from '../../runtime/actor-runtime.ts'
import type { SideWrite } from '../../eventlog/event-log.ts'
import type { MessageStore } from '../message-store.ts'
import type { MessageTransport } from '../transport.ts'
import { delay, jittered } from '../../../support/delay.ts'

export interface MessageEffectsModules {
  domain: LilypadDomain
  wallet: Pick<Wallet, 'signingKey' | 'address'>
  store: MessageStore
  transport: MessageTransport
  /** waits between delivery attempts to an unreachable party; the last one repeats */
  retryDelaysMs?: number[]
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>
  now?: () => number
  /** draws the jitter of each wait, in [0, 1) */
  random?: () => number
}

const DEFAULT_RETRIES = [250, 1000, 2000, 4000, 5000]


type Signing = Pick<MessageEffectsModules, 'domain' | 'wallet' | 'store'>

/** An output's message signed as this node (adding to signatures already collected, for a Deal). */
function signed (modules: Signing, output: MachineOutput): { id: string, envelope: Envelope } {
  const type = output.messageType as MessageType
  const existing = Array.isArray(output.signatures) ? output.signatures as string[] : []
  const envelope = signMessage(modules.wallet, modules.domain, type, output.message as never, existing) as Envelope
  return { id: messageId(modules.domain, type, envelope.message), envelope }
}

const SIGNED_OUTPUTS: ReadonlySet<string> = new Set(['message.publish', 'message.send'])

/**
 * A node's own messages, signed and stored in the same batch as the outputs that send them (the
 * runtime's `beside`): an output that attaches a sibling's message, or names it as evidence on
 * chain, finds it stored. An output whose message cannot be signed is left to its effect, which
 * fails with the reason.
 */
export function signedBeside (modules: Signing): (outputs: readonly MachineOutput[]) => Promise<SideWrite[]> {
  return async (outputs) => {
    const writes: SideWrite[] = []
    for (const output of outputs) {
      if (!SIGNED_OUTPUTS.has(output.type)) continue
      let message: { id: string, envelope: Envelope }
      try {
        message = signed(modules, output)
      } catch {
        continue
      }
      writes.push(...await modules.store.writes(message.id, message.envelope, output.id))
    }
    return writes
  }
}

/** The output's message as stored with the output, or signed and stored now (an output logged without it). */
async function signedOutput (modules: Signing, output: MachineOutput): Promise<Envelope> {
  const stored = await modules.store.get(output.id)
  if (stored !== undefined) return stored
  const { id, envelope } = signed(modules, output)
  await modules.store.put(id, envelope, output.id)
  return envelope
}

/**
 * `message.publish` and `message.send`: sign as this node, keep the signed message, deliver it;
 * `message.forward`: deliver a message kept before, signed by another.
 * Signing is deterministic (RFC 6979), so carrying an output out again after a crash sends the
 * very same message, which receivers drop as a duplicate.
 */
export function messageEffects (modules: MessageEffectsModules): EffectHandlers<'message.publish' | 'message.send' | 'message.forward'> {
  const retries = modules.retryDelaysMs ?? DEFAULT_RETRIES
  const sleep = modules.sleep ?? (async (ms: number, signal: AbortSignal) => { await delay(ms, { signal }) })
  const now = modules.now ?? Date.now

  /**
   * Delivers until the party takes the message or the message expires: a party that is down for a
   * while (a restart) still gets what was sent to it, as long as it still means something.
   */
  async function deliver (to: string, envelope: Envelope, attachments: Envelope[], signal: AbortSignal): Promise<void> {
    const expiry = deliverableUntil(envelope.type, (envelope.message as { expiry?: number }).expiry ?? 0)
    for (let attempt = 0; ; attempt++) {
      try {
        await modules.transport.send(to, { envelope, attachments }, signal)
        return
      } catch (err) {
        // jittered: parties a restart cut off together do not all come back in the same instant
        const wait = jittered(retries[Math.min(attempt, retries.length - 1)]!, modules.random)
        if (signal.aborted || now() + wait > expiry) throw new Error(`cannot deliver ${envelope.type} to ${to} before it expires: ${(err as Error).message}`)
        await sleep(wait, signal)
      }
    }
  }

  async function attachmentsOf (output: MachineOutput): Promise<Envelope[]> {
    const attach = Array.isArray(output.attach) ? output.attach as string[] : []
    return await Promise.all(attach.filter(id => id !== '').map(id => modules.store.require(id)))
  }
  const recipients = (output: MachineOutput): string[] => Array.isArray(output.to) ? output.to as string[] : []

  return {
    'message.publish': async (output) => {
      const envelope = await signedOutput(modules, output)
      await modules.transport.publish(String(output.topic), { envelope, attachments: [] })
    },
    'message.send': async (output, { signal }) => {
      const envelope = await signedOutput(modules, output)
      const attachments = await attachmentsOf(output)
      const to = recipients(output)
      // published whether or not the parties take it at once: an agreed deal is news to the mesh
      // (solvers, mediators) and a second way to the job creator
      const publishing = typeof output.topic === 'string' ? modules.transport.publish(output.topic, { envelope, attachments: [] }) : undefined
      const sent = await Promise.allSettled([...to.map(address => deliver(address, envelope, attachments, signal)), ...(publishing === undefined ? [] : [publishing])])
      const failed = sent.find(r => r.status === 'rejected')
      if (failed !== undefined) throw failed.reason
    },
    /** Passes on a message another party signed, as it was signed: a challenge to the deal's mediators. */
    'message.forward': async (output, { signal }) => {
      const envelope = await modules.store.require(String(output.message))
      const attachments = await attachmentsOf(output)
      await Promise.all(recipients(output).map(address => deliver(address, envelope, attachments, signal)))
    }
  }
}
