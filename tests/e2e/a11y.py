#!/usr/bin/python3
"""Reads a window back over the accessibility bus (AT-SPI), as a screen reader does, without
WebDriver: prints a JSON list of [role, name] for every named node of process PID's
applications, page content included (WebKit exposes its DOM there).

  a11y.py PID
"""

import json
import sys

import gi

gi.require_version("Atspi", "2.0")
from gi.repository import Atspi, GLib  # noqa: E402


def walk(node, depth, out):
    # Deep enough for the page's account rows; a broken node is skipped, not fatal.
    if node is None or depth > 40:
        return
    try:
        name = node.get_name() or ""
        if name:
            out.append([node.get_role_name(), name])
        count = node.get_child_count()
    except GLib.Error:
        return
    for i in range(count):
        try:
            child = node.get_child_at_index(i)
        except GLib.Error:
            continue
        walk(child, depth + 1, out)


def main():
    pid = int(sys.argv[1])
    desktop = Atspi.get_desktop(0)
    out = []
    for i in range(desktop.get_child_count()):
        app = desktop.get_child_at_index(i)
        try:
            if app is not None and app.get_process_id() == pid:
                walk(app, 0, out)
        except GLib.Error:
            continue
    print(json.dumps(out))


main()
