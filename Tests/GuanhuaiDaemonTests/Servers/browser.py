#!/usr/bin/env python3
"""Drives Debian's chromium (headless, through chromium-driver and selenium) at phone width, as a secretary would
on the phone the reminder arrived on. Prints what the person saw as JSON.

  browser.py open URL [--shot PNG]
  browser.py done URL --note TEXT --amount YUAN [--shot PNG] [--result-shot PNG]
  browser.py event URL --member ID --kind KIND --date YYYY-MM-DD
  browser.py agenda URL [--occurrence ID [--confirm]]   what the list offers; 已办结… on one item, then (--confirm) 确认
  browser.py event-empty URL                            submit the event form untouched: does the browser stop it?
  browser.py fund-apply URL --member ID --category C --amount YUAN --reason TEXT [--attachments "A\nB"] [--no-consent]
  browser.py fund-step URL --verdict approve|return|reject|resubmit|withdraw [--words TEXT]
"""
import argparse, json, sys
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

p = argparse.ArgumentParser()
p.add_argument("action", choices=["open", "done", "event", "agenda", "event-empty", "fund-apply", "fund-step"])
p.add_argument("--category")
p.add_argument("--reason")
p.add_argument("--attachments")
p.add_argument("--family")
p.add_argument("--no-consent", action="store_true")
p.add_argument("--verdict")
p.add_argument("--words")
p.add_argument("--meeting")
p.add_argument("--attendees-text")
p.add_argument("--source")
p.add_argument("--occurrence")
p.add_argument("--confirm", action="store_true")
p.add_argument("url")
p.add_argument("--note")
p.add_argument("--amount")
p.add_argument("--member")
p.add_argument("--kind")
p.add_argument("--date")
p.add_argument("--shot")
p.add_argument("--result-shot")
p.add_argument("--height", type=int, default=844)
a = p.parse_args()

o = webdriver.ChromeOptions()
o.binary_location = "/usr/bin/chromium"
for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--lang=zh-CN",
            "--hide-scrollbars"]:
    o.add_argument(arg)
# A phone: 390 CSS pixels wide (an iPhone 14's), touch, a mobile user agent.
o.add_experimental_option("mobileEmulation", {
    "deviceMetrics": {"width": 390, "height": a.height, "pixelRatio": 2, "touch": True},
    "userAgent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36"})
d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
d.set_page_load_timeout(30)
out = {}
try:
    d.get(a.url)
    out["title"] = d.title
    out["text"] = d.find_element(By.TAG_NAME, "body").text
    out["width"] = d.execute_script("return document.documentElement.scrollWidth")
    out["stylesheets"] = d.execute_script("return document.styleSheets.length")
    if a.shot:
        d.save_screenshot(a.shot)
    if a.action == "done":
        if a.note:
            d.find_element(By.NAME, "note").send_keys(a.note)
        if a.amount:
            d.find_element(By.NAME, "amount").send_keys(a.amount)
        d.find_element(By.ID, "submit").click()
        WebDriverWait(d, 20).until(EC.presence_of_element_located((By.ID, "result")))
        out["result_title"] = d.title
        out["result"] = d.find_element(By.TAG_NAME, "body").text
        if a.result_shot:
            d.save_screenshot(a.result_shot)
    elif a.action == "event":
        Select(d.find_element(By.NAME, "member")).select_by_value(a.member)
        Select(d.find_element(By.NAME, "kind")).select_by_value(a.kind)
        field = d.find_element(By.NAME, "date")
        d.execute_script("arguments[0].value = arguments[1]", field, a.date)
        d.find_element(By.ID, "record-event").click()
        WebDriverWait(d, 20).until(EC.presence_of_element_located((By.ID, "result")))
        out["result_title"] = d.title
        out["result"] = d.find_element(By.TAG_NAME, "body").text
    elif a.action == "agenda":
        out["occurrences"] = [e.get_attribute("value") for e in d.find_elements(By.CSS_SELECTOR, "input[name=occurrence]")]
        out["buttons"] = len(d.find_elements(By.CSS_SELECTOR, "button.done"))
        # The secondary links as a thumb meets them: their rendered heights in CSS pixels.
        out["link_heights"] = [e.size["height"] for e in d.find_elements(By.CSS_SELECTOR, ".more a")]
        late = d.find_elements(By.ID, "overdue-count")
        out["overdue_shown"] = late[0].text if late else None
        if a.occurrence:
            form = d.find_element(By.XPATH, "//input[@name='occurrence'][@value='%s']/.." % a.occurrence)
            form.find_element(By.CSS_SELECTOR, "button.done").click()
            WebDriverWait(d, 20).until(EC.presence_of_element_located((By.ID, "confirm")))
            out["confirm_title"] = d.title
            out["confirm"] = d.find_element(By.TAG_NAME, "body").text
            if a.shot:
                d.save_screenshot(a.shot.replace(".png", "-confirm.png"))
            if a.confirm:
                d.find_element(By.ID, "confirm").click()
                WebDriverWait(d, 20).until(EC.presence_of_element_located((By.ID, "result")))
                out["result"] = d.find_element(By.TAG_NAME, "body").text
    elif a.action == "fund-apply":
        f = d.find_element(By.ID, "fund-apply")
        Select(f.find_element(By.NAME, "member")).select_by_value(a.member)
        Select(f.find_element(By.NAME, "category")).select_by_value(a.category)
        f.find_element(By.NAME, "amount").send_keys(a.amount)
        f.find_element(By.NAME, "reason").send_keys(a.reason)
        if a.family:
            f.find_element(By.NAME, "family").send_keys(a.family)
        if a.attachments:
            f.find_element(By.NAME, "attachments").send_keys(a.attachments.replace("\\n", "\n"))
        if not a.no_consent:
            f.find_element(By.NAME, "consent").click()
        before = d.current_url
        d.find_element(By.ID, "fund-submit").click()
        if a.no_consent:
            # The consent box is required: the browser refuses to submit and stays on the page.
            out["consent_valid"] = d.execute_script("return document.querySelector('input[name=consent]').checkValidity()")
            out["stayed"] = d.current_url == before and not d.find_elements(By.ID, "result")
        else:
            WebDriverWait(d, 20).until(EC.presence_of_element_located((By.ID, "result")))
            out["result_title"] = d.title
            out["result"] = d.find_element(By.TAG_NAME, "body").text
    elif a.action == "fund-step":
        out["buttons"] = [e.get_attribute("value") for e in d.find_elements(By.CSS_SELECTOR, "#fund-step button")]
        if a.words:
            d.find_element(By.NAME, "words").send_keys(a.words)
        if a.meeting:
            d.execute_script("arguments[0].value = arguments[1]", d.find_element(By.NAME, "meeting"), a.meeting)
        if a.attendees_text:
            d.find_element(By.NAME, "attendees").send_keys(a.attendees_text)
        if a.amount:
            field = d.find_element(By.NAME, "amount")
            field.clear()
            field.send_keys(a.amount)
        if a.source:
            Select(d.find_element(By.NAME, "source")).select_by_value(a.source)
        d.find_element(By.ID, "verdict-" + a.verdict).click()
        WebDriverWait(d, 20).until(EC.presence_of_element_located((By.ID, "result")))
        out["result_title"] = d.title
        out["result"] = d.find_element(By.TAG_NAME, "body").text
    elif a.action == "event-empty":
        before = d.current_url
        d.find_element(By.ID, "record-event").click()
        # A required select left at its empty choice: the browser refuses to submit and stays on the page.
        out["member_valid"] = d.execute_script("return document.querySelector('select[name=member]').checkValidity()")
        out["kind_valid"] = d.execute_script("return document.querySelector('select[name=kind]').checkValidity()")
        out["stayed"] = d.current_url == before and not d.find_elements(By.ID, "result")
except Exception as e:
    # What went wrong reaches the test's message instead of an empty answer.
    out["error"] = "%s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else "")
finally:
    d.quit()
print(json.dumps(out, ensure_ascii=False))
