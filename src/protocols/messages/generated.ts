/**
 * Functions generated from source text, for the per-type readers of the fast parse path and the
 * EIP-712 encoder. Where code generation from strings is off (`--disallow-code-generation-from-strings`,
 * a content security policy), `new Function` throws an EvalError: the caller's `fallback`, the
 * same function written as a loop, is used instead, so the message layer still loads and gives the
 * same results, only more slowly.
 */
export function generatedOr<F> (parameter: string, body: string, argument: unknown, fallback: () => F): F {
  let make: (argument: unknown) => F
  try {
    make = new Function(parameter, body) as (argument: unknown) => F
  } catch (err) {
    if (err instanceof EvalError) return fallback()
    throw err
  }
  return make(argument)
}
