// Debian's Chromium as a phone (or a laptop), headless, on a fresh profile:
// what every browser script here opens. `close()` also removes the profile.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export async function launch({ width = 390, height = 844, desktop = false, name = "phone" } = {}) {
  const profile = mkdtempSync(join(tmpdir(), `livecart-chromium-${name}-`));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.LIVECART_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run",
    ],
    viewport: { width, height },
    deviceScaleFactor: desktop ? 1 : 3,
    isMobile: !desktop,
    hasTouch: true,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
