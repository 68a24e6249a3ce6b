#!/usr/bin/env python3
"""Replay op-dbus's OVSDB JSON-RPC traffic against an ovsdb-server socket.

op-dbus (github.com/repr0bated/op-dbus-p1, snapshot 65d9e8a, Jan 2026) talks
to /var/run/openvswitch/db.sock directly instead of using ovs-vsctl.  This
script re-implements, in Python (stdlib only), the exact sequence of
requests it sends, so sockswitch can be tested against the same rows and
the same write pattern.  The mirrored code is:

  crates/op-network/src/ovsdb.rs  (struct OvsdbClient, the client that the
      state plugins and the ovs_* tools actually use)
    - rpc_call():   one *new* unix-socket connection per request, request
                    object {"method", "params", "id": 0} followed by "\n",
                    read one reply, close.
    - transact():   params = ["Open_vSwitch", op1, op2, ...]; fails if any
                    per-operation result carries an "error".
    - find_bridge_uuid()/bridge_exists(): select Bridge by name, [_uuid].
    - create_bridge(): exists-check, then ONE transaction:
          insert Bridge {name, datapath_type "system", stp_enable false,
                         other_config empty map, external_ids empty map}
                 uuid-name "row" + alphanumerics of the bridge name
          mutate Open_vSwitch (where []) bridges insert {named-uuid}
      then the exists-check again as verification.  It does NOT create a
      Port/Interface named after the bridge (no local/internal port), and it
      never touches next_cfg.
    - list_bridge_ports(): find uuid, select Bridge.ports by _uuid, then one
      select of Port.name per port uuid.  Only the ["set", [...]] encoding
      of Bridge.ports is understood, so a bridge with exactly ONE port
      (encoded by ovsdb-server as a bare ["uuid", ...]) looks empty; that
      quirk is reproduced here.
    - add_port() / add_port_with_type(): find uuid, then ONE transaction:
          insert Port {name, interfaces {named-uuid iface_<safe>}}
                 uuid-name port_<safe>
          insert Interface {name[, type]} uuid-name iface_<safe>
          mutate Bridge (where _uuid) ports insert {named-uuid port_<safe>}
      (<safe> = port name with every non-ASCII-alphanumeric char -> "_").
    - delete_port(): select Port [_uuid] by name, select Bridge [_uuid,
      ports] by name, then ONE transaction: mutate Bridge ports delete uuid,
      delete Port by _uuid, delete Interface by name.
    - delete_bridge(): find uuid, then ONE transaction: mutate Open_vSwitch
      bridges delete uuid, delete Bridge by _uuid (Ports/Interfaces are left
      to OVSDB garbage collection).
    - set_interface_type() / set_bridge_property(): single "update" ops.
  crates/op-plugins/src/state_plugins/net.rs
    - NetStatePlugin::apply_ovs_config(): bridge_exists -> create_bridge if
      missing -> list_bridge_ports -> add_port for every configured port not
      already listed, skipping names starting with "nm-" or "wg".
    - NetStatePlugin::delete_ovs_bridge(): delete_bridge().
  crates/op-plugins/src/state_plugins/openflow.rs
    - OpenFlowPlugin::get_port_ofport(): select Interface [ofport] by name.
    - OpenFlowPlugin::create_socket_port(): add_port() and then a second
      transaction updating Interface.type to "internal".
  ovs_bridge_setup.rs (top-level helper binary)
    - internal port via add_port_with_type(bridge, port, Some("internal")).

Usage:
  opdbus_replay.py SOCKET create BRIDGE PORT [PORT...]
  opdbus_replay.py SOCKET wait-ofport IFACE TIMEOUT_SECONDS
  opdbus_replay.py SOCKET delete-port BRIDGE PORT
  opdbus_replay.py SOCKET delete-bridge BRIDGE
extra (other op-dbus code paths):
  opdbus_replay.py SOCKET add-internal-port BRIDGE PORT   (ovs_bridge_setup.rs)
  opdbus_replay.py SOCKET add-socket-port BRIDGE PORT     (openflow.rs)
  opdbus_replay.py SOCKET set-bridge-property BRIDGE PROP VALUE
        PROP in datapath_type, fail_mode, stp_enable, mcast_snooping_enable

Set OPDBUS_REPLAY_TRACE=1 to print every request/reply on stderr.
This script never reads or writes Open_vSwitch.next_cfg / cur_cfg.
"""

import json
import os
import socket
import sys
import time

TRACE = os.environ.get("OPDBUS_REPLAY_TRACE") not in (None, "", "0")
RPC_TIMEOUT = 10.0  # op-network waits 10 s for a reply


class ReplayError(Exception):
    pass


def trace(prefix, obj):
    if TRACE:
        sys.stderr.write("%s %s\n" % (prefix, json.dumps(obj, separators=(",", ":"))))


def _read_reply(sock, want_id):
    """Read concatenated JSON values until the reply with id == want_id.

    OVSDB's stream has no delimiters; decode with raw_decode on a growing
    buffer.  Server-initiated "echo" requests are answered in place.
    """
    decoder = json.JSONDecoder()
    buf = ""
    raw = b""
    deadline = time.monotonic() + RPC_TIMEOUT
    while True:
        # Decode every complete value currently buffered.
        while True:
            buf = buf.lstrip()
            if not buf:
                break
            try:
                msg, end = decoder.raw_decode(buf)
            except ValueError:
                break  # incomplete value; need more bytes
            buf = buf[end:]
            trace("<<", msg)
            if not isinstance(msg, dict):
                raise ReplayError("unexpected non-object JSON from server: %r" % (msg,))
            method = msg.get("method")
            if method == "echo":
                reply = {"id": msg.get("id"), "result": msg.get("params", []), "error": None}
                trace(">>", reply)
                sock.sendall(json.dumps(reply).encode())
                continue
            if method is not None:
                continue  # notifications (update, locked, ...) are ignored
            if msg.get("id") == want_id:
                return msg
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ReplayError("timeout waiting for OVSDB reply")
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            raise ReplayError("timeout waiting for OVSDB reply")
        if not chunk:
            raise ReplayError("OVSDB connection closed by server")
        raw += chunk
        try:
            buf += raw.decode("utf-8")
            raw = b""
        except UnicodeDecodeError:
            pass  # split multi-byte sequence; wait for the rest


def rpc_call(sock_path, method, params):
    """One request on a fresh connection, exactly like op-network rpc_call()."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(RPC_TIMEOUT)
        s.connect(sock_path)
        req = {"method": method, "params": params, "id": 0}
        trace(">>", req)
        s.sendall(json.dumps(req).encode() + b"\n")
        resp = _read_reply(s, 0)
    finally:
        s.close()
    err = resp.get("error")
    if err is not None:
        raise ReplayError("OVSDB error: %s" % json.dumps(err))
    return resp.get("result")


def transact(sock_path, ops):
    for op in ops:  # belt and braces: op-dbus never writes these columns
        text = json.dumps(op)
        if "next_cfg" in text or "cur_cfg" in text:
            raise ReplayError("refusing to touch next_cfg/cur_cfg")
    result = rpc_call(sock_path, "transact", ["Open_vSwitch"] + list(ops))
    if isinstance(result, list):
        for i, r in enumerate(result):
            if isinstance(r, dict) and r.get("error") is not None:
                raise ReplayError("OVSDB operation %d failed: %s (%s)"
                                  % (i, r.get("error"), r.get("details", "no details")))
    return result


# --- op-network OvsdbClient equivalents -----------------------------------

def list_dbs(sp):
    return rpc_call(sp, "list_dbs", [])


def find_bridge_uuid(sp, bridge):
    res = transact(sp, [{"op": "select", "table": "Bridge",
                         "where": [["name", "==", bridge]],
                         "columns": ["_uuid"]}])
    rows = res[0].get("rows", [])
    if rows:
        u = rows[0].get("_uuid")
        if isinstance(u, list) and len(u) == 2 and u[0] == "uuid":
            return u[1]
    raise ReplayError("Bridge '%s' not found" % bridge)


def bridge_exists(sp, bridge):
    try:
        find_bridge_uuid(sp, bridge)
        return True
    except ReplayError as e:
        if "not found" in str(e):
            return False
        raise  # op-dbus maps every error to "false"; we prefer to fail loudly


def create_bridge(sp, bridge):
    if bridge_exists(sp, bridge):
        return
    ref = "row" + "".join(c for c in bridge if c.isalnum())
    transact(sp, [
        {"op": "insert", "table": "Bridge", "uuid-name": ref,
         "row": {"name": bridge,
                 "datapath_type": "system",
                 "stp_enable": False,
                 "other_config": ["map", []],
                 "external_ids": ["map", []]}},
        {"op": "mutate", "table": "Open_vSwitch", "where": [],
         "mutations": [["bridges", "insert", ["set", [["named-uuid", ref]]]]]},
    ])
    if not bridge_exists(sp, bridge):
        raise ReplayError("Bridge %s creation failed - not found after creation" % bridge)


def list_bridge_ports(sp, bridge):
    buuid = find_bridge_uuid(sp, bridge)
    res = transact(sp, [{"op": "select", "table": "Bridge",
                         "where": [["_uuid", "==", ["uuid", buuid]]],
                         "columns": ["ports"]}])
    port_uuids = []
    rows = res[0].get("rows", [])
    if rows:
        ports = rows[0].get("ports")
        # Faithful quirk: only the ["set", [...]] form is parsed.
        if isinstance(ports, list) and len(ports) == 2 and ports[0] == "set":
            for p in ports[1]:
                if isinstance(p, list) and len(p) == 2 and p[0] == "uuid":
                    port_uuids.append(p[1])
    names = []
    for pu in port_uuids:
        r = transact(sp, [{"op": "select", "table": "Port",
                           "where": [["_uuid", "==", ["uuid", pu]]],
                           "columns": ["name"]}])
        prow = r[0].get("rows", [])
        if prow and isinstance(prow[0].get("name"), str):
            names.append(prow[0]["name"])
    return names


def add_port_with_type(sp, bridge, port, port_type=None):
    buuid = find_bridge_uuid(sp, bridge)
    safe = "".join(c if (c.isascii() and c.isalnum()) else "_" for c in port)
    port_ref = "port_" + safe
    iface_ref = "iface_" + safe
    iface_row = {"name": port}
    if port_type is not None:
        iface_row["type"] = port_type
    transact(sp, [
        {"op": "insert", "table": "Port",
         "row": {"name": port,
                 "interfaces": ["set", [["named-uuid", iface_ref]]]},
         "uuid-name": port_ref},
        {"op": "insert", "table": "Interface", "row": iface_row,
         "uuid-name": iface_ref},
        {"op": "mutate", "table": "Bridge",
         "where": [["_uuid", "==", ["uuid", buuid]]],
         "mutations": [["ports", "insert", ["set", [["named-uuid", port_ref]]]]]},
    ])


def add_port(sp, bridge, port):
    add_port_with_type(sp, bridge, port, None)


def set_interface_type(sp, iface, iface_type):
    transact(sp, [{"op": "update", "table": "Interface",
                   "where": [["name", "==", iface]],
                   "row": {"type": iface_type}}])


def set_bridge_property(sp, bridge, prop, value):
    if prop in ("datapath_type", "fail_mode"):
        row = {prop: value}
    elif prop in ("stp_enable", "mcast_snooping_enable"):
        row = {prop: value == "true"}
    else:
        raise ReplayError("Unknown bridge property: %s" % prop)
    transact(sp, [{"op": "update", "table": "Bridge",
                   "where": [["name", "==", bridge]], "row": row}])


def delete_port(sp, bridge, port):
    r = transact(sp, [{"op": "select", "table": "Port",
                       "where": [["name", "==", port]], "columns": ["_uuid"]}])
    try:
        puuid = r[0]["rows"][0]["_uuid"][1]
    except (KeyError, IndexError, TypeError):
        raise ReplayError("Port '%s' not found" % port)
    r = transact(sp, [{"op": "select", "table": "Bridge",
                       "where": [["name", "==", bridge]],
                       "columns": ["_uuid", "ports"]}])
    try:
        buuid = r[0]["rows"][0]["_uuid"][1]
    except (KeyError, IndexError, TypeError):
        raise ReplayError("Bridge '%s' not found" % bridge)
    transact(sp, [
        {"op": "mutate", "table": "Bridge",
         "where": [["_uuid", "==", ["uuid", buuid]]],
         "mutations": [["ports", "delete", ["uuid", puuid]]]},
        {"op": "delete", "table": "Port",
         "where": [["_uuid", "==", ["uuid", puuid]]]},
        {"op": "delete", "table": "Interface",
         "where": [["name", "==", port]]},
    ])


def delete_bridge(sp, bridge):
    buuid = find_bridge_uuid(sp, bridge)
    transact(sp, [
        {"op": "mutate", "table": "Open_vSwitch", "where": [],
         "mutations": [["bridges", "delete", ["uuid", buuid]]]},
        {"op": "delete", "table": "Bridge",
         "where": [["_uuid", "==", ["uuid", buuid]]]},
    ])


def get_port_ofport(sp, iface):
    r = transact(sp, [{"op": "select", "table": "Interface",
                       "where": [["name", "==", iface]],
                       "columns": ["ofport"]}])
    rows = r[0].get("rows", [])
    if rows:
        v = rows[0].get("ofport")
        # Unset ofport is the empty set ["set", []]; bool is not an int here.
        if isinstance(v, int) and not isinstance(v, bool):
            return v
    return None


# --- net.rs / openflow.rs level flows -------------------------------------

def cmd_create(sp, bridge, ports):
    # NetStatePlugin: availability/read pass before applying.
    list_dbs(sp)
    # NetStatePlugin::apply_ovs_config
    if not bridge_exists(sp, bridge):
        create_bridge(sp, bridge)
    current = list_bridge_ports(sp, bridge)
    for p in ports:
        if p.startswith("nm-") or p.startswith("wg"):
            sys.stderr.write("skipping %s (op-dbus leaves nm-*/wg* to netclient)\n" % p)
            continue
        if p not in current:
            add_port(sp, bridge, p)


def cmd_wait_ofport(sp, iface, timeout):
    deadline = time.monotonic() + timeout
    while True:
        v = get_port_ofport(sp, iface)
        if v is not None and v > 0:
            print(v)
            return 0
        if time.monotonic() >= deadline:
            sys.stderr.write("timeout: Interface %s ofport=%r\n" % (iface, v))
            return 1
        time.sleep(0.2)


def usage():
    sys.stderr.write(__doc__[__doc__.index("Usage:"):__doc__.index("Set OPDBUS")])
    return 2


def main(argv):
    if len(argv) < 3:
        return usage()
    sp, cmd, args = argv[1], argv[2], argv[3:]
    try:
        if cmd == "create" and len(args) >= 1:
            cmd_create(sp, args[0], args[1:])
        elif cmd == "wait-ofport" and len(args) == 2:
            return cmd_wait_ofport(sp, args[0], float(args[1]))
        elif cmd == "delete-port" and len(args) == 2:
            delete_port(sp, args[0], args[1])
        elif cmd == "delete-bridge" and len(args) == 1:
            delete_bridge(sp, args[0])
        elif cmd == "add-internal-port" and len(args) == 2:
            add_port_with_type(sp, args[0], args[1], "internal")
        elif cmd == "add-socket-port" and len(args) == 2:
            add_port(sp, args[0], args[1])
            set_interface_type(sp, args[1], "internal")
        elif cmd == "set-bridge-property" and len(args) == 3:
            set_bridge_property(sp, args[0], args[1], args[2])
        else:
            return usage()
    except (ReplayError, OSError) as e:
        sys.stderr.write("opdbus_replay: %s: %s\n" % (cmd, e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
