/** The roles a node can take on, each a machine of its own. */
export type Role = 'resource-provider' | 'solver' | 'mediator' | 'job-creator'
export const ROLES: readonly Role[] = ['resource-provider', 'solver', 'mediator', 'job-creator']
