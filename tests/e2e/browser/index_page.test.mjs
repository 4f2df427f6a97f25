// The index page as a person uses it, in Debian's Chromium (no browser
// download), through the e2e stack's nginx.
//   node index_page.test.mjs BASE_URL ARTIFACT_DIR
// Prints one line per case and a closing "N passed, N failed" line; on a
// failure saves a screenshot and the page's HTML under ARTIFACT_DIR.
import { chromium } from 'playwright-core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [baseUrl, artifactDir] = process.argv.slice(2);
if (!baseUrl || !artifactDir) {
  console.error('usage: node index_page.test.mjs BASE_URL ARTIFACT_DIR');
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

function check(condition, message) {
  if (!condition) throw new Error(message);
}

async function run(name, body) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const failures = [];
  const dialogs = [];
  page.on('requestfailed', (request) => failures.push(`${request.url()} ${request.failure()?.errorText}`));
  page.on('response', (response) => {
    if (response.status() >= 400 && !response.url().endsWith('/')) failures.push(`${response.url()} ${response.status()}`);
  });
  page.on('dialog', async (dialog) => { dialogs.push(dialog.message()); await dialog.dismiss(); });
  try {
    await body(page, { failures, dialogs });
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

async function submit(page, username, email) {
  await page.fill('#username', username);
  await page.fill('#email', email);
  await Promise.all([page.waitForLoadState('load'), page.click('button[type=submit]')]);
  await page.waitForLoadState('load');
}

const unique = Date.now().toString(36);

await run('empty page shows No users!', async (page) => {
  await page.goto(baseUrl + '/');
  check(await page.title() === 'All Users', `title is ${await page.title()}`);
  check(await page.locator('h1').innerText() === 'All Users', 'no All Users heading');
  check(await page.isVisible('text=No users!'), '"No users!" is not shown');
  check(await page.getAttribute('html', 'lang') === 'en', 'html has no lang');
  check(await page.locator('label[for=username]').count() === 1, 'no label for username');
  check(await page.locator('label[for=email]').count() === 1, 'no label for email');
});

await run('stylesheet loads with no failed request', async (page, { failures }) => {
  await page.goto(baseUrl + '/');
  const styled = await page.evaluate(() => getComputedStyle(document.querySelector('button')).backgroundColor);
  check(styled === 'rgb(13, 110, 253)', `button is not styled (${styled})`);
  check(failures.length === 0, `failed requests: ${failures.join(', ')}`);
});

await run('submitting the form adds the user', async (page) => {
  await page.goto(baseUrl + '/');
  await submit(page, 'grace', `grace-${unique}@example.com`);
  check(page.url() === baseUrl + '/', `landed on ${page.url()}`);
  check(await page.isVisible('li.user >> text=grace'), 'grace is not listed');
  check(!(await page.isVisible('text=No users!')), '"No users!" still shown');
  const date = await page.locator('li.user .created-on').first().innerText();
  check(/^\d{4}-\d\d-\d\d$/.test(date), `date is not YYYY-MM-DD: ${date}`);
});

await run('duplicate email shows the message and keeps the inputs', async (page) => {
  await page.goto(baseUrl + '/');
  await submit(page, 'grace again', `grace-${unique}@example.com`);
  check(await page.isVisible('text=Sorry. That email already exists.'), 'no duplicate message');
  check(await page.inputValue('#username') === 'grace again', 'username not kept');
  check(await page.inputValue('#email') === `grace-${unique}@example.com`, 'email not kept');
});

await run('a script in a username stays text', async (page, { dialogs }) => {
  const evil = '<img src=x onerror=alert(1)>';
  await page.goto(baseUrl + '/');
  await submit(page, evil, `evil-${unique}@example.com`);
  await page.reload();
  check(await page.locator('li.user strong', { hasText: evil }).count() === 1, 'name not shown as text');
  check(await page.locator('li.user img').count() === 0, 'an <img> element was injected');
  check(dialogs.length === 0, `a dialog fired: ${dialogs.join(', ')}`);
});

await run('the API docs page loads whole, from this origin only', async (page, { failures }) => {
  const origins = new Set();
  const consoleErrors = [];
  page.on('request', (request) => origins.add(new URL(request.url()).origin));
  page.on('console', (message) => { if (message.type() === 'error') consoleErrors.push(message.text()); });
  await page.goto(baseUrl + '/docs');
  await page.waitForLoadState('load');
  check((await page.locator('h1').innerText()).includes('users-service'), 'no users-service heading');
  check(await page.getByText('/auth/login').first().isVisible(), '/auth/login is not listed');
  check(failures.length === 0, `failed requests: ${failures.join(', ')}`);
  check(consoleErrors.length === 0, `console errors (CSP?): ${consoleErrors.join(' | ')}`);
  check([...origins].every((origin) => origin === new URL(baseUrl).origin), `other origins: ${[...origins].join(', ')}`);
});

await browser.close();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
