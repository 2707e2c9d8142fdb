// A User-Agent in the words a person recognises ("Firefox on Linux"), for the
// sessions list and the activity on /account. A few ordered tests, not a
// parser: the common browsers and systems, else the product token as sent
// ("python-requests"), so nothing is invented.

export type Device = { browser: string; system: string | undefined };

// Order matters: Edge and Opera say "Chrome" too, Chrome says "Safari", Android says "Linux".
const browsers: [RegExp, string][] = [
  [/\bEdg(?:e|A|iOS)?\//, 'Edge'],
  [/\b(?:OPR|Opera)\//, 'Opera'],
  [/\bSamsungBrowser\//, 'Samsung Internet'],
  [/\bYaBrowser\//, 'Yandex Browser'],
  [/\b(?:Firefox|FxiOS)\//, 'Firefox'],
  [/\bHeadlessChrome\//, 'Headless Chrome'],
  [/\bChromium\//, 'Chromium'],
  [/\b(?:Chrome|CriOS)\//, 'Chrome'],
  [/\bVersion\/[\d.]+.*\bSafari\//, 'Safari'],
  [/^curl\//, 'curl'],
];

const systems: [RegExp, string][] = [
  [/\biPhone\b/, 'iPhone'],
  [/\biPad\b/, 'iPad'],
  [/\biPod\b/, 'iOS'],
  [/\bAndroid\b/, 'Android'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bWindows\b/, 'Windows'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
  [/\bLinux\b/, 'Linux'],
];

/** What a User-Agent header says in a few words; undefined when there is none. */
export function summarizeUserAgent(userAgent: string | null): Device | undefined {
  if (userAgent === null || userAgent.trim() === '') return undefined;
  const browser = browsers.find(([pattern]) => pattern.test(userAgent))?.[1]
    // Not a browser we know: its first product token ("python-requests", "okhttp"), at most 40 characters.
    ?? (/^[\w.-]{1,40}/.exec(userAgent)?.[0] ?? userAgent.slice(0, 40));
  return { browser, system: systems.find(([pattern]) => pattern.test(userAgent))?.[1] };
}
