"""Browser tests: the studio as a visitor sees it, in Debian's headless Chromium driven by Playwright."""
