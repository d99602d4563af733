/** One benchmark figure, printed as one JSON line. */
export interface BenchFigure {
  bench: string
  metric: string
  value: number
  unit: string
  goal?: string
  baseline?: number
  ratio?: number
  [extra: string]: unknown
}

export function report (figure: BenchFigure): void {
  process.stdout.write(JSON.stringify(figure) + '\n')
}

/** Rounds to a few significant digits so lines stay readable. */
export function round (n: number, digits = 4): number {
  if (n === 0 || !Number.isFinite(n)) return n
  return Number(n.toPrecision(digits))
}
