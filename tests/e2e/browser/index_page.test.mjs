// The index page as a person uses it, in Debian's Chromium (no browser
// download), through the e2e stack's nginx (harness.mjs runs the cases).
//   node index_page.test.mjs BASE_URL ARTIFACT_DIR
import { check, startCases } from './harness.mjs';

const { baseUrl, run, finish } = await startCases('index_page.test.mjs');

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

await finish();
