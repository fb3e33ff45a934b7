"""Selenium driving Debian's headless Chromium through Debian's chromedriver (both installed by `make test`).

The driver is given explicitly, so Selenium Manager never runs (it would try to download a driver), and
Chromium starts without background networking (the machine has no network beyond loopback).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from tests.integration import browser

CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
FLAGS = (*browser.BASE_FLAGS, "--window-size=1366,900", "--autoplay-policy=no-user-gesture-required")


def available() -> bool:
    return browser.available() and (Path(CHROMEDRIVER).exists() or shutil.which(CHROMEDRIVER) is not None)


def chrome(lang: str = "es") -> webdriver.Chrome:
    """A new headless Chromium with its own empty profile, its UI language `lang`."""
    options = webdriver.ChromeOptions()
    options.binary_location = browser.CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--lang={lang}")
    options.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix='console-chromium-')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_script_timeout(30)
    return driver
