"""Open a page in a real headless Chromium and act on it as a person would,
over the DevTools protocol on a pipe (--remote-debugging-pipe: no port, no
network, nothing but the Python standard library).

    cdp.py CHROMIUM URL OUT_DIR CLICK_TABLE CLICK_HEADER

Loads URL at a laptop's 1366x768, records console errors, uncaught
exceptions and every request that is not file: or data:, reads the row order
of table #CLICK_TABLE, clicks the header whose text is CLICK_HEADER (a real
mouse press and release at its centre), reads the order again, clicks again,
reads again; saves a full-page screenshot (OUT_DIR/report.png) and a printed
PDF (OUT_DIR/report.pdf), and each <section id> as OUT_DIR/section-ID.png;
prints one JSON object. Used by tests/report.rs.
"""
import base64
import json
import os
import subprocess
import sys
import tempfile
import time

chromium, url, out_dir, table_id, header = sys.argv[1:6]
DEADLINE = time.monotonic() + 60

profile = tempfile.mkdtemp(prefix="hecjob-chromium-")
to_child_r, to_child_w = os.pipe()
from_child_r, from_child_w = os.pipe()


def child_fds():
    # The pipe protocol: the browser reads commands on fd 3, writes on fd 4.
    # Copied out of the way first, so neither end already sitting on 3 or 4
    # is overwritten or left close-on-exec (dup2 onto itself changes nothing).
    r, w = os.dup(to_child_r), os.dup(from_child_w)
    os.dup2(r, 3)
    os.dup2(w, 4)


proc = subprocess.Popen(
    [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--remote-debugging-pipe",
        "--user-data-dir=" + profile,
        "--window-size=1366,768",
        "about:blank",
    ],
    stdin=subprocess.DEVNULL,
    stdout=subprocess.DEVNULL,
    stderr=open(os.path.join(out_dir, "chromium.log"), "wb"),
    preexec_fn=child_fds,
    # os.pipe's fds are close-on-exec; the dup2'd 3 and 4 are not, and must
    # survive (close_fds would close them after preexec_fn).
    close_fds=False,
)
os.close(to_child_r)
os.close(from_child_w)
writer = os.fdopen(to_child_w, "wb", buffering=0)
reader = os.fdopen(from_child_r, "rb", buffering=0)

buf = b""
next_id = 0
events = []


def read_message():
    global buf
    while b"\0" not in buf:
        if time.monotonic() > DEADLINE:
            raise TimeoutError("chromium did not answer within 60 s")
        chunk = reader.read(65536)
        if not chunk:
            raise RuntimeError("chromium closed the pipe (exit %s)" % proc.poll())
        buf += chunk
    msg, buf = buf.split(b"\0", 1)
    return json.loads(msg)


def send(method, params=None, session=None):
    global next_id
    next_id += 1
    msg = {"id": next_id, "method": method, "params": params or {}}
    if session:
        msg["sessionId"] = session
    writer.write(json.dumps(msg).encode() + b"\0")
    while True:
        m = read_message()
        if m.get("id") == next_id:
            if "error" in m:
                raise RuntimeError("%s: %s" % (method, m["error"]))
            return m.get("result", {})
        events.append(m)


def wait_event(name, session):
    seen = 0
    while True:
        for m in events[seen:]:
            if m.get("method") == name and m.get("sessionId") == session:
                events.remove(m)
                return m
        seen = len(events)
        events.append(read_message())


def evaluate(expr, session):
    r = send("Runtime.evaluate", {"expression": expr, "returnByValue": True}, session)
    if "exceptionDetails" in r:
        raise RuntimeError("evaluate %r: %s" % (expr, r["exceptionDetails"]))
    return r["result"].get("value")


result = {}
try:
    target = send("Target.createTarget", {"url": "about:blank"})["targetId"]
    s = send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        send(domain + ".enable", {}, s)
    send(
        "Emulation.setDeviceMetricsOverride",
        {"width": 1366, "height": 768, "deviceScaleFactor": 1, "mobile": False},
        s,
    )
    send("Page.navigate", {"url": url}, s)
    wait_event("Page.loadEventFired", s)

    order = "Array.from(document.querySelectorAll('#%s tbody tr')).map(r => r.dataset.task || r.cells[0].textContent)" % table_id
    result["title"] = evaluate("document.title", s)
    result["order_before"] = evaluate(order, s)
    find = (
        "(() => { const th = Array.from(document.querySelectorAll('#%s thead th'))"
        ".find(h => h.textContent.trim() === %s); if (!th) return null; th.scrollIntoView({block: 'center'});"
        " const b = th.getBoundingClientRect(); return [b.x + b.width / 2, b.y + b.height / 2]; })()"
    ) % (table_id, json.dumps(header))
    sort_attr = (
        "Array.from(document.querySelectorAll('#%s thead th')).find(h => h.textContent.trim() === %s).getAttribute('aria-sort')"
    ) % (table_id, json.dumps(header))
    for n in (1, 2):
        xy = evaluate(find, s)
        if xy is None:
            raise RuntimeError("no header %r in #%s" % (header, table_id))
        for kind in ("mousePressed", "mouseReleased"):
            send(
                "Input.dispatchMouseEvent",
                {"type": kind, "x": xy[0], "y": xy[1], "button": "left", "clickCount": 1},
                s,
            )
        result["order_after_click_%d" % n] = evaluate(order, s)
        result["aria_sort_after_click_%d" % n] = evaluate(sort_attr, s)

    evaluate("window.scrollTo(0, 0)", s)
    metrics = send("Page.getLayoutMetrics", {}, s)
    size = metrics.get("cssContentSize") or metrics["contentSize"]
    result["page_size"] = [size["width"], size["height"]]
    shot = send(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": 1366, "height": size["height"], "scale": 1},
        },
        s,
    )
    with open(os.path.join(out_dir, "report.png"), "wb") as f:
        f.write(base64.b64decode(shot["data"]))
    # Each section on its own too (for a person to look at closely).
    sections = evaluate(
        "Array.from(document.querySelectorAll('section[id]')).map(e => { const b = e.getBoundingClientRect();"
        " return [e.id, b.x + window.scrollX, b.y + window.scrollY, b.width, b.height]; })",
        s,
    )
    for sid, x, y, w, h in sections:
        part = send(
            "Page.captureScreenshot",
            {"format": "png", "captureBeyondViewport": True, "clip": {"x": x, "y": y, "width": w, "height": h, "scale": 1}},
            s,
        )
        with open(os.path.join(out_dir, "section-%s.png" % sid), "wb") as f:
            f.write(base64.b64decode(part["data"]))
    pdf = send("Page.printToPDF", {"printBackground": False, "preferCSSPageSize": False}, s)
    with open(os.path.join(out_dir, "report.pdf"), "wb") as f:
        f.write(base64.b64decode(pdf["data"]))

    # Everything the page said or asked for while loading and being clicked.
    while True:
        send("Runtime.evaluate", {"expression": "0"}, s)  # drains queued events
        break
    errors, requests = [], []
    for m in events:
        p = m.get("params", {})
        method = m.get("method")
        if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert", "warning"):
            errors.append("console.%s: %s" % (p["type"], " ".join(str(a.get("value", a.get("description"))) for a in p.get("args", []))))
        elif method == "Runtime.exceptionThrown":
            errors.append("exception: %s" % p["exceptionDetails"].get("exception", {}).get("description", p["exceptionDetails"].get("text")))
        elif method == "Log.entryAdded" and p["entry"]["level"] in ("error", "warning"):
            errors.append("log %s: %s (%s)" % (p["entry"]["level"], p["entry"]["text"], p["entry"].get("url", "")))
        elif method == "Network.requestWillBeSent":
            u = p["request"]["url"]
            if not (u.startswith("file:") or u.startswith("data:") or u == "about:blank"):
                requests.append(u)
    result["errors"] = errors
    result["external_requests"] = requests
finally:
    try:
        send("Browser.close")
    except Exception:
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    subprocess.run(["rm", "-rf", profile], check=False)

print(json.dumps(result))
