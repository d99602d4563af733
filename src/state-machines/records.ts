/**
 * Records keyed by ids (a provider's deals and proposals, a mediator's mediations, deadlines named
 * after deals), copied whole on every change, as contexts are. Each copy is a dictionary (an object
 * without a prototype): a plain object that gains a key no object had before gets a hidden class of
 * its own, so a spread of records whose keys are all fresh ids made V8 build a class per key, about
 * six times the cost of the copy itself. A dictionary's keys keep their insertion order, as an
 * object's do, so JSON texts, snapshots and replays are unchanged.
 */

export function emptyRecord<T> (): Record<string, T> {
  return Object.create(null) as Record<string, T>
}

/** A copy of the record with `key` set to `value` (in its place if it was there, else last). */
export function withEntry<T> (record: Readonly<Record<string, T>>, key: string, value: NoInfer<T>): Record<string, T> {
  const out = copyOf(record)
  out[key] = value
  return out
}

/** A copy of the record without the entries `drop` picks, in the same order. */
export function withoutEntries<T> (record: Readonly<Record<string, T>>, drop: (key: string, value: T) => boolean): Record<string, T> {
  const out = emptyRecord<T>()
  for (const key in record) {
    const value = record[key] as T
    if (!drop(key, value)) out[key] = value
  }
  return out
}

function copyOf<T> (record: Readonly<Record<string, T>>): Record<string, T> {
  const out = emptyRecord<T>()
  for (const key in record) out[key] = record[key] as T
  return out
}
