#!/usr/bin/python3
"""Closes a window the way a window manager's close button does: sends WM_DELETE_WINDOW
(ICCCM WM_PROTOCOLS) to every top-level X window of process PID titled TITLE. Prints how
many windows were asked. The test display has no window manager, so this is the user's ×.

  close_window.py PID TITLE
"""

import ctypes
import ctypes.util
import sys

x = ctypes.cdll.LoadLibrary(ctypes.util.find_library("X11") or "libX11.so.6")
Window = ctypes.c_ulong
Atom = ctypes.c_ulong


class ClientMessage(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int), ("serial", ctypes.c_ulong), ("send_event", ctypes.c_int),
        ("display", ctypes.c_void_p), ("window", Window), ("message_type", Atom),
        ("format", ctypes.c_int), ("data", ctypes.c_long * 5),
    ]


class XEvent(ctypes.Union):
    _fields_ = [("xclient", ClientMessage), ("pad", ctypes.c_long * 24)]


x.XOpenDisplay.restype = ctypes.c_void_p
x.XOpenDisplay.argtypes = [ctypes.c_char_p]
x.XDefaultRootWindow.restype = Window
x.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
x.XInternAtom.restype = Atom
x.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
x.XQueryTree.argtypes = [ctypes.c_void_p, Window, ctypes.POINTER(Window), ctypes.POINTER(Window),
                         ctypes.POINTER(ctypes.POINTER(Window)), ctypes.POINTER(ctypes.c_uint)]
x.XGetWindowProperty.argtypes = [
    ctypes.c_void_p, Window, Atom, ctypes.c_long, ctypes.c_long, ctypes.c_int, Atom,
    ctypes.POINTER(Atom), ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_ulong),
    ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.c_void_p)]
x.XSendEvent.argtypes = [ctypes.c_void_p, Window, ctypes.c_int, ctypes.c_long, ctypes.POINTER(XEvent)]
x.XFlush.argtypes = [ctypes.c_void_p]
x.XFree.argtypes = [ctypes.c_void_p]


def prop(display, window, name, kind):
    """The property `name` of `window`: bytes for strings, an int for a CARDINAL."""
    actual, fmt = Atom(), ctypes.c_int()
    count, after, data = ctypes.c_ulong(), ctypes.c_ulong(), ctypes.c_void_p()
    atom = x.XInternAtom(display, name, 0)
    if x.XGetWindowProperty(display, window, atom, 0, 1024, 0, kind, ctypes.byref(actual),
                            ctypes.byref(fmt), ctypes.byref(count), ctypes.byref(after),
                            ctypes.byref(data)) != 0 or not data.value:
        return None
    try:
        if fmt.value == 32:
            return ctypes.cast(data, ctypes.POINTER(ctypes.c_long))[0]
        return ctypes.string_at(data, count.value)
    finally:
        x.XFree(data)


def main(pid, title):
    display = x.XOpenDisplay(None)
    if not display:
        sys.exit("close_window: cannot open the display")
    root = x.XDefaultRootWindow(display)
    root_ret, parent = Window(), Window()
    children, count = ctypes.POINTER(Window)(), ctypes.c_uint()
    x.XQueryTree(display, root, ctypes.byref(root_ret), ctypes.byref(parent), ctypes.byref(children),
                 ctypes.byref(count))
    cardinal = x.XInternAtom(display, b"CARDINAL", 0)
    utf8 = x.XInternAtom(display, b"UTF8_STRING", 0)
    protocols = x.XInternAtom(display, b"WM_PROTOCOLS", 0)
    delete = x.XInternAtom(display, b"WM_DELETE_WINDOW", 0)
    asked = 0
    for i in range(count.value):
        window = children[i]
        if prop(display, window, b"_NET_WM_PID", cardinal) != pid:
            continue
        if prop(display, window, b"_NET_WM_NAME", utf8) != title.encode():
            continue
        event = XEvent()
        event.xclient.type = 33  # ClientMessage
        event.xclient.window = window
        event.xclient.message_type = protocols
        event.xclient.format = 32
        event.xclient.data[0] = delete
        event.xclient.data[1] = 0  # CurrentTime
        x.XSendEvent(display, window, 0, 0, ctypes.byref(event))
        asked += 1
    x.XFlush(display)
    print(asked)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
