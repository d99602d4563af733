/**
 * The dashboard of the devnet's job-creator node, in a real headless Chromium (Debian's, driven by
 * playwright-core): a job submitted through the page's form shows its phases live, its deal comes
 * to Accepted in the deals table, and the deal's link shows its history from the node's log.
 */
import { mkdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startE2eNetwork, type E2eNetwork } from '../network/e2e-network.ts'

const SCREENSHOTS = fileURLToPath(new URL('../../../test-results/', import.meta.url))
const PHASES = ['offered', 'matched', 'agreed', 'results', 'verified']

describe('the dashboard', () => {
  let net: E2eNetwork
  let browser: Browser

  beforeAll(async () => {
    await mkdir(SCREENSHOTS, { recursive: true })
    net = await startE2eNetwork({ providers: 1, solvers: 1, mediators: 1, jobCreatorNode: true })
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-background-networking'] })
  }, 300_000)

  afterAll(async () => {
    await browser?.close()
    await net?.stop()
  }, 60_000)

  const shot = async (page: Page, name: string): Promise<void> => {
    await page.screenshot({ path: `${SCREENSHOTS}dashboard-${name}.png`, fullPage: true })
  }

  it('a job submitted through the page shows its phases live; its deal ends Accepted and links to its history', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    const problems: string[] = []
    page.on('pageerror', err => problems.push(err.message))
    page.on('console', message => { if (message.type() === 'error') problems.push(message.text()) })

    await page.goto(`${net.devnet.info.jobCreatorApi!}/dashboard`)
    await page.waitForSelector('#connection[data-state="live"]')
    await page.waitForSelector('#jobs:not([hidden])')
    await expect.poll(() => page.textContent('#roles')).toContain('job-creator')
    // set once: still there at the end only if the page never reloaded
    await page.evaluate(() => { (globalThis as Record<string, unknown>).loadedOnce = true })

    await page.fill('#job-form [name=module]', 'cowsay:v0.0.1')
    await page.fill('#job-form [name=message]', 'dashboard')
    await page.fill('#job-form [name=mediationChance]', '0')
    await page.click('#job-form button[type=submit]')

    const card = page.locator('.job-card').first()
    for (const phase of PHASES) await card.locator(`[data-phase="${phase}"]`).waitFor({ timeout: 120_000 })
    await page.locator('.job-card[data-done="true"]').first().waitFor({ timeout: 60_000 })
    await shot(page, 'job')

    const seen: Array<{ phase: string, seen: number }> = []
    for (const item of await card.locator('[data-phase]').all()) {
      seen.push({ phase: (await item.getAttribute('data-phase'))!, seen: Number(await item.getAttribute('data-seen')) })
    }
    const ours = seen.filter(s => PHASES.includes(s.phase))
    expect(ours.map(s => s.phase)).toEqual(PHASES)
    // each came as the node reached it, not all at once when the job was done
    for (let i = 1; i < ours.length; i++) expect(ours[i]!.seen).toBeGreaterThanOrEqual(ours[i - 1]!.seen)
    expect(ours[ours.length - 1]!.seen).toBeGreaterThan(ours[0]!.seen)
    expect(await card.locator('.outcome').textContent()).toContain('Accepted')
    expect(await card.locator('.stdout').textContent()).toContain('< dashboard >')

    const dealId = (await card.locator('a.history-link').getAttribute('href'))!.replace('#deal=', '')
    expect(dealId).toMatch(/^0x[0-9a-f]{64}$/)
    const row = page.locator(`#deals-body tr[data-deal-id="${dealId}"][data-role="job-creator"]`)
    await expect.poll(() => row.locator('.state').textContent(), { timeout: 30_000 }).toBe('Accepted')
    expect(await row.locator('td').nth(3).textContent()).not.toBe('—')
    expect(await page.evaluate(() => (globalThis as Record<string, unknown>).loadedOnce)).toBe(true)
    await shot(page, 'deals')

    await row.locator('a.history-link').click()
    expect(new URL(page.url()).hash).toBe(`#deal=${dealId}`)
    await page.waitForSelector('#history:not([hidden]) #history-body tr')
    const records = await page.locator('#history-body tr').allTextContents()
    expect(records.length).toBeGreaterThan(3)
    expect(records.join('\n')).toMatch(/Deal/)
    expect(records.join('\n')).toMatch(/settle|ResultsAccepted/)
    await shot(page, 'history')

    expect(problems).toEqual([])
    await page.close()
  }, 240_000)
})
