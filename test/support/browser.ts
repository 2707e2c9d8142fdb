// Headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core,
// and a server whose BASE_URL is the address it listens on, so the browser
// can follow the links in captured mail. Without Chromium the browser suites
// skip with the reason printed; with CI=true they are mandatory.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { startServer, type TestServer } from './latchkey.ts';
import { freePort } from './process.ts';

export const chromiumPath = '/usr/bin/chromium';

const chromiumArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** `skip` for node:test: false when Chromium is installed, else the printed reason. Throws when CI=true. */
export function skipUnlessChromium(): false | string {
  if (existsSync(chromiumPath)) return false;
  const reason = `${chromiumPath} is missing (apt-get install -y chromium)`;
  if (process.env.CI === 'true') throw new Error(`CI=true requires Chromium: ${reason}`);
  return `skipped: ${reason}`;
}

/** `extraArgs`, e.g. `--host-resolver-rules=MAP *.latchkey.test 127.0.0.1` to give test host names to loopback. */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath, args: [...chromiumArgs, ...extraArgs] });
}

/** startServer (real SMTP sink, fresh SQLite) listening where its BASE_URL says. */
export async function startBrowserServer(env: Record<string, string> = {}): Promise<TestServer> {
  // The port must be known before it listens (it is in BASE_URL): a port freed
  // a moment ago may be taken meanwhile, so a start that finds it taken tries another.
  for (let attempt = 1; ; attempt += 1) {
    const port = await freePort();
    try {
      return await startServer('sqlite', { PORT: String(port), BASE_URL: `http://127.0.0.1:${port}`, ...env });
    } catch (error) {
      if ((error as { code?: string }).code !== 'EADDRINUSE' || attempt === 3) throw error;
    }
  }
}
