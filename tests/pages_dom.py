# SPDX-License-Identifier: MIT
"""pages_dom.py - what Chromium rendered, from its --dump-dom output.

  python3 pages_dom.py DOM.html   prints JSON:
    {"frames": [{"name", "where", "bytes", "blocks", "left", "width",
                 "top", "match", "anc", "title"}],     flame-graph frames
     "text": {element id: its text},                  every element with an id
     "rows": [{"pid", "tracing", "cells": [...], "links": [[text, href]],
               "forms": [[action, {input: value}, button text, disabled]]}],
     "external": [...]}   src/href attributes that leave the page's server
"""
import json
import re
import sys
from html.parser import HTMLParser


def style_pct(style, key):
    m = re.search(r"(?:^|;)\s*%s:\s*(-?[0-9.]+)(%%|px)" % key, style or "")
    return float(m.group(1)) if m else None


class Dom(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.frames, self.text, self.rows, self.external = [], {}, [], []
        self.stack = []        # open elements: (tag, attrs, record)
        self.row = None
        self.form = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for k in ("src", "href"):
            v = a.get(k)
            if v and re.match(r"^(https?:)?//", v):
                self.external.append(v)
        rec = None
        cls = (a.get("class") or "").split()
        if tag == "div" and "f" in cls and "data-node" in a:
            rec = {"name": a.get("data-name"), "where": a.get("data-where"),
                   "bytes": int(a["data-bytes"]),
                   "blocks": int(a["data-blocks"]),
                   "left": style_pct(a.get("style"), "left"),
                   "width": style_pct(a.get("style"), "width"),
                   "top": style_pct(a.get("style"), "top"),
                   "match": "match" in cls, "anc": "anc" in cls,
                   "title": a.get("title")}
            self.frames.append(rec)
        if tag == "tr" and "data-pid" in a:
            self.row = {"pid": int(a["data-pid"]),
                        "tracing": a.get("data-tracing") == "1",
                        "cells": [], "links": [], "forms": []}
            self.rows.append(self.row)
        if self.row is not None:
            if tag == "td":
                self.row["cells"].append("")
            elif tag == "a":
                self.row["links"].append(["", a.get("href")])
            elif tag == "form":
                self.form = [a.get("action"), {}, "", False]
                self.row["forms"].append(self.form)
            elif tag == "input" and self.form is not None:
                self.form[1][a.get("name")] = a.get("value")
            elif tag == "button" and self.form is not None:
                self.form[3] = "disabled" in a
        if tag in ("input", "meta", "br", "img", "link"):
            return
        self.stack.append((tag, a.get("id")))
        if a.get("id"):
            self.text[a["id"]] = ""

    def handle_endtag(self, tag):
        while self.stack:
            t, _ = self.stack.pop()
            if t == tag:
                break
        if tag == "tr":
            self.row = None
        if tag == "form":
            self.form = None

    def handle_data(self, data):
        for _, i in self.stack:
            if i and i not in ("hawk-data",):
                self.text[i] += data
        if self.row is not None:
            tags = [t for t, _ in self.stack]
            if "td" in tags and self.row["cells"]:
                self.row["cells"][-1] += data
            if "a" in tags and self.row["links"]:
                self.row["links"][-1][0] += data
            if "button" in tags and self.form is not None:
                self.form[2] += data


def main(argv):
    d = Dom()
    with open(argv[1], encoding="utf-8") as f:
        d.feed(f.read())
    print(json.dumps({"frames": d.frames, "text": d.text, "rows": d.rows,
                      "external": d.external}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
