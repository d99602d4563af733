// The dashboard page. It reads the node's API only. Beyond loopback the API wants a bearer token:
// given once as #token=… it is kept for this tab and sent on every call. Server-sent events are
// read with fetch and a stream reader, since EventSource cannot send the token.
'use strict'

const TOKEN_KEY = 'lilypad-api-token'
const NEXT_DEADLINE = { JobOffered: 'matchDeadline', Matched: 'agreeDeadline', Agreed: 'submitDeadline', ResultsSubmitted: 'judgeDeadline', Mediating: 'mediateDeadline' }
// the outcomes that pay the provider its price (DESIGN §6's payout table)
const PAYING = new Set(['Accepted', 'MediationAccepted', 'TimeoutJudge'])
const GOOD = new Set(['Accepted', 'MediationAccepted', 'Settled'])
const BAD = new Set(['MediationRejected', 'TimeoutMatch', 'TimeoutAgree', 'TimeoutSubmit', 'TimeoutJudge', 'TimeoutMediate'])

const $ = (id) => document.getElementById(id)
const token = takeToken()
/** role:jobOfferId → { row, effect, order }: every deal row the node's machines hold */
const deals = new Map()
let dealOrder = 0

function takeToken () {
  const params = new URLSearchParams(location.hash.slice(1))
  const given = params.get('token')
  if (given !== null) {
    sessionStorage.setItem(TOKEN_KEY, given)
    params.delete('token')
    // once kept, the token leaves the address bar and the tab's history
    const rest = params.toString()
    history.replaceState(null, '', location.pathname + location.search + (rest === '' ? '' : '#' + rest))
  }
  return sessionStorage.getItem(TOKEN_KEY)
}

async function api (path, init = {}) {
  const headers = { ...init.headers }
  if (token !== null) headers.authorization = 'Bearer ' + token
  const res = await fetch(path, { ...init, headers })
  if (res.status === 401) showProblem('This node\'s API needs its bearer token: open the page as /dashboard#token=<token> (the token is kept in the node\'s data directory, file api-token).')
  return res
}

async function getJson (path) {
  const res = await api(path)
  if (!res.ok) throw new Error(`${path} answered ${res.status}`)
  return await res.json()
}

/** Calls onEvent(name, data) for each server-sent event of `path` until the stream ends. */
async function readEvents (path, onEvent) {
  const res = await api(path, { headers: { accept: 'text/event-stream' } })
  if (!res.ok || res.body === null) throw new Error(`${path} answered ${res.status}`)
  const reader = res.body.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return
    buffer += decoder.decode(value, { stream: true })
    let end
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      let name = 'message'
      const data = []
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue
        const colon = line.indexOf(':')
        const field = colon < 0 ? line : line.slice(0, colon)
        const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
        if (field === 'event') name = text
        else if (field === 'data') data.push(text)
      }
      if (data.length > 0) onEvent(name, JSON.parse(data.join('\n')))
    }
  }
}

function el (tag, props, ...children) {
  const node = document.createElement(tag)
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null) continue
    if (key === 'class') node.className = value
    else node.setAttribute(key, String(value))
  }
  for (const child of children) if (child !== undefined && child !== null) node.append(child instanceof Node ? child : String(child))
  return node
}

const short = (id) => typeof id === 'string' && id.length > 14 ? `${id.slice(0, 6)}…${id.slice(-4)}` : String(id ?? '')
const clock = (ms) => new Date(ms).toLocaleTimeString()
const sleep = (ms) => new Promise(resolve => setTimeout(resolve, ms))

function shortStream (stream) {
  if (stream === null) return '—'
  return stream.startsWith('job:') ? 'job ' + short(stream.slice(4)) : stream
}

function duration (ms) {
  const s = Math.round(Math.abs(ms) / 1000)
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`
}

/** wei as tokens of 18 decimals, to six places. */
function amount (wei) {
  if (wei === undefined || wei === null) return '—'
  const value = BigInt(wei)
  const unit = 10n ** 18n
  const fraction = (value % unit).toString().padStart(18, '0').slice(0, 6).replace(/0+$/, '')
  if (value > 0n && value < 10n ** 12n) return '< 0.000001'
  return fraction === '' ? `${value / unit}` : `${value / unit}.${fraction}`
}

function amountCell (wei) {
  return el('span', { class: 'amount', title: wei === undefined ? undefined : `${wei} wei` }, amount(wei))
}

function stateBadge (state) {
  const tone = GOOD.has(state) ? 'good' : BAD.has(state) ? 'bad' : 'live'
  return el('span', { class: `state ${tone}`, 'data-state': state }, state)
}

function showProblem (text) {
  const p = $('problem')
  p.textContent = text
  p.hidden = text === ''
}

function setConnection (state) {
  const pill = $('connection')
  pill.dataset.state = state
  pill.textContent = state
}

/** Runs `fn` once, a little later, however often it is asked for meanwhile. */
function debounced (fn, ms) {
  let timer = null
  return () => {
    if (timer !== null) return
    timer = setTimeout(() => { timer = null; fn().catch(() => {}) }, ms)
  }
}

// ---- deals, live

const keyOf = (row) => `${row.role}:${row.jobOfferId}`

function onActivity (name, data) {
  if (name === 'snapshot') {
    deals.clear()
    for (const row of data.deals) deals.set(keyOf(row), { row, effect: null, order: ++dealOrder })
    setConnection('live')
  } else if (data.kind === 'deal') {
    const known = deals.get(keyOf(data.row))
    deals.set(keyOf(data.row), { row: data.row, effect: known?.effect ?? null, order: known?.order ?? ++dealOrder })
    refreshJobsSoon()
    refreshNodeSoon()
  } else {
    if (data.dealId === null) return
    const effect = { type: data.type, ended: data.kind === 'effect.end', error: data.error }
    for (const entry of deals.values()) if (entry.row.dealId === data.dealId) entry.effect = effect
  }
  renderDeals()
  refreshLogSoon()
}

async function followActivity () {
  for (;;) {
    try {
      await readEvents('/activity', onActivity)
    } catch {
      // the node went away or refused: said by the pill, tried again below
    }
    setConnection('offline')
    await sleep(2000)
  }
}

function renderDeals () {
  const entries = [...deals.values()].sort((a, b) => b.order - a.order)
  $('deals-body').replaceChildren(...entries.map(dealRowOf))
  $('deal-count').textContent = entries.length === 0 ? '' : String(entries.length)
  $('no-deals').hidden = entries.length > 0
  renderEarnings(entries)
  tick()
}

function dealRowOf ({ row, effect }) {
  const deal = row.dealId === null
    ? el('span', { class: 'muted', title: row.jobOfferId }, 'offer ' + short(row.jobOfferId))
    : el('a', { href: '#deal=' + row.dealId, title: row.dealId, class: 'history-link' }, short(row.dealId))
  const deadlineName = NEXT_DEADLINE[row.state]
  const deadline = deadlineName === undefined ? undefined : row.deadlines[deadlineName]
  // an effect that ends with no answer to its machine is logged without a word to listeners: "started" may be all that is heard
  const effectText = effect === null ? '' : `${effect.type} ${effect.error !== undefined ? 'failed' : effect.ended ? 'done' : 'started'}`
  return el('tr', { 'data-deal-id': row.dealId ?? '', 'data-role': row.role },
    el('td', null, deal),
    el('td', null, row.role),
    el('td', null, stateBadge(row.state)),
    el('td', null, amountCell(row.price)),
    el('td', deadline === undefined ? null : { 'data-deadline': deadline, 'data-deadline-name': deadlineName.replace(/Deadline$/, '') }, deadline === undefined ? '—' : ''),
    el('td', { class: effect?.error !== undefined ? 'bad-text' : 'muted', title: effect?.error }, effectText))
}

/** Counts every deadline cell down (or up, once it has passed). */
function tick () {
  const now = Date.now()
  for (const cell of document.querySelectorAll('[data-deadline]')) {
    const left = Number(cell.dataset.deadline) - now
    cell.textContent = `${cell.dataset.deadlineName} ${left >= 0 ? 'in ' + duration(left) : 'passed ' + duration(left) + ' ago'}`
    cell.classList.toggle('bad-text', left < 0)
  }
}

function renderEarnings (entries) {
  let earned = 0n
  let spent = 0n
  for (const { row } of entries) {
    if (!PAYING.has(row.state) || row.price === undefined) continue
    if (row.role === 'resource-provider') earned += BigInt(row.price)
    if (row.role === 'job-creator') {
      spent += BigInt(row.price) + BigInt(row.solverFee)
      if (row.state === 'MediationAccepted') spent += BigInt(row.mediatorFee)
    }
  }
  $('earned').replaceChildren(amountCell(earned.toString()))
  $('spent').replaceChildren(amountCell(spent.toString()))
}

// ---- the node and the mesh, read every few seconds

async function refreshNode () {
  const [status, mesh] = await Promise.all([getJson('/status'), getJson('/mesh')])
  $('node-address').textContent = status.address
  $('address').textContent = status.address
  $('peer-id').textContent = status.peerId
  $('roles').textContent = status.roles.join(', ')
  $('log-size').textContent = `${status.logRecords} records`
  $('peer-count').textContent = String(mesh.peers.length)
  $('peers').replaceChildren(...mesh.peers.map(p => el('li', { title: `${p.id}, score ${p.score.toFixed(2)}` }, short(p.id))))
  $('topics').replaceChildren(...mesh.topics.map(t => el('li', null, t)))
  $('offer-count').textContent = String(mesh.offers.count)
  $('offers-body').replaceChildren(...mesh.offers.shown.map(o => el('tr', null,
    el('td', { title: o.id }, short(o.id), o.own ? el('span', { class: 'tag' }, 'own') : null),
    el('td', null, o.topic),
    el('td', { title: o.author }, short(o.author)),
    el('td', null, clock(o.expiry)))))
  renderBook(mesh.book)
}

const refreshNodeSoon = debounced(refreshNode, 1000)

function renderBook (book) {
  $('book').hidden = book === null
  if (book === null) return
  $('book-count').textContent = `${book.offers} offers, ${book.jobs} jobs`
  const now = Date.now()
  $('book-offers').replaceChildren(...book.shownOffers.map(o => el('tr', null,
    el('td', { title: o.id }, short(o.id)),
    el('td', { title: o.author }, short(o.author)),
    el('td', null, o.slot),
    el('td', null, amountCell(o.price)),
    el('td', null, `${o.cpu} cpu, ${o.gpu} gpu, ${o.ramMb} MB`),
    el('td', null, o.heldUntil >= now ? 'proposed' : ''))))
  $('book-jobs').replaceChildren(...book.shownJobs.map(j => el('tr', null,
    el('td', { title: j.id }, short(j.id)),
    el('td', { title: j.author }, short(j.author)),
    el('td', null, j.module),
    el('td', null, amountCell(j.maxPrice)),
    el('td', null, clock(j.matchDeadline)))))
}

// ---- the log

async function refreshLog () {
  const { records } = await getJson('/log/tail?n=50')
  $('log-body').replaceChildren(...records.reverse().map(recordRow))
}

function recordRow (r) {
  return el('tr', { 'data-seq': r.seq },
    el('td', { class: 'num' }, r.seq),
    el('td', null, clock(r.at)),
    el('td', { title: r.stream ?? '' }, shortStream(r.stream)),
    el('td', null, el('span', { class: 'tag' }, r.type), ' ', r.what))
}

const refreshLogSoon = debounced(refreshLog, 500)

// ---- jobs, on a job-creator node

async function refreshJobs () {
  const res = await api('/jobs')
  $('jobs').hidden = !res.ok
  if (!res.ok) return
  const { jobs } = await res.json()
  $('jobs-body').replaceChildren(...jobs.map(j => el('tr', { 'data-job-id': j.id },
    el('td', { title: j.id }, short(j.id)),
    el('td', null, j.module),
    el('td', null, clock(j.submittedAt)),
    el('td', null, j.phase),
    el('td', null, stateBadge(j.state)),
    el('td', null, j.cancelled ? 'cancelled' : j.outcome ?? ''))))
}

const refreshJobsSoon = debounced(refreshJobs, 300)

async function submitJob (event) {
  event.preventDefault()
  const form = event.currentTarget
  const fields = new FormData(form)
  const body = { module: String(fields.get('module')).trim(), inputs: {} }
  const message = String(fields.get('message'))
  if (message !== '') body.inputs.Message = message
  const chance = String(fields.get('mediationChance'))
  if (chance !== '') body.mediationChance = Number(chance)
  const button = form.querySelector('button')
  button.disabled = true
  $('job-error').hidden = true
  try {
    const res = await api('/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    const answer = await res.json()
    if (res.status !== 202) throw new Error(answer.error ?? `the node answered ${res.status}`)
    followJob(answer).catch(() => {})
    refreshJobsSoon()
  } catch (err) {
    $('job-error').textContent = err.message
    $('job-error').hidden = false
  } finally {
    button.disabled = false
  }
}

/** A card for the job, its phases added as the node reaches them, until it is done. */
async function followJob (view) {
  const phases = el('ol', { class: 'phases' })
  const outcome = el('div', { class: 'outcome' }, 'under way…')
  const card = el('article', { class: 'job-card', 'data-job-id': view.id },
    el('h3', null, `Job ${short(view.id)} `, el('span', { class: 'muted' }, view.module)), phases, outcome)
  $('job-live').prepend(card)
  const addPhase = (p) => {
    if (phases.querySelector(`[data-phase="${p.phase}"]`) !== null) return
    phases.append(el('li', { 'data-phase': p.phase, 'data-seen': Date.now() }, el('strong', null, p.phase), p.at === null ? '' : ` +${(p.at / 1000).toFixed(1)}s`))
  }
  let done = null
  while (done === null) {
    try {
      await readEvents(`/jobs/${encodeURIComponent(view.id)}/events`, (name, data) => {
        if (name === 'phase') addPhase(data)
        else if (name === 'done') done = data
      })
    } catch {
      // the stream broke: it is read again, and gives the phases so far first
    }
    if (done === null) await sleep(1000)
  }
  for (const p of done.phases) addPhase(p)
  showOutcome(outcome, done)
  card.dataset.done = 'true'
  refreshJobsSoon()
}

function showOutcome (box, view) {
  const dealLink = view.dealId === null ? null : el('a', { href: '#deal=' + view.dealId, class: 'history-link' }, 'deal ' + short(view.dealId))
  const said = view.error === null ? '' : ` ${view.error.code}: ${view.error.message}`
  box.replaceChildren(stateBadge(view.result?.outcome ?? view.state), said, ' ', dealLink ?? '')
  if (typeof view.result?.stdout === 'string' && view.result.stdout !== '') box.append(el('pre', { class: 'stdout' }, view.result.stdout))
}

// ---- a deal's history, at #deal=<id>

async function showHistory (dealId) {
  $('history-deal').textContent = dealId
  $('history-note').textContent = 'reading the log…'
  $('history-body').replaceChildren()
  const res = await api(`/deals/${encodeURIComponent(dealId)}/history`)
  const answer = await res.json()
  if (!res.ok) { $('history-note').textContent = answer.error; return }
  $('history-note').textContent = `${answer.records.length} records of this node's log name the deal${answer.jobOfferIds.length > 0 ? ' or its job offer' : ''}${answer.truncated ? ' (the first of them only)' : ''}.`
  $('history-body').replaceChildren(...answer.records.map(recordRow))
}

function route () {
  const dealId = new URLSearchParams(location.hash.slice(1)).get('deal')
  $('overview').hidden = dealId !== null
  $('history').hidden = dealId === null
  if (dealId !== null) showHistory(dealId).catch(err => { $('history-note').textContent = err.message })
}

// ---- start

function every (ms, fn) {
  const run = () => { fn().catch(() => {}) }
  run()
  setInterval(run, ms)
}

$('job-form').addEventListener('submit', (event) => { submitJob(event).catch(() => {}) })
window.addEventListener('hashchange', route)
route()
followActivity().catch(() => {})
every(5000, refreshNode)
every(5000, refreshJobs)
every(5000, refreshLog)
setInterval(tick, 1000)
