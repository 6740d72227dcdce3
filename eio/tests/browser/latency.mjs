// Loads the `eio serve` demo page in headless Chromium, waits until the
// page is connected and has latency samples, prints a JSON summary and
// saves a screenshot.
//   node latency.mjs <page URL> <screenshot path>
import { chromium } from "playwright-core";

const [url, shot] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 560 } });
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.state === "connected", null, { timeout: 15000 });
  await page.waitForFunction(() => (window.latencySamples || []).length >= 5, null, { timeout: 20000 });
  // Give the upgrade a moment so the transport shown is the final one.
  await page.waitForFunction(() => document.getElementById("transport").textContent === "websocket", null, { timeout: 10000 }).catch(() => {});
  const summary = await page.evaluate(() => ({
    state: document.body.dataset.state,
    transport: document.getElementById("transport").textContent,
    samples: window.latencySamples.length,
    latencies: window.latencySamples.slice(0, 10),
  }));
  await page.screenshot({ path: shot });
  console.log(JSON.stringify(summary));
} finally {
  await browser.close();
}
