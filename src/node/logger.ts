import pino, { type Logger } from 'pino'
import pretty from 'pino-pretty'

export type LogFormat = 'json' | 'pretty'
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = typeof LOG_LEVELS[number]

/**
 * A daemon's logger: one line per event on stdout, JSON (for collectors) or pretty (for a person
 * at a terminal). Nothing else of a daemon's goes to stdout.
 */
export function createLogger (level: LogLevel = 'info', format: LogFormat = 'json'): Logger {
  if (format === 'pretty') return pino({ level }, pretty({ destination: 1, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }))
  return pino({ level })
}
