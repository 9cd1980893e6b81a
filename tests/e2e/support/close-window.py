#!/usr/bin/python3
"""Closes the X window titled sys.argv[1] the way a window manager's close button does: a WM_DELETE_WINDOW
message (the app may then keep running, as Roundabout does in the tray). Xvfb has no window manager to do it.
Exits 1 when no such window exists."""
import sys

from Xlib import X, Xatom, display, protocol

title = sys.argv[1]
d = display.Display()
wm_protocols = d.intern_atom("WM_PROTOCOLS")
wm_delete = d.intern_atom("WM_DELETE_WINDOW")
net_wm_name = d.intern_atom("_NET_WM_NAME")
utf8 = d.intern_atom("UTF8_STRING")


def named(window):
    prop = window.get_full_property(net_wm_name, utf8)
    if prop is not None:
        return prop.value.decode("utf-8", "replace")
    return window.get_wm_name()


closed = 0
for window in d.screen().root.query_tree().children:
    try:
        if named(window) != title or wm_delete not in (window.get_wm_protocols() or []):
            continue
    except Exception:  # a window that went away while we looked
        continue
    event = protocol.event.ClientMessage(
        window=window, client_type=wm_protocols, data=(32, [wm_delete, X.CurrentTime, 0, 0, 0])
    )
    window.send_event(event, event_mask=X.NoEventMask)
    closed += 1
d.flush()
d.close()
sys.exit(0 if closed else 1)
