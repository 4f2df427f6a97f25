// What every browser case file shares: Debian's Chromium (no browser
// download) through playwright-core, one fresh context per case, one line per
// case and a closing "N passed, N failed" line; on a failure a screenshot and
// the page's HTML under ARTIFACT_DIR.
//   node <file>.test.mjs BASE_URL ARTIFACT_DIR
import { chromium } from 'playwright-core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export async function startCases(scriptName) {
  const [baseUrl, artifactDir] = process.argv.slice(2);
  if (!baseUrl || !artifactDir) {
    console.error(`usage: node ${scriptName} BASE_URL ARTIFACT_DIR`);
    process.exit(64);
  }
  mkdirSync(artifactDir, { recursive: true });

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync',
           '--disable-quic'],
    // launch() gives every run a fresh, empty profile directory of its own
    // (playwright refuses an explicit --user-data-dir here).
  });

  let passed = 0;
  let failed = 0;

  // body(page, { failures, dialogs, consoleErrors }): failures are failed
  // requests and answers >= 400 (but those of URLs ending in '/', the
  // index page's own 400s), consoleErrors the page's console errors (a CSP
  // refusal shows there).
  async function run(name, body, contextOptions = {}) {
    const context = await browser.newContext(contextOptions);
    const page = await context.newPage();
    const failures = [];
    const dialogs = [];
    const consoleErrors = [];
    page.on('requestfailed', (request) => failures.push(`${request.url()} ${request.failure()?.errorText}`));
    page.on('response', (response) => {
      if (response.status() >= 400 && !response.url().endsWith('/')) failures.push(`${response.url()} ${response.status()}`);
    });
    page.on('dialog', async (dialog) => { dialogs.push(dialog.message()); await dialog.dismiss(); });
    page.on('console', (message) => { if (message.type() === 'error') consoleErrors.push(message.text()); });
    page.on('pageerror', (error) => consoleErrors.push(`uncaught: ${error.message}`));
    try {
      await body(page, { failures, dialogs, consoleErrors });
      console.log(`ok: ${name}`);
      passed++;
    } catch (error) {
      failed++;
      const slug = name.replace(/[^a-z0-9]+/gi, '_');
      const png = join(artifactDir, `${slug}.png`);
      const html = join(artifactDir, `${slug}.html`);
      try {
        await page.screenshot({ path: png, fullPage: true });
        writeFileSync(html, await page.content());
      } catch (saveError) {
        console.log(`  (could not save artifacts: ${saveError.message})`);
      }
      console.log(`FAIL: ${name}: ${error.message}\n  screenshot: ${png}\n  html: ${html}`);
    } finally {
      await context.close();
    }
  }

  async function finish() {
    await browser.close();
    console.log(`${passed} passed, ${failed} failed`);
    process.exit(failed === 0 ? 0 : 1);
  }

  return { baseUrl, run, finish };
}

export function check(condition, message) {
  if (!condition) throw new Error(message);
}
