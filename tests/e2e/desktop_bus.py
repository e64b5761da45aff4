#!/usr/bin/python3
"""The desktop services the end-to-end test needs on its private D-Bus session, as real D-Bus
services: a StatusNotifierWatcher (the tray host's registry, where Keyfob's tray icon
registers) and a notification server (org.freedesktop.Notifications), plus one-shot clients
that read a registered tray item, its dbusmenu layout, and click a menu entry.

  desktop_bus.py serve LOG       run both services; every registration and notification is
                                 one JSON line in LOG. dev.keyfob.Test.Invoke(id, action) on
                                 /org/freedesktop/Notifications makes the server emit
                                 ActionInvoked, as a click on the notification would.
  desktop_bus.py item BUS PATH   the StatusNotifierItem's properties, as JSON
  desktop_bus.py menu BUS PATH   the dbusmenu layout at PATH, as a JSON tree
  desktop_bus.py click BUS PATH ID   sends the dbusmenu 'clicked' event to entry ID
"""

import json
import sys
import time

import gi

gi.require_version("Gio", "2.0")
from gi.repository import Gio, GLib  # noqa: E402

WATCHER_XML = """
<node>
  <interface name="org.kde.StatusNotifierWatcher">
    <method name="RegisterStatusNotifierItem"><arg name="service" type="s" direction="in"/></method>
    <method name="RegisterStatusNotifierHost"><arg name="service" type="s" direction="in"/></method>
    <property name="RegisteredStatusNotifierItems" type="as" access="read"/>
    <property name="IsStatusNotifierHostRegistered" type="b" access="read"/>
    <property name="ProtocolVersion" type="i" access="read"/>
    <signal name="StatusNotifierItemRegistered"><arg type="s"/></signal>
    <signal name="StatusNotifierItemUnregistered"><arg type="s"/></signal>
    <signal name="StatusNotifierHostRegistered"/>
  </interface>
</node>
"""

NOTIFICATIONS_XML = """
<node>
  <interface name="org.freedesktop.Notifications">
    <method name="Notify">
      <arg type="s" direction="in"/><arg type="u" direction="in"/><arg type="s" direction="in"/>
      <arg type="s" direction="in"/><arg type="s" direction="in"/><arg type="as" direction="in"/>
      <arg type="a{sv}" direction="in"/><arg type="i" direction="in"/>
      <arg type="u" direction="out"/>
    </method>
    <method name="CloseNotification"><arg type="u" direction="in"/></method>
    <method name="GetCapabilities"><arg type="as" direction="out"/></method>
    <method name="GetServerInformation">
      <arg type="s" direction="out"/><arg type="s" direction="out"/>
      <arg type="s" direction="out"/><arg type="s" direction="out"/>
    </method>
    <signal name="NotificationClosed"><arg type="u"/><arg type="u"/></signal>
    <signal name="ActionInvoked"><arg type="u"/><arg type="s"/></signal>
  </interface>
  <interface name="dev.keyfob.Test">
    <method name="Invoke"><arg type="u" direction="in"/><arg type="s" direction="in"/></method>
  </interface>
</node>
"""


def serve(log_path):
    bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
    log = open(log_path, "a", buffering=1)
    items = []
    notifications = {"next": 1}

    def record(**event):
        event["time"] = time.time()
        log.write(json.dumps(event) + "\n")

    def watcher_call(conn, sender, path, iface, method, params, invocation):
        if method == "RegisterStatusNotifierItem":
            (service,) = params.unpack()
            # An item names its object path (libayatana) or a bus name (the path is then
            # /StatusNotifierItem); either way it lives on the caller's connection.
            item_path = service if service.startswith("/") else "/StatusNotifierItem"
            item = {"bus": sender, "path": item_path}
            items.append(f"{sender}{item_path}")
            record(event="item-registered", **item)
            conn.emit_signal(None, "/StatusNotifierWatcher", "org.kde.StatusNotifierWatcher",
                             "StatusNotifierItemRegistered", GLib.Variant("(s)", (items[-1],)))
        invocation.return_value(None)

    def watcher_property(conn, sender, path, iface, name):
        return {
            "RegisteredStatusNotifierItems": GLib.Variant("as", items),
            "IsStatusNotifierHostRegistered": GLib.Variant("b", True),
            "ProtocolVersion": GLib.Variant("i", 0),
        }[name]

    def notifications_call(conn, sender, path, iface, method, params, invocation):
        if method == "Notify":
            app, replaces, icon, summary, body, actions, hints, timeout = params.unpack()
            nid = replaces or notifications["next"]
            notifications["next"] = max(notifications["next"], nid + 1)
            record(event="notify", id=nid, sender=sender, app=app, summary=summary, body=body,
                   actions=actions)
            invocation.return_value(GLib.Variant("(u)", (nid,)))
        elif method == "CloseNotification":
            (nid,) = params.unpack()
            record(event="closed", id=nid)
            conn.emit_signal(None, path, "org.freedesktop.Notifications", "NotificationClosed",
                             GLib.Variant("(uu)", (nid, 3)))
            invocation.return_value(None)
        elif method == "GetCapabilities":
            invocation.return_value(GLib.Variant("(as)", (["actions", "body"],)))
        elif method == "GetServerInformation":
            invocation.return_value(GLib.Variant("(ssss)", ("keyfob-e2e", "keyfob", "1", "1.2")))
        elif method == "Invoke":
            nid, action = params.unpack()
            record(event="invoked", id=nid, action=action)
            conn.emit_signal(None, path, "org.freedesktop.Notifications", "ActionInvoked",
                             GLib.Variant("(us)", (nid, action)))
            invocation.return_value(None)

    watcher = Gio.DBusNodeInfo.new_for_xml(WATCHER_XML).interfaces[0]
    bus.register_object("/StatusNotifierWatcher", watcher, watcher_call, watcher_property, None)
    for iface in Gio.DBusNodeInfo.new_for_xml(NOTIFICATIONS_XML).interfaces:
        bus.register_object("/org/freedesktop/Notifications", iface, notifications_call, None, None)

    def owned(name):
        return lambda *_: record(event="name-owned", name=name)

    def lost(name):
        def fail(*_):
            record(event="name-lost", name=name)
            sys.exit(f"desktop_bus: cannot own {name}")
        return fail

    for name in ("org.kde.StatusNotifierWatcher", "org.freedesktop.Notifications"):
        Gio.bus_own_name_on_connection(bus, name, Gio.BusNameOwnerFlags.NONE, owned(name), lost(name))
    GLib.MainLoop().run()


def call(bus_name, path, iface, method, args, reply):
    bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
    return bus.call_sync(bus_name, path, iface, method, args, GLib.VariantType(reply) if reply else None,
                         Gio.DBusCallFlags.NONE, 5000, None)


def item(bus_name, path):
    props = call(bus_name, path, "org.freedesktop.DBus.Properties", "GetAll",
                 GLib.Variant("(s)", ("org.kde.StatusNotifierItem",)), "(a{sv})").unpack()[0]
    return {k: v for k, v in props.items() if isinstance(v, (str, int, bool, list, tuple))}


def menu(bus_name, path):
    revision, layout = call(bus_name, path, "com.canonical.dbusmenu", "GetLayout",
                            GLib.Variant("(iias)", (0, -1, [])), "(u(ia{sv}av))").unpack()

    def node(entry):
        entry_id, props, children = entry
        return {
            "id": entry_id,
            "label": props.get("label", ""),
            "enabled": props.get("enabled", True),
            "type": props.get("type", "standard"),
            "children": [node(c) for c in children],
        }

    return {"revision": revision, "layout": node(layout)}


def click(bus_name, path, entry_id):
    call(bus_name, path, "com.canonical.dbusmenu", "Event",
         GLib.Variant("(isvu)", (int(entry_id), "clicked", GLib.Variant("i", 0), 0)), None)
    return {"clicked": int(entry_id)}


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "serve":
        serve(*args)
    else:
        print(json.dumps({"item": item, "menu": menu, "click": click}[command](*args)))
