import type { InputEvent, Json, MachineOutput } from '../../state-machines/contract.ts'

/** The record types the actor runtime writes to the event log, besides the log's own genesis and checkpoints. */
export const ActorRecord = {
  /** a machine instance (a stream) starts: { stream, machine, input } */
  open: 'stream.open',
  /** an input given to a stream's machine, logged before it is applied: { stream, event } */
  input: 'input',
  /** an output of the transition just before it: { stream, output } */
  output: 'output',
  /** an output was carried out (or failed for good): { stream, id, error? } */
  ack: 'ack'
} as const

export interface OpenData { stream: string, machine: string, input: Json, [key: string]: Json }
export interface InputData { stream: string, event: InputEvent, [key: string]: Json | InputEvent }
export interface OutputData { stream: string, output: MachineOutput, [key: string]: Json | MachineOutput }
export interface AckData { stream: string, id: string, error?: string, [key: string]: Json | undefined }

/** Identifies an output across streams. */
export function outputKey (stream: string, id: string): string {
  return `${stream}\u0000${id}`
}
