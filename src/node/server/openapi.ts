import { z } from 'zod'
import { jobRequestSchema } from './job-request.ts'
import { pathOf, reply, type Route } from './routes.ts'

const json = (description: string, schema: object = { type: 'object' }): object => ({ description, content: { 'application/json': { schema } } })
const error = json('refused, with a one-line reason', { type: 'object', properties: { error: { type: 'string' }, code: { type: 'string' } }, required: ['error'] })
const idParam = (name: string, description: string): object => ({ name, in: 'path', required: true, description, schema: { type: 'string' } })

/** The API as OpenAPI 3.1: what each path takes and answers. The job request's schema is the one `POST /jobs` checks with. */
export function openApiDocument (version: string): object {
  return {
    openapi: '3.1.0',
    info: { title: 'Lilypad node API', version, description: 'A node\'s own API: its status, metrics, dashboard and (on a job-creator node) its jobs. Beyond 127.0.0.1 every path but /health, /openapi.json and /dashboard needs the bearer token kept in the node\'s data directory (api-token).' },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: { JobRequest: z.toJSONSchema(jobRequestSchema, { io: 'input' }) }
    },
    security: [{ bearer: [] }],
    paths: {
      '/health': { get: { summary: 'the node answers', security: [], responses: { 200: json('{ ok: true }') } } },
      '/openapi.json': { get: { summary: 'this document', security: [], responses: { 200: json('OpenAPI 3.1') } } },
      '/status': { get: { summary: 'the node, its peers and scores, gossip validation counters, its log and its deals by state', responses: { 200: json('the status') } } },
      '/metrics': { get: { summary: 'Prometheus metrics', responses: { 200: { description: 'text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } } } } },
      '/dashboard': { get: { summary: 'the live dashboard page (no data in it: the page reads the API)', security: [], responses: { 200: { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } } } } },
      '/activity': { get: { summary: 'server-sent events: the deal states now, then every deal state change and effect as it happens', responses: { 200: { description: 'text/event-stream', content: { 'text/event-stream': { schema: { type: 'string' } } } } } } },
      '/deals/{id}/history': { get: { summary: 'the log records of one deal', parameters: [idParam('id', 'the deal id')], responses: { 200: json('its records'), 404: error } } },
      '/mesh': { get: { summary: 'the node\'s peers and gossip topics, the offers it holds, and a solver\'s order book', responses: { 200: json('the mesh as this node sees it') } } },
      '/log/tail': { get: { summary: 'the last records of the node\'s log', parameters: [{ name: 'n', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000 } }], responses: { 200: json('records') } } },
      '/jobs': {
        get: { summary: 'the jobs of a job-creator node, newest first (rebuilt from its log on start)', responses: { 200: json('{ jobs: [...] }') } },
        post: {
          summary: 'offer a job',
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/JobRequest' } } } },
          responses: { 202: json('the job\'s view'), 400: error, 409: error, 413: error, 415: error, 503: error }
        }
      },
      '/jobs/{id}': { get: { summary: 'a job\'s view: its phases, deal, state and result', parameters: [idParam('id', 'the job id')], responses: { 200: json('the job\'s view'), 404: error } } },
      '/jobs/{id}/events': { get: { summary: 'server-sent events: each phase (`phase`), the job\'s view (`view`) just before its `verified` phase, then `done` with the job\'s view', parameters: [idParam('id', 'the job id')], responses: { 200: { description: 'text/event-stream', content: { 'text/event-stream': { schema: { type: 'string' } } } }, 404: error } } },
      '/jobs/{id}/cancel': { post: { summary: 'call a job off while no deal is signed', parameters: [idParam('id', 'the job id')], responses: { 200: json('the job\'s view'), 404: error, 409: error } } },
      '/ipfs/{cid}': { get: { summary: 'results this node holds, by CID: a block with ?format=raw (verify it by hashing), or a file by path after the CID', parameters: [idParam('cid', 'the results CID')], responses: { 200: { description: 'the block or file' }, 404: error } } }
    }
  }
}

/** `GET /openapi.json`. */
export function openApiRoute (version: string): Route {
  let document: string | undefined
  return (req, res) => {
    if (pathOf(req) !== '/openapi.json') return false
    if (req.method !== 'GET') { reply(res, 405, { error: 'only GET' }); return true }
    document ??= JSON.stringify(openApiDocument(version))
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(document)
    return true
  }
}
