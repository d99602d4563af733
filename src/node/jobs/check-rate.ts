/**
 * The chance, in percent, that a job creator checks a deal's results when it is not told otherwise:
 * the smallest whole rate, plus a point, at which making results up earns a provider less than
 * running the job, at the default price, results collateral and mediator fee, taking the job's cost
 * to be the whole price (`npm run sim -- deterrence` prints the table it comes from). A check runs
 * the job again on the creator's machine, or, where it cannot run there, on the mediator's.
 */
export const DEFAULT_MEDIATION_CHANCE = 34
